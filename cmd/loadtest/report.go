package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a run measured and checked; report.json is it as JSON.
type Report struct {
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Machine   Machine   `json:"machine"`
	Mode      string    `json:"mode"` // "subprocess" (the harness started the engine) or "target"
	EngineURL string    `json:"engine_url"`
	EnginePID int       `json:"engine_pid,omitempty"`
	// Cluster describes the engine's cluster mode ("" when it runs as one process).
	Cluster     string           `json:"cluster,omitempty"`
	Database    string           `json:"database"`
	Config      RunConfig        `json:"config"`
	Warmup      *ScenarioReport  `json:"warmup,omitempty"`
	Scenarios   []ScenarioReport `json:"scenarios"`
	Comparisons []Comparison     `json:"comparisons,omitempty"`
	Engine      *EngineReport    `json:"engine_metrics,omitempty"`
	Invariants  []Invariant      `json:"invariants"`
	Problems    []string         `json:"problems,omitempty"`
	OK          bool             `json:"ok"` // every invariant held and all were read
}

// Machine is where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

// RunConfig is the generated configuration and the knobs of the run.
type RunConfig struct {
	Tenants         int     `json:"tenants"`
	Resources       int     `json:"resources"`
	BusinessNumbers int     `json:"business_numbers"`
	DurationS       float64 `json:"duration_s"`
	Concurrency     int     `json:"concurrency"`
	ThinkS          float64 `json:"think_s"`
	StopFraction    float64 `json:"stop_fraction"`
	HotSlots        int     `json:"hot_slots"`
	Baseline        bool    `json:"baseline"`
	Warmup          bool    `json:"warmup"`
	StatusCallbacks bool    `json:"status_callbacks"`
	Seed            uint64  `json:"seed"`
	Service         string  `json:"service"`
}

// ScenarioReport is one scenario run against one system.
type ScenarioReport struct {
	Name          string           `json:"name"`
	System        string           `json:"system"` // ringback or postgres-baseline
	OfferedRate   float64          `json:"offered_rate"`
	DurationS     float64          `json:"duration_s"`
	Planned       int              `json:"planned"`
	Started       int              `json:"started"`
	Late          int              `json:"late"` // started more than 10 ms behind schedule
	MaxLagMS      float64          `json:"max_lag_ms"`
	AchievedRate  float64          `json:"achieved_rate"`
	WallS         float64          `json:"wall_s"` // load phase plus the calls still in flight after it
	Ops           []OpReport       `json:"ops"`
	Outcomes      map[string]int64 `json:"outcomes"`
	Errors        map[string]int64 `json:"errors"`
	ErrorCount    int64            `json:"error_count"`
	EngineAutoSMS *EngineHist      `json:"engine_auto_sms,omitempty"` // from /metrics, this scenario's share
	CPU           *CPUShare        `json:"cpu,omitempty"`
	Notes         []string         `json:"notes,omitempty"`
}

// op returns the report of the named operation.
func (s ScenarioReport) op(name string) (OpReport, bool) {
	for _, o := range s.Ops {
		if o.Name == name {
			return o, true
		}
	}
	return OpReport{}, false
}

// EngineReport is what the engine's /metrics said at the end of the run (warm-up included).
type EngineReport struct {
	AutoSMS       EngineHist         `json:"auto_sms_latency"`
	Webhooks      map[string]float64 `json:"webhooks_by_result"`
	Bookings      map[string]float64 `json:"bookings_by_outcome"`
	SMSDeliveries map[string]float64 `json:"sms_deliveries_by_status"`
	ActorRestarts map[string]float64 `json:"actor_restarts_by_kind"`
	Shed          map[string]float64 `json:"requests_shed_by_class"` // 503s past MAX_INFLIGHT
}

func engineReport(s promSnapshot) *EngineReport {
	return &EngineReport{
		AutoSMS:       s.histogram(metricAutoSMS).summary(metricAutoSMS),
		Webhooks:      s.counterBy(metricWebhooks, "result"),
		Bookings:      s.counterBy(metricBookings, "outcome"),
		SMSDeliveries: s.counterBy(metricSMS, "status"),
		ActorRestarts: s.counterBy(metricRestarts, "kind"),
		Shed:          s.counterBy(metricShed, "class"),
	}
}

// Comparison puts one operation of a hold scenario side by side: the engine and the
// Postgres baseline under the same attempts, rate and cap.
type Comparison struct {
	Scenario string      `json:"scenario"`
	Op       string      `json:"op"`
	Ringback CompareSide `json:"ringback"`
	Baseline CompareSide `json:"postgres_baseline"`
}

// CompareSide is one system's figures in a Comparison.
type CompareSide struct {
	Count        int64   `json:"count"`
	AchievedRate float64 `json:"achieved_rate"` // attempts started per second
	Rate         float64 `json:"rate_per_s"`    // this operation's completions per second
	P50MS        float64 `json:"p50_ms"`
	P95MS        float64 `json:"p95_ms"`
	P99MS        float64 `json:"p99_ms"`
	MaxMS        float64 `json:"max_ms"`
	Held         int64   `json:"held"`
	Taken        int64   `json:"taken"`
	Errors       int64   `json:"errors"`
}

