package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/term"

	"ringback/fakes/googlefake"
	"ringback/fakes/jobberfake"
	"ringback/fakes/oauthfake"

	"ringback/internal/enginechild"
)

// engineReadyTimeout bounds the engine's start-up (migrations included).
const engineReadyTimeout = 60 * time.Second

// engineStopGrace is how long the engine gets to drain after SIGTERM before it is killed.
const engineStopGrace = 30 * time.Second

// harness runs one load test: the engine (or a target), the fakes, the generated tenants,
// the scenarios, and what is checked afterwards.
type harness struct {
	opts    options
	cluster string // the engine's cluster mode, as the report says it ("" without --cluster)
	environ []string
	stderr  io.Writer
	tty     bool

	client    *http.Client
	engineURL string
	proc      *engineProc // nil with --target
	serverURL string      // the database named on the command line
	dbURL     string      // the database the engine uses
	freshDB   string      // the database created for this run, "" if none
	twilioSID string      // the fake Twilio's account
	pool      *pgxpool.Pool
	world     *world
	inbox     *inbox
	twilio    *twilioSink
	closers   []func() // the other fakes, the outbox poller
	carrier   *carrier
	booking   *bookingClient
	smsOp     string // the name of the webhook → SMS measurement, by where SMS are seen
	tag       string // random per run: SIDs and idempotency keys never repeat across runs
	callers   atomic.Int64

	mu          sync.Mutex
	autoReplied []pair     // missed calls whose only SMS must be one auto-reply
	optedOut    []optedOut // customers who opted out, and when the confirmation came
	checks      []Invariant
	problems    []string
}

// optedOut is a customer who texted STOP, and when the confirmation arrived.
type optedOut struct {
	p  pair
	at time.Time
}

func newHarness(opts options, environ []string, stderr io.Writer) *harness {
	h := &harness{opts: opts, environ: environ, stderr: stderr, client: newHTTPClient(), inbox: newInbox(), tag: randomHex(8)}
	if f, ok := stderr.(*os.File); ok {
		h.tty = term.IsTerminal(int(f.Fd()))
	}
	// Callers start at a random place in their number space, so runs sharing a database
	// (--target, --fresh-db=false) rarely meet an earlier run's cooldowns or opt-outs.
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(maxCallers)))
	h.callers.Store(n.Int64())
	return h
}

// logf prints a progress line on stderr unless --quiet.
func (h *harness) logf(format string, args ...any) {
	if !h.opts.Quiet {
		fmt.Fprintf(h.stderr, "loadtest: "+format+"\n", args...)
	}
}

// problem records something that went wrong but did not stop the run.
func (h *harness) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	h.mu.Lock()
	h.problems = append(h.problems, msg)
	h.mu.Unlock()
	h.logf("%s", msg)
}

func (h *harness) newCaller() string { return callerNumber(int(h.callers.Add(1))) }

func (h *harness) enginePID() int {
	if h.proc == nil {
		return 0
	}
	return h.proc.pid()
}

