// Command loadtest is Ringback's load-test harness. It starts an engine as a child process
// (or drives one already running, --target) with fake vendors in its own process, applies
// a generated multi-tenant configuration through the admin API, runs named scenarios at a
// given rate for a given time, and reports throughput, latency percentiles (HDR
// histograms), errors by kind and invariants read from Postgres afterwards, as text, JSON
// and an HTML page with latency-over-time charts. docs/LOADTEST.md tells how to use it.
//
// main only wires: run parses the command line and drives a harness; tests call run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		fmt.Fprint(os.Stderr, usage)
		fmt.Fprint(os.Stderr, flagHelp(newFlagSet(&options{}, func(string) string { return "" })))
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

const usage = `usage: loadtest [flags] SCENARIO[:RATE]...

scenarios (run in the order given; "all" is the five of them):
  missed-calls   a storm of signed missed-call webhooks; webhook → SMS at the fake Twilio
  conversations  missed call → options → pick one (held) → YES (booked), with think times;
                 --stop-fraction of the customers text STOP instead and call again
  hot-slot       many customers racing for the same few slots through the booking API
  booking-api    reservations and confirmations spread over every tenant and resource
  reminders      a morning peak: N visits whose reminders fall due in the same minute
                 (reminders:50000 is N), over every business number; due → SMS, and
                 lateness beyond what each number's send rate forces
A RATE after the name overrides --rate for that scenario (conversations:10).

flags:
`

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errViolations is returned when an invariant was broken; the reports are written first.
var errViolations = errors.New("invariants violated (see the report)")

// The scenario names.
const (
	scMissedCalls   = "missed-calls"
	scConversations = "conversations"
	scHotSlot       = "hot-slot"
	scBookingAPI    = "booking-api"
)

var scenarioNames = []string{scMissedCalls, scConversations, scHotSlot, scBookingAPI, scReminders}

// scenarioSpec is one scenario to run and its offered rate.
type scenarioSpec struct {
	Name string
	Rate float64
}

// options is the command line. Each field's flag and default are in parseArgs.
type options struct {
	Rate        float64
	Duration    time.Duration
	Tenants     int
	Resources   int
	Numbers     int
	Concurrency int
	Target      string
	PublicURL   string
	DatabaseURL string
	Baseline    bool
	Out         string
	Quiet       bool
	JSON        bool
	Engine      string
	Build       bool
	// Cluster runs the started engine as a one-member cluster (a project-local etcd): what
	// cluster mode costs on one node (docs/CLUSTER.md).
	Cluster         bool
	FreshDB         bool
	KeepDB          bool
	AdminToken      string
	TwilioToken     string
	Think           time.Duration
	StopFraction    float64
	HotSlots        int
	Warmup          bool
	Timeout         time.Duration
	Drain           time.Duration
	Seed            uint64
	EngineLogLevel  string
	StatusCallbacks bool
	Scenarios       []scenarioSpec
}

