package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The systems a scenario runs against.
const (
	sysRingback = "ringback"
	sysBaseline = "postgres-baseline"
)

// load is what every scenario shares: it paces fire at spec's rate for --duration with a
// cap on calls in flight, with a progress bar, CPU and engine metrics around it, and
// turns the recorder into the scenario's report.
func (h *harness) load(ctx context.Context, name, system string, rate float64, limit int, ops []string, fire func(ctx context.Context, rec *recorder, i int)) ScenarioReport {
	planned := plannedCalls(rate, h.opts.Duration)
	bar := h.newProgress(fmt.Sprintf("%-13s %s", name, system), planned)
	var before promSnapshot
	if system == sysRingback {
		before, _ = scrapeMetrics(ctx, h.client, h.engineURL)
	}
	cpu0 := sampleCPU(h.enginePID())
	rec := newRecorder(time.Now())
	rec.declare(ops...)
	res := pace(ctx, rate, h.opts.Duration, limit, func(i int, _ time.Time) {
		fire(ctx, rec, i)
		bar.add()
	})
	wall := time.Since(rec.start)
	cpu := sampleCPU(h.enginePID()).share(cpu0)
	bar.finish()

	rep := ScenarioReport{
		Name: name, System: system, OfferedRate: rate, DurationS: h.opts.Duration.Seconds(),
		Planned: res.Planned, Started: res.Fired, Late: res.Late, MaxLagMS: float64(res.MaxLag.Microseconds()) / 1000,
		AchievedRate: round1(res.Achieved()), WallS: round1(wall.Seconds()),
		Ops: rec.reports(wall), Outcomes: rec.outcomes.snapshot(), Errors: rec.errors.snapshot(),
		ErrorCount: rec.errors.total(), CPU: &cpu,
	}
	if system == sysBaseline {
		rep.CPU.Engine = -1 // the engine idles while the baseline runs
	}
	if before != nil {
		if after, err := scrapeMetrics(ctx, h.client, h.engineURL); err == nil {
			auto := after.histogram(metricAutoSMS).minus(before.histogram(metricAutoSMS)).summary(metricAutoSMS)
			rep.EngineAutoSMS = &auto
		}
	}
	h.logf("%s (%s): %d started at %.1f/s (offered %.1f/s), %d errors, %.1fs", name, system, rep.Started, rep.AchievedRate, rate, rep.ErrorCount, rep.WallS)
	return rep
}

// runScenario runs one named scenario: against the engine, and for the hold scenarios
// with --baseline also straight against Postgres.
func (h *harness) runScenario(ctx context.Context, spec scenarioSpec) []ScenarioReport {
	switch spec.Name {
	case scMissedCalls:
		return []ScenarioReport{h.missedCalls(ctx, spec.Name, spec.Rate)}
	case scConversations:
		return []ScenarioReport{h.conversations(ctx, spec.Rate)}
	case scReminders:
		return []ScenarioReport{h.reminders(ctx, int(spec.Rate))}
	case scHotSlot, scBookingAPI:
		attempts := h.attempts(spec)
		out := []ScenarioReport{h.holds(ctx, spec, attempts, engineHolds{c: h.booking, w: h.world}, sysRingback)}
		if h.opts.Baseline && ctx.Err() == nil {
			b, err := newBaseline(ctx, h.dbURL, h.world, h.opts.Concurrency)
			if err != nil {
				h.problem("baseline: %v", err)
				return out
			}
			defer b.close()
			out = append(out, h.holds(ctx, spec, attempts, b, sysBaseline))
		}
		return out
	}
	panic("unknown scenario " + spec.Name) // parseArgs admits only the names above
}

// warmUp makes one missed call per business number, not measured: it activates the
// conversation and resource actors and fills the engine's caches, as in an engine that
// has been running (docs/PERFORMANCE.md measured the first calls of a cold engine as
// several times slower).
func (h *harness) warmUp(ctx context.Context) ScenarioReport {
	saved := h.opts.Duration
	rate := min(250.0, float64(len(h.world.endpoints)))
	h.opts.Duration = time.Duration(float64(len(h.world.endpoints)) / rate * float64(time.Second))
	defer func() { h.opts.Duration = saved }()
	return h.missedCalls(ctx, "warm-up", rate)
}