// run runs the whole load test and returns its report; the error is non-nil when the run
// could not be made (the engine did not start, the database was unreachable, the
// invariants could not be read), in which case the report may be nil.
func (h *harness) run(ctx context.Context) (*Report, error) {
	rep := h.newReport()
	if err := h.setUp(ctx); err != nil {
		h.tearDown(true) // nothing ran: nothing to inspect in the run's database
		return nil, err
	}
	rep.EngineURL, rep.EnginePID, rep.Cluster = h.engineURL, h.enginePID(), h.cluster
	rep.Database = redactURL(h.dbURL)

	if h.opts.Warmup && ctx.Err() == nil {
		w := h.warmUp(ctx)
		rep.Warmup = &w
	}
	var runErr error
	for _, spec := range h.opts.Scenarios {
		if ctx.Err() != nil {
			break
		}
		if h.proc != nil && h.proc.exited() {
			runErr = h.proc.failure("the engine died during the run")
			h.problem("%v", runErr)
			break
		}
		rep.Scenarios = append(rep.Scenarios, h.runScenario(ctx, spec)...)
	}
	rep.Comparisons = compare(rep.Scenarios)

	// Whatever happened above (even an interrupt), finish in order: let the engine finish
	// its work, read its metrics, stop it, then read Postgres.
	after := context.WithoutCancel(ctx)
	if ctx.Err() == nil {
		h.drain(after)
	}
	if snap, err := scrapeMetrics(after, h.client, h.engineURL); err == nil {
		rep.Engine = engineReport(snap)
	} else {
		h.problem("reading the engine's metrics: %v", err)
	}
	if h.proc != nil {
		if h.proc.exited() && runErr == nil {
			runErr = h.proc.failure("the engine died during the run")
			h.problem("%v", runErr)
		}
		h.logf("stopping the engine (SIGTERM)")
		if err := h.proc.stop(engineStopGrace); err != nil {
			h.problem("%v", err)
		}
	}
	h.harnessChecks()
	if h.pool != nil {
		ictx, cancel := context.WithTimeout(after, 5*time.Minute)
		invs, err := checkInvariants(ictx, h.pool, invariantScope{since: rep.Started.Add(-time.Second), tenants: h.world.tenantIDs(), cooldown: autoReplyCooldown})
		cancel()
		rep.Invariants = append(rep.Invariants, invs...)
		if err != nil {
			err = fmt.Errorf("reading the invariants from Postgres: %w", err)
			h.problem("%v", err)
			runErr = cmp.Or(runErr, err)
		}
	}
	h.mu.Lock()
	rep.Invariants = append(rep.Invariants, h.checks...)
	rep.Problems = append(rep.Problems, h.problems...)
	h.mu.Unlock()
	rep.OK = runErr == nil
	for _, inv := range rep.Invariants {
		rep.OK = rep.OK && inv.OK
	}
	rep.Finished = time.Now()
	if !rep.OK && h.freshDB != "" {
		rep.Problems = append(rep.Problems, "the run's database is kept for inspection: "+redactURL(h.dbURL))
	}
	h.tearDown(rep.OK)
	return rep, runErr
}

// setUp gets the database, the fakes and the engine ready and applies the tenants.
func (h *harness) setUp(ctx context.Context) error {
	o := h.opts
	serverURL := o.DatabaseURL
	if serverURL == "" {
		u, err := projectDatabaseURL(ctx)
		if err != nil {
			return err
		}
		serverURL = u
	}
	h.serverURL, h.dbURL = serverURL, serverURL
	if o.Target == "" && o.FreshDB {
		fresh, name, err := createDatabase(ctx, serverURL)
		if err != nil {
			return err
		}
		h.dbURL, h.freshDB = fresh, name
		h.logf("created database %s", name)
	}
	pcfg, err := pgxpool.ParseConfig(h.dbURL)
	if err != nil {
		return fmt.Errorf("--database-url: %w", err)
	}
	pcfg.MaxConns = 4
	if h.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return fmt.Errorf("connecting to Postgres: %w", err)
	}
	if err := h.pool.Ping(ctx); err != nil {
		return fmt.Errorf("connecting to Postgres at %s (start the project's with scripts/pg.sh start): %w", redactURL(h.dbURL), err)
	}

	bookingKey := "lt-booking-" + randomHex(12)
	if h.world, err = newWorld(o.Tenants, o.Resources, o.Numbers, o.Baseline, bookingKey, time.Now()); err != nil {
		return usageError{err.Error()}
	}

	adminToken, webhookToken := o.AdminToken, o.TwilioToken
	if o.Target != "" {
		h.engineURL = o.Target
		h.smsOp = "webhook → SMS recorded sent (outbox)"
		pctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			pollDeliveries(pctx, h.pool, h.world.tenantIDs(), h.inbox, func(err error) { h.problem("%v", err) })
		}()
		h.closers = append(h.closers, func() { stop(); <-done })
	} else {
		adminToken, webhookToken = "lt-admin-"+randomHex(12), randomHex(16)
		if err := h.startEngine(ctx, adminToken, webhookToken); err != nil {
			return err
		}
		h.smsOp = "webhook → SMS at fake Twilio"
	}
	public := h.engineURL
	if o.Target != "" && o.PublicURL != "" {
		public = strings.TrimRight(o.PublicURL, "/")
	}
	sid := h.twilioSID
	if sid == "" {
		sid = "AC" + randomHex(16)
	}
	h.carrier = &carrier{base: h.engineURL, public: public, token: webhookToken, accountSID: sid, client: h.client, tag: h.tag}
	h.booking = &bookingClient{base: h.engineURL, key: bookingKey, client: h.client}

	start := time.Now()
	if err := h.world.apply(ctx, h.client, h.engineURL, adminToken); err != nil {
		if h.proc != nil && h.proc.exited() {
			return h.proc.failure("the engine died while the tenants were applied")
		}
		return err
	}
	h.logf("applied %d tenants (%d resources, %d business numbers) in %s", len(h.world.tenants), h.world.resourceCount(),
		len(h.world.endpoints), time.Since(start).Round(time.Millisecond))
	return nil
}