// compare pairs each hold scenario run on the engine with its baseline run.
func compare(scenarios []ScenarioReport) []Comparison {
	var out []Comparison
	for i, r := range scenarios {
		if r.System != sysRingback || i+1 >= len(scenarios) {
			continue
		}
		b := scenarios[i+1]
		if b.System != sysBaseline || b.Name != r.Name {
			continue
		}
		for _, op := range []string{"reserve", "confirm"} {
			ro, ok1 := r.op(op)
			bo, ok2 := b.op(op)
			if ok1 && ok2 {
				out = append(out, Comparison{Scenario: r.Name, Op: op, Ringback: side(r, ro), Baseline: side(b, bo)})
			}
		}
	}
	return out
}

func side(s ScenarioReport, o OpReport) CompareSide {
	return CompareSide{Count: o.Count, AchievedRate: s.AchievedRate, Rate: o.Rate, P50MS: o.P50MS, P95MS: o.P95MS, P99MS: o.P99MS, MaxMS: o.MaxMS,
		Held: s.Outcomes["reserve 201 held"], Taken: s.Outcomes["reserve 409 taken"], Errors: s.ErrorCount}
}

func (h *harness) newReport() *Report {
	o := h.opts
	rep := &Report{Started: time.Now(), Machine: machine(), Mode: "subprocess", Scenarios: []ScenarioReport{}, Invariants: []Invariant{},
		Config: RunConfig{Tenants: o.Tenants, Resources: o.Resources, BusinessNumbers: o.Tenants * o.Numbers, DurationS: o.Duration.Seconds(),
			Concurrency: o.Concurrency, ThinkS: o.Think.Seconds(), StopFraction: o.StopFraction, HotSlots: o.HotSlots, Baseline: o.Baseline,
			Warmup: o.Warmup, StatusCallbacks: o.StatusCallbacks, Seed: o.Seed,
			Service: fmt.Sprintf("one %s service on a %s grid, resources open 24/7, offers of 3, hold TTL %s", serviceDuration, slotStep, holdTTL)}}
	if o.Target != "" {
		rep.Mode = "target"
	}
	return rep
}

// writeReports prints the text (or JSON) report on stdout and, with --out, writes
// report.txt, report.json and report.html.
func writeReports(rep *Report, o options, stdout io.Writer) error {
	if o.JSON {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		writeText(stdout, rep)
	}
	if o.Out == "" {
		return nil
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(io.Writer, *Report) error{
		"report.txt":  func(w io.Writer, r *Report) error { writeText(w, r); return nil },
		"report.json": writeJSON,
		"report.html": writeHTML,
	} {
		f, err := os.Create(filepath.Join(o.Out, name))
		if err != nil {
			return err
		}
		werr := write(f, rep)
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return fmt.Errorf("writing %s: %w", name, werr)
		}
	}
	return nil
}

func writeJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// writeText renders the report for a terminal.
func writeText(w io.Writer, rep *Report) {
	verdict := "OK: every invariant held"
	if !rep.OK {
		verdict = "FAILED: see the invariants"
	}
	fmt.Fprintf(w, "Ringback load test, %s to %s (%s). %s\n", rep.Started.UTC().Format("2006-01-02 15:04:05"), rep.Finished.UTC().Format("15:04:05 MST"),
		rep.Finished.Sub(rep.Started).Round(time.Second), verdict)
	m := rep.Machine
	fmt.Fprintf(w, "machine:  %d CPUs %s, %s, %s\n", m.CPUs, parens(m.CPUModel), m.OS, m.GoVersion)
	if rep.Mode == "target" {
		fmt.Fprintf(w, "engine:   target %s; database %s\n", rep.EngineURL, rep.Database)
	} else {
		fmt.Fprintf(w, "engine:   child process %d on %s; database %s\n", rep.EnginePID, rep.EngineURL, rep.Database)
	}
	if rep.Cluster != "" {
		fmt.Fprintf(w, "cluster:  %s\n", rep.Cluster)
	}
	c := rep.Config
	fmt.Fprintf(w, "config:   %s tenants, %s resources, %s business numbers; %s\n", thousands(int64(c.Tenants)), thousands(int64(c.Resources)),
		thousands(int64(c.BusinessNumbers)), c.Service)
	fmt.Fprintf(w, "          %gs per scenario, reservations capped at %d in flight, think %gs, STOP share %g, %d hot slots/s, seed %d\n",
		c.DurationS, c.Concurrency, c.ThinkS, c.StopFraction, c.HotSlots, c.Seed)
	if wu := rep.Warmup; wu != nil {
		fmt.Fprintf(w, "warm-up:  %s missed calls at %.1f/s, %d errors (not measured)\n", thousands(int64(wu.Started)), wu.AchievedRate, wu.ErrorCount)
	}
	for _, s := range rep.Scenarios {
		writeScenarioText(w, s)
	}
	if len(rep.Comparisons) > 0 {
		fmt.Fprintf(w, "\n== the engine against the Postgres baseline (same attempts, rate and cap) ==\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\top\tsystem\tattempts/s\tcount\theld\ttaken\terrors\tp50 ms\tp95 ms\tp99 ms\tmax ms\t")
		for _, cmp := range rep.Comparisons {
			for _, sd := range []struct {
				name string
				s    CompareSide
			}{{sysRingback, cmp.Ringback}, {sysBaseline, cmp.Baseline}} {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t\n", cmp.Scenario, cmp.Op, sd.name, sd.s.AchievedRate, sd.s.Count,
					sd.s.Held, sd.s.Taken, sd.s.Errors, msText(sd.s.P50MS), msText(sd.s.P95MS), msText(sd.s.P99MS), msText(sd.s.MaxMS))
			}
		}
		_ = tw.Flush()
	}
	if e := rep.Engine; e != nil {
		fmt.Fprintf(w, "\n== engine /metrics at the end (whole run, warm-up included) ==\n")
		fmt.Fprintf(w, "%s: %s\n", e.AutoSMS.Metric, engineHistText(e.AutoSMS))
		fmt.Fprintf(w, "webhooks by result: %s\n", countsText(e.Webhooks))
		fmt.Fprintf(w, "bookings by outcome: %s\n", countsText(e.Bookings))
		fmt.Fprintf(w, "SMS deliveries by status: %s\n", countsText(e.SMSDeliveries))
		fmt.Fprintf(w, "actor restarts: %s\n", countsText(e.ActorRestarts))
		fmt.Fprintf(w, "requests shed (503 past MAX_INFLIGHT): %s\n", countsText(e.Shed))
	}
	fmt.Fprintf(w, "\n== invariants ==\n")
	for _, inv := range rep.Invariants {
		mark := "ok  "
		if !inv.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %s: %s checked, %s violations", mark, inv.Name, thousands(inv.Checked), thousands(inv.Violations))
		if len(inv.Outcomes) > 0 {
			fmt.Fprintf(w, " (%s)", countsText(intCounts(inv.Outcomes)))
		}
		fmt.Fprintln(w)
		for _, ex := range inv.Examples {
			fmt.Fprintf(w, "       %s\n", ex)
		}
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(w, "\n== problems ==\n")
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "- %s\n", p)
		}
	}
}

func writeScenarioText(w io.Writer, s ScenarioReport) {
	fmt.Fprintf(w, "\n== %s (%s) ==\n", s.Name, s.System)
	fmt.Fprintf(w, "offered %.1f/s for %gs: started %s of %s at %.1f/s (%d late, max lag %s ms), all done after %.1fs\n",
		s.OfferedRate, s.DurationS, thousands(int64(s.Started)), thousands(int64(s.Planned)), s.AchievedRate, s.Late, msText(s.MaxLagMS), s.WallS)
	if c := s.CPU; c != nil {
		fmt.Fprintf(w, "CPU, %% of one core: engine %s, postgres %s, harness %s, everything else on the machine %s\n",
			pctText(c.Engine), pctText(c.Postgres), pctText(c.Harness), pctText(c.Other))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tcount\trate/s\tp50 ms\tp90 ms\tp95 ms\tp99 ms\tp99.9 ms\tmax ms\t")
	for _, o := range s.Ops {
		if o.Count == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", o.Name, o.Count, o.Rate, msText(o.P50MS), msText(o.P90MS), msText(o.P95MS),
			msText(o.P99MS), msText(o.P999MS), msText(o.MaxMS))
	}
	_ = tw.Flush()
	if e := s.EngineAutoSMS; e != nil && e.Count > 0 {
		fmt.Fprintf(w, "engine's own %s: %s\n", e.Metric, engineHistText(*e))
	}
	fmt.Fprintf(w, "outcomes: %s\n", countsText(intCounts(s.Outcomes)))
	fmt.Fprintf(w, "errors: %s\n", countsText(intCounts(s.Errors)))
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func engineHistText(e EngineHist) string {
	if e.Count == 0 {
		return "no observations"
	}
	return fmt.Sprintf("%s observations, mean %s ms, p50 %s, p95 %s, p99 %s ms (estimated from the buckets)",
		thousands(e.Count), msText(e.MeanMS), msText(e.P50MS), msText(e.P95MS), msText(e.P99MS))
}

func intCounts(m map[string]int64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}

// countsText lists counts largest first: "accepted 1,234, duplicate 2".
func countsText(m map[string]float64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		if m[k] == 0 {
			continue
		}
		name := k
		if name == "" {
			name = "(none)"
		}
		parts = append(parts, name+" "+thousands(int64(m[k])))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// msText prints milliseconds with three significant digits at most.
func msText(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func pctText(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "%"
}

func parens(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

// thousands prints n with thousands separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