// --- missed-calls ----------------------------------------------------------------------

// missedCalls posts signed missed-call webhooks open loop, each from a new caller to the
// next business number (round robin over every tenant), and measures each from sending
// the webhook to its answer and to the auto-reply's arrival at the SMS provider.
func (h *harness) missedCalls(ctx context.Context, name string, rate float64) ScenarioReport {
	return h.load(ctx, name, sysRingback, rate, 0, []string{"webhook → 200", h.smsOp}, func(ctx context.Context, rec *recorder, i int) {
		ep := h.world.endpoints[i%len(h.world.endpoints)]
		p := pair{customer: h.newCaller(), business: ep.number}
		t0 := time.Now()
		if err := h.carrier.missedCall(ctx, p.customer, p.business); err != nil {
			rec.fail(errorKind("missed-call webhook", err))
			return
		}
		rec.observe("webhook → 200", t0, time.Now())
		h.mu.Lock()
		h.autoReplied = append(h.autoReplied, p)
		h.mu.Unlock()
		m, err := h.await(ctx, p)
		if err != nil {
			rec.fail("auto-reply: " + err.Error())
			return
		}
		rec.observe(h.smsOp, t0, m.At)
		if n := countOptions(m.Body); n > 0 {
			rec.outcome("auto-reply with options")
		} else {
			rec.outcome("auto-reply without options")
		}
	})
}

// await waits up to --timeout for the next SMS to p.
func (h *harness) await(ctx context.Context, p pair) (sms, error) {
	wctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	m, err := h.inbox.next(wctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return m, fmt.Errorf("run interrupted")
		}
		return m, fmt.Errorf("no SMS within %s", h.opts.Timeout)
	}
	return m, nil
}

// --- conversations ---------------------------------------------------------------------

// What a customer makes of the engine's texts (contract.md, "The SMS protocol"; the
// generated tenants use the default templates).
type replyKind int

const (
	replyOther   replyKind = iota
	replyOptions           // numbered options "1) …" (an offer, or fresh ones after a lost hold)
	replyHeld              // "… Reply YES to confirm."
	replyBooked            // "You're booked …"
	replyOptOut            // the opt-out confirmation
	replyNoSlots           // "… has no open times to offer by text right now …"
)

var optionLine = regexp.MustCompile(`(?m)^\s*([1-9][0-9]?)\)\s`)

func countOptions(body string) int { return len(optionLine.FindAllString(body, -1)) }

func classify(body string) replyKind {
	lower := strings.ToLower(body)
	switch {
	case strings.Contains(body, "Reply YES to confirm"):
		return replyHeld
	case strings.Contains(lower, "unsubscribed"):
		return replyOptOut
	case countOptions(body) > 0:
		return replyOptions
	case strings.Contains(lower, "booked"):
		return replyBooked
	case strings.Contains(lower, "no open times"):
		return replyNoSlots
	}
	return replyOther
}

// holdAttempts is how many times a customer whose chosen slot was taken picks again.
const holdAttempts = 3