// startEngine starts the fakes and the engine subprocess wired to them.
func (h *harness) startEngine(ctx context.Context, adminToken, webhookToken string) error {
	o := h.opts
	h.twilioSID = "AC" + randomHex(16)
	h.twilio = startTwilioSink(h.twilioSID, webhookToken, h.inbox, o.StatusCallbacks)
	gauth := oauthfake.New("lt-google", "lt-google-secret", false)
	gauth.AcceptAnyRefreshToken()
	google := googlefake.New(gauth)
	jobber := jobberfake.New("lt-jobber", "lt-jobber-secret")
	jobber.OAuth().AcceptAnyRefreshToken()
	h.closers = append(h.closers, google.Close, jobber.Close)

	bin := o.Engine
	if o.Build {
		h.logf("building %s", bin)
		if err := enginechild.Build(ctx, bin); err != nil {
			if _, statErr := os.Stat(bin); statErr != nil {
				return err
			}
			h.problem("could not rebuild the engine, using the existing %s: %v", bin, err)
		}
	}
	addr, err := enginechild.FreeAddr()
	if err != nil {
		return err
	}
	h.engineURL = "http://" + addr
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	env := engineEnv(h.environ, map[string]string{
		"ENGINE_ADDR": addr, "PUBLIC_URL": h.engineURL, "DATABASE_URL": h.dbURL,
		"ADMIN_TOKEN": adminToken, "ENGINE_SECRET_KEY": base64.StdEncoding.EncodeToString(key),
		"TWILIO_ACCOUNT_SID": h.twilioSID, "TWILIO_AUTH_TOKEN": webhookToken, "TWILIO_API_URL": h.twilio.URL(),
		"GOOGLE_CALENDAR_URL": google.Endpoint(), "GOOGLE_TOKEN_URL": google.TokenURL(),
		"GOOGLE_CLIENT_ID": "lt-google", "GOOGLE_CLIENT_SECRET": "lt-google-secret",
		"JOBBER_API_URL": jobber.URL() + "/api/graphql", "JOBBER_TOKEN_URL": jobber.URL() + "/api/oauth/token",
		"JOBBER_CLIENT_ID": "lt-jobber", "JOBBER_CLIENT_SECRET": "lt-jobber-secret",
		"LOG_LEVEL": o.EngineLogLevel, "LOG_FORMAT": "text",
	})
	if o.Cluster {
		vars, err := h.startEtcd(ctx)
		if err != nil {
			return err
		}
		env = append(env, vars...)
	}
	logPath := ""
	if o.Out != "" {
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return err
		}
		logPath = filepath.Join(o.Out, "engine.log")
	}
	if h.proc, err = startEngine(bin, env, h.engineURL, logPath); err != nil {
		return err
	}
	h.logf("engine pid %d on %s", h.proc.pid(), h.engineURL)
	return h.proc.waitReady(ctx, h.client, engineReadyTimeout)
}

// startEtcd starts a project-local etcd for a one-member cluster and returns the
// engine's cluster settings.
func (h *harness) startEtcd(ctx context.Context) ([]string, error) {
	dir, err := os.MkdirTemp("", "ringback-loadtest-etcd-")
	if err != nil {
		return nil, err
	}
	etcd, err := enginechild.StartEtcd(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	h.closers = append(h.closers, func() { etcd.Stop(); os.RemoveAll(dir) })
	addr, err := enginechild.FreeAddr()
	if err != nil {
		return nil, err
	}
	h.cluster = fmt.Sprintf("a one-member cluster (CLUSTER_PROVIDER=etcd, etcd on %s, cluster listener %s)", etcd.URL, addr)
	h.logf("cluster mode: %s", h.cluster)
	return []string{"CLUSTER_PROVIDER=etcd", "CLUSTER_ETCD_ENDPOINTS=" + etcd.URL, "CLUSTER_ADVERTISE_ADDR=" + addr,
		"CLUSTER_NAME=loadtest-" + randomHex(4), "CLUSTER_DRAIN_DELAY=0s"}, nil
}

// tearDown stops what setUp started, in reverse; the fresh database is dropped unless it
// is to be kept.
func (h *harness) tearDown(ok bool) {
	if h.proc != nil && !h.proc.exited() {
		if err := h.proc.stop(engineStopGrace); err != nil {
			fmt.Fprintln(h.stderr, "loadtest:", err)
		}
	}
	if h.twilio != nil {
		h.twilio.Close()
	}
	for i := len(h.closers) - 1; i >= 0; i-- {
		h.closers[i]()
	}
	if h.pool != nil {
		h.pool.Close()
	}
	if h.freshDB != "" && ok && !h.opts.KeepDB {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, h.serverURL, h.freshDB); err != nil {
			fmt.Fprintln(h.stderr, "loadtest: dropping the run's database:", err)
		}
	}
}