// newFlagSet defines the flags into o; getenv supplies defaults for the connection settings.
func newFlagSet(o *options, getenv func(string) string) *flag.FlagSet {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Float64Var(&o.Rate, "rate", 50, "offered `rate` per second: calls, customers or reservation attempts started per second")
	fs.DurationVar(&o.Duration, "duration", 20*time.Second, "how long each scenario offers load")
	fs.IntVar(&o.Tenants, "tenants", 100, "tenants to generate")
	fs.IntVar(&o.Resources, "resources", 1000, "resources to generate, shared evenly by the tenants")
	fs.IntVar(&o.Numbers, "numbers", 10, "business numbers per tenant")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "most reservation attempts in flight at once (hot-slot, booking-api and their baseline); 0: no cap. missed-calls and conversations are never capped")
	fs.StringVar(&o.Target, "target", "", "drive the engine already running at this `URL` instead of starting one (it must share --database-url)")
	fs.StringVar(&o.PublicURL, "public-url", "", "with --target: the engine's PUBLIC_URL, which webhook signatures cover (default the --target URL)")
	fs.StringVar(&o.DatabaseURL, "database-url", getenv("DATABASE_URL"), "Postgres `URL` (default $DATABASE_URL, else scripts/pg.sh url)")
	fs.BoolVar(&o.Baseline, "baseline", false, "also run hot-slot and booking-api straight against Postgres (one transaction per attempt, the exclusion constraint deciding), reported side by side")
	fs.StringVar(&o.Out, "out", "", "write report.txt, report.json, report.html and engine.log into this `directory`")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress bar and no progress lines on stderr")
	fs.BoolVar(&o.JSON, "json", false, "print the JSON report on stdout instead of the text one")
	fs.StringVar(&o.Engine, "engine", "bin/engine", "the engine `binary` to start")
	fs.BoolVar(&o.Cluster, "cluster", false, "run the started engine in cluster mode, a one-member cluster with a project-local etcd (scripts/etcd.sh), to measure what cluster mode costs")
	fs.BoolVar(&o.Build, "build", true, "build --engine from ./cmd/engine first (go build)")
	fs.BoolVar(&o.FreshDB, "fresh-db", true, "run the engine on a new database created next to --database-url, dropped afterwards")
	fs.BoolVar(&o.KeepDB, "keep-db", false, "keep the fresh database (it is always kept when an invariant fails)")
	fs.StringVar(&o.AdminToken, "admin-token", getenv("ADMIN_TOKEN"), "with --target: the engine's ADMIN_TOKEN (default $ADMIN_TOKEN)")
	fs.StringVar(&o.TwilioToken, "twilio-auth-token", getenv("TWILIO_AUTH_TOKEN"), "with --target: the token webhooks are signed with (default $TWILIO_AUTH_TOKEN, else sandbox)")
	fs.DurationVar(&o.Think, "think", 2*time.Second, "conversations: a customer's mean think time before each reply (uniform from half to 1.5 times)")
	fs.Float64Var(&o.StopFraction, "stop-fraction", 0.05, "conversations: share of customers who text STOP instead of picking a time, then call again")
	fs.IntVar(&o.HotSlots, "hot-slots", 3, "hot-slot: slots raced for in each second of load")
	fs.BoolVar(&o.Warmup, "warmup", true, "one missed call per business number before the first scenario (activates the actors), not measured")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "how long to wait for each SMS reply before counting it missing")
	fs.DurationVar(&o.Drain, "drain", 30*time.Second, "how long to wait after the load for the engine to finish its work before the invariant checks")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the generated attempt sequences (the same for the engine and the baseline)")
	fs.StringVar(&o.EngineLogLevel, "engine-log-level", "warn", "LOG_LEVEL of the started engine")
	fs.BoolVar(&o.StatusCallbacks, "status-callbacks", true, "the fake Twilio posts delivery receipts (sent, delivered) to the engine, a second apart, as Twilio does")
	return fs
}

// parseArgs reads the command line. Flags may come before or after the scenario names.
func parseArgs(args []string, getenv func(string) string) (options, error) {
	var o options
	fs := newFlagSet(&o, getenv)
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return o, usageError{"help requested"}
			}
			return o, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(names) == 0 {
		return o, usageError{"name at least one scenario"}
	}
	for _, n := range names {
		name, rateText, hasRate := strings.Cut(n, ":")
		rate := o.Rate
		if hasRate {
			r, err := strconv.ParseFloat(rateText, 64)
			if err != nil || r <= 0 {
				return o, usageError{fmt.Sprintf("scenario %q: the rate after ':' must be a positive number", n)}
			}
			rate = r
		}
		switch {
		case name == "all":
			for _, s := range scenarioNames {
				o.Scenarios = append(o.Scenarios, scenarioSpec{Name: s, Rate: rate})
			}
		case slices.Contains(scenarioNames, name):
			o.Scenarios = append(o.Scenarios, scenarioSpec{Name: name, Rate: rate})
		default:
			return o, usageError{fmt.Sprintf("unknown scenario %q: want %s or all", name, strings.Join(scenarioNames, ", "))}
		}
	}
	switch {
	case o.Rate <= 0:
		return o, usageError{"--rate must be positive"}
	case o.Duration <= 0:
		return o, usageError{"--duration must be positive"}
	case o.Concurrency < 0:
		return o, usageError{"--concurrency must not be negative"}
	case o.StopFraction < 0 || o.StopFraction > 1:
		return o, usageError{"--stop-fraction must be between 0 and 1"}
	case o.HotSlots < 1:
		return o, usageError{"--hot-slots must be at least 1"}
	case o.Timeout <= 0 || o.Drain < 0 || o.Think < 0:
		return o, usageError{"--timeout must be positive, --drain and --think not negative"}
	case o.Target != "" && o.AdminToken == "":
		return o, usageError{"--target needs the engine's admin token (--admin-token or $ADMIN_TOKEN) to apply the tenants"}
	}
	o.Target = strings.TrimRight(o.Target, "/")
	if o.TwilioToken == "" {
		o.TwilioToken = "sandbox"
	}
	return o, nil
}

func flagHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// run is the whole program, callable from tests.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	getenv := func(name string) string {
		for _, kv := range slices.Backward(environ) {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
	opts, err := parseArgs(args, getenv)
	if err != nil {
		return err
	}
	h := newHarness(opts, environ, stderr)
	rep, err := h.run(ctx)
	if rep == nil {
		return err
	}
	if werr := writeReports(rep, opts, stdout); werr != nil && err == nil {
		err = werr
	}
	if err == nil && !rep.OK {
		err = errViolations
	}
	if err == nil && ctx.Err() != nil {
		err = errors.New("interrupted: the report covers what ran before")
	}
	return err
}