// conversations plays customers through the whole SMS protocol: a missed call, the
// options, a reply with one of them (held), then YES (booked), each after a think time.
// Every customer calls a different business number in turn, so options race for the same
// early slots of a tenant: a customer whose pick is taken gets fresh options and picks
// again. A share of them (--stop-fraction) text STOP instead and later call again; nothing
// but the opt-out confirmation may reach them after that.
func (h *harness) conversations(ctx context.Context, rate float64) ScenarioReport {
	ops := []string{"missed call → options", "option → held", "YES → booked"}
	return h.load(ctx, scConversations, sysRingback, rate, 0, ops, func(ctx context.Context, rec *recorder, i int) {
		rng := rand.New(rand.NewPCG(h.opts.Seed, uint64(i)))
		ep := h.world.endpoints[i%len(h.world.endpoints)]
		p := pair{customer: h.newCaller(), business: ep.number}
		// step sends one webhook and waits for the answer to it.
		step := func(what string, send func() error) (sms, time.Time, bool) {
			t0 := time.Now()
			if err := send(); err != nil {
				rec.fail(errorKind(what+" webhook", err))
				return sms{}, t0, false
			}
			m, err := h.await(ctx, p)
			if err != nil {
				rec.fail(what + ": " + err.Error())
				return sms{}, t0, false
			}
			return m, t0, true
		}
		text := func(body string) func() error {
			return func() error { return h.carrier.sms(ctx, p.customer, p.business, body) }
		}

		m, t0, ok := step("missed call", func() error { return h.carrier.missedCall(ctx, p.customer, p.business) })
		if !ok {
			return
		}
		rec.observe("missed call → options", t0, m.At)
		options := countOptions(m.Body)
		if options == 0 {
			rec.outcome("no options offered")
			return
		}
		if stops(i, h.opts.StopFraction) {
			if !h.think(ctx, rng) {
				return
			}
			if m, t0, ok = step("STOP", text("STOP")); !ok {
				return
			}
			rec.observe("STOP → confirmation", t0, m.At)
			if classify(m.Body) != replyOptOut {
				rec.fail("STOP: answered with something else than the opt-out confirmation")
				return
			}
			h.mu.Lock()
			h.optedOut = append(h.optedOut, optedOut{p: p, at: m.At})
			h.mu.Unlock()
			if !h.think(ctx, rng) {
				return
			}
			t0 = time.Now()
			if err := h.carrier.missedCall(ctx, p.customer, p.business); err != nil {
				rec.fail(errorKind("missed-call webhook", err))
				return
			}
			rec.observe("missed call after STOP → 200", t0, time.Now())
			rec.outcome("opted out, then called again")
			return
		}

		held := false
		for range holdAttempts {
			if !h.think(ctx, rng) {
				return
			}
			pick := 1 + rng.IntN(options)
			if m, t0, ok = step("option", text(strconv.Itoa(pick))); !ok {
				return
			}
			switch classify(m.Body) {
			case replyHeld:
				rec.observe("option → held", t0, m.At)
				held = true
			case replyOptions:
				rec.observe("option → taken, fresh options", t0, m.At)
				rec.outcome("pick lost to another customer (fresh options)")
				if options = countOptions(m.Body); options == 0 {
					rec.outcome("no options left after a lost pick")
					return
				}
				continue
			case replyNoSlots:
				rec.outcome("no options left after a lost pick")
				return
			default:
				rec.fail(fmt.Sprintf("option: unexpected answer %q", truncate(m.Body, 40)))
				return
			}
			break
		}
		if !held {
			rec.outcome("gave up after " + strconv.Itoa(holdAttempts) + " lost picks")
			return
		}
		if !h.think(ctx, rng) {
			return
		}
		if m, t0, ok = step("YES", text("YES")); !ok {
			return
		}
		switch classify(m.Body) {
		case replyBooked:
			rec.observe("YES → booked", t0, m.At)
			rec.outcome("booked")
		case replyOptions, replyNoSlots:
			rec.outcome("hold expired before YES (fresh options)")
		default:
			rec.fail(fmt.Sprintf("YES: unexpected answer %q", truncate(m.Body, 40)))
		}
	})
}

// stops says whether customer i is one of those who text STOP: spread evenly, a share f
// of them.
func stops(i int, f float64) bool {
	return int(float64(i+1)*f) > int(float64(i)*f)
}

// think waits a customer's think time: uniform in [0.5, 1.5] × --think. It is the load
// generator's own pacing. False when the run was interrupted.
func (h *harness) think(ctx context.Context, rng *rand.Rand) bool {
	if h.opts.Think <= 0 {
		return ctx.Err() == nil
	}
	d := time.Duration((0.5 + rng.Float64()) * float64(h.opts.Think))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