// drain waits, after the load, until the engine has processed every webhook of the run
// and handed every due SMS to the provider, or --drain passes. It polls Postgres: the
// engine is another process.
func (h *harness) drain(ctx context.Context) {
	deadline := time.Now().Add(h.opts.Drain)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var envelopes, deliveries int64
		err := h.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM conversation.webhook_envelopes WHERE processed_at IS NULL AND tenant_id = ANY($1)),
			(SELECT count(*) FROM conversation.deliveries WHERE status IN ('pending', 'sending') AND tenant_id = ANY($1)
				AND next_attempt_at < now() + interval '1 minute')`, h.world.tenantIDs()).Scan(&envelopes, &deliveries)
		if err != nil {
			h.problem("waiting for the engine to finish: %v", err)
			return
		}
		if envelopes == 0 && deliveries == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.problem("after --drain %s the engine still had %d webhooks unprocessed and %d SMS unsent", h.opts.Drain, envelopes, deliveries)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// harnessChecks are the invariants the harness observed itself, at its fake Twilio.
func (h *harness) harnessChecks() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc == nil {
		return // SMS seen through the outbox, not at a provider of ours
	}
	one := Invariant{Name: "one SMS per missed call at the fake Twilio"}
	for _, p := range h.autoReplied {
		one.Checked++
		if n := len(h.inbox.all(p)); n > 1 {
			one.violate(fmt.Sprintf("%s → %s got %d SMS", p.business, p.customer, n))
		}
	}
	h.checks = append(h.checks, one.done())
	stop := Invariant{Name: "nothing but the confirmation after STOP at the fake Twilio"}
	for _, o := range h.optedOut {
		stop.Checked++
		for _, m := range h.inbox.all(o.p) {
			if m.At.After(o.at) {
				stop.violate(fmt.Sprintf("%s → %s at %s: %q", o.p.business, o.p.customer, m.At.Format(time.RFC3339Nano), truncate(m.Body, 60)))
			}
		}
	}
	h.checks = append(h.checks, stop.done())
}

func (h *harness) addCheck(inv Invariant) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, inv)
}

// projectDatabaseURL asks scripts/pg.sh of the enclosing checkout for its URL.
func projectDatabaseURL(ctx context.Context) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		script := filepath.Join(dir, "scripts", "pg.sh")
		if _, err := os.Stat(script); err == nil {
			out, err := exec.CommandContext(ctx, script, "url").Output()
			if err != nil {
				return "", fmt.Errorf("%s url: %w", script, err)
			}
			return strings.TrimSpace(string(out)), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no database: set --database-url or DATABASE_URL (or run inside the checkout, whose scripts/pg.sh provides one)")
		}
		dir = parent
	}
}

// createDatabase creates an empty database next to the one serverURL names and returns
// its URL and name. The engine migrates it when it starts.
func createDatabase(ctx context.Context, serverURL string) (string, string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", "", fmt.Errorf("connecting to Postgres at %s (start the project's with scripts/pg.sh start): %w", redactURL(serverURL), err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("loadtest_%s_%s", time.Now().UTC().Format("20060102_150405"), randomHex(3))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", "", fmt.Errorf("creating the run's database: %w", err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", "", err
	}
	u.Path = "/" + name
	return u.String(), name, nil
}

func dropDatabase(ctx context.Context, serverURL, name string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// redactURL hides a password in a database URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// machine describes where the run happened.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if k, v, ok := strings.Cut(string(line), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
