package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ringback/fakes/googlefake"
	"ringback/fakes/jobberfake"
	"ringback/fakes/oauthfake"
	"ringback/fakes/twiliofake"

	"ringback/internal/enginechild"
)

const (
	twilioSID          = "AC0123456789abcdef0123456789abcdef"
	twilioToken        = "chaosTwilioToken0123456789abcdef"
	googleClientID     = "chaos-google"
	googleClientSecret = "chaos-google-secret"
	jobberClientID     = "chaos-jobber"
	jobberClientSecret = "chaos-jobber-secret"
	maxInFlight        = 64
	readyTimeout       = 30 * time.Second
)

// suite is one run: the world it built and what it measured.
type suite struct {
	plan plan
	seed int64
	keep bool
	log  io.Writer
	rng  *mrand.Rand

	dir     string
	pool    *pgxpool.Pool // the run's database, directly (not through the proxy)
	proxy   *proxy
	eng     *engine   // the engine of a single-process run
	engines []*engine // every engine of the run (three in a cluster)
	drv     *driver
	twilio  *twiliofake.Server
	google  *googlefake.Server
	jobber  *jobberfake.Server
	rep     *report
	killed  int
}

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(s.log, "chaos: %s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func (s *suite) run(ctx context.Context, dbURL string) (*report, error) {
	s.rng = mrand.New(mrand.NewPCG(uint64(s.seed), 1))
	s.rep = &report{Title: fmt.Sprintf("Ringback chaos suite (%s form)", s.plan.name)}
	begin := time.Now()

	admin, err := adminURL(dbURL)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ringback-chaos-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if !s.keep {
		defer os.RemoveAll(dir)
	}

	s.logf("building the engine")
	bin := filepath.Join(dir, "engine")
	if err := enginechild.Build(ctx, bin); err != nil {
		return nil, err
	}

	dbName, runURL, err := createDatabase(ctx, admin)
	if err != nil {
		return nil, err
	}
	if !s.keep {
		defer dropDatabase(admin, dbName)
	}
	s.pool, err = pgxpool.New(ctx, runURL.String())
	if err != nil {
		return nil, err
	}
	defer s.pool.Close()

	s.proxy, err = newProxy(runURL.Host)
	if err != nil {
		return nil, err
	}
	defer s.proxy.Close()
	proxied := *runURL
	proxied.Host = s.proxy.Addr()

	s.twilio = twiliofake.New(twilioSID, twilioToken)
	defer s.twilio.Close()
	gauth := oauthfake.New(googleClientID, googleClientSecret, false)
	gauth.AcceptAnyRefreshToken()
	s.google = googlefake.New(gauth)
	defer s.google.Close()
	s.jobber = jobberfake.New(jobberClientID, jobberClientSecret)
	s.jobber.OAuth().AcceptAnyRefreshToken()
	// Jobber's real query-cost budget (500 points/s) would make Jobber the bottleneck of
	// a 20 bookings/s run; the suite tests faults, not the throttle.
	s.jobber.SetThrottle(10000, 10000)
	defer s.jobber.Close()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second}}
	env := map[string]string{
		"DATABASE_URL": proxied.String(), "ADMIN_TOKEN": adminToken,
		"ENGINE_SECRET_KEY":  base64.StdEncoding.EncodeToString(key),
		"TWILIO_ACCOUNT_SID": twilioSID, "TWILIO_AUTH_TOKEN": twilioToken, "TWILIO_API_URL": s.twilio.URL(),
		"GOOGLE_CALENDAR_URL": s.google.Endpoint(), "GOOGLE_TOKEN_URL": s.google.TokenURL(),
		"GOOGLE_CLIENT_ID": googleClientID, "GOOGLE_CLIENT_SECRET": googleClientSecret,
		"JOBBER_API_URL": s.jobber.URL() + "/api/graphql", "JOBBER_TOKEN_URL": s.jobber.URL() + "/api/oauth/token",
		"JOBBER_CLIENT_ID": jobberClientID, "JOBBER_CLIENT_SECRET": jobberClientSecret,
		"MAX_INFLIGHT": fmt.Sprint(maxInFlight), "LOG_LEVEL": "info",
	}
	var base string
	if s.plan.cluster {
		stop, lb, err := s.startCluster(ctx, bin, client, env)
		defer stop()
		if err != nil {
			return nil, err
		}
		base = lb
	} else {
		addr, err := enginechild.FreeAddr()
		if err != nil {
			return nil, err
		}
		base = "http://" + addr
		env["ENGINE_ADDR"], env["PUBLIC_URL"] = addr, base
		s.eng = &engine{bin: bin, url: base, logPath: filepath.Join(dir, "engine.log"), client: client, env: engineEnv(os.Environ(), env)}
		s.engines = []*engine{s.eng}
		s.logf("starting the engine on %s (database %s through proxy %s; log %s)", addr, dbName, s.proxy.Addr(), s.eng.logPath)
		if err := s.eng.Start(); err != nil {
			return nil, err
		}
		defer func() {
			if gone, _ := s.eng.Exited(); !gone {
				s.eng.Kill()
			}
		}()
		if err := s.eng.WaitReady(readyTimeout); err != nil {
			return nil, err
		}
	}
	if err := s.applyTenant(ctx, base, client); err != nil {
		return nil, err
	}

	now := time.Now().UTC()
	s.drv = &driver{base: base, publicURL: base, twilioToken: twilioToken, client: client, day0: now.Truncate(24 * time.Hour)}
	s.drv.setPhase("warm-up")
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	s.drv.run(loadCtx, s.plan.callRate, s.plan.holdRate)
	s.logf("load: %d missed calls/s, %d holds/s (4 in 5 confirmed)", s.plan.callRate, s.plan.holdRate)
	if err := sleep(ctx, s.plan.warmup); err != nil {
		return nil, err
	}

	phases := []func(context.Context) error{s.killPhase, s.outage, s.vendorFaults, s.slowPostgres}
	if s.plan.cluster {
		phases = []func(context.Context) error{s.clusterKills, s.rollingRestart}
	}
	for _, phase := range phases {
		if err := phase(ctx); err != nil {
			return s.rep, err
		}
	}
	s.drv.setPhase("wind-down")
	stopLoad()
	s.drv.wait()
	s.logf("load stopped; waiting for the engine to finish its work (at most %s)", s.plan.drain)
	if err := s.final(ctx); err != nil {
		return s.rep, err
	}
	logNote := "engine logs deleted (keep them with --keep)"
	if s.keep {
		logNote = "engine logs in " + s.dir + ", database kept"
	}
	s.rep.Preamble = append([]string{
		fmt.Sprintf("Run: %s, seed %d, %s on %s; %s.", time.Now().UTC().Format(time.RFC3339), s.seed, time.Since(begin).Round(time.Second), hostInfo(), logNote),
		fmt.Sprintf("Load: %d signed missed-call webhooks/s and %d booking-API holds/s (4 in 5 confirmed), 1 tenant, %d business numbers, %d resources on Google calendars, a Jobber connection; MAX_INFLIGHT=%d.",
			s.plan.callRate, s.plan.holdRate, businessNumbers, resourceCount, maxInFlight),
	}, s.rep.Preamble...)
	return s.rep, nil
}

func (s *suite) applyTenant(ctx context.Context, base string, client *http.Client) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, base+"/admin/v1/tenants/"+tenantID, strings.NewReader(tenantYAML()))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("applying the tenant: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("applying the tenant: HTTP %d: %s", resp.StatusCode, body)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/v1/tenants/"+tenantID+"/connections/chaos-google/read-calendars", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err = client.Do(req)
	if err != nil {
		return fmt.Errorf("reading the calendars: %w", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("reading the calendars: HTTP %d: %s", resp.StatusCode, body)
	}
	return nil
}

// kills: kill -9 at random moments, restart with the same environment, keep driving.
func (s *suite) killPhase(ctx context.Context) error {
	s.drv.setPhase("kills")
	sec := s.rep.add("1. kill -9 of the engine",
		fmt.Sprintf("SIGKILL to the engine process %d times, %s–%s apart (uniform random), under load; restarted at once with the same environment", s.plan.kills, s.plan.killGapMin, s.plan.killGapMax))
	var worst, total time.Duration
	failures := 0
	for i := range s.plan.kills {
		gap := s.plan.killGapMin + time.Duration(s.rng.Int64N(int64(s.plan.killGapMax-s.plan.killGapMin)))
		if err := sleep(ctx, gap); err != nil {
			return err
		}
		s.eng.Kill()
		s.killed++
		down := time.Now()
		s.logf("kill %d/%d", i+1, s.plan.kills)
		if err := s.eng.Start(); err != nil {
			return err
		}
		if err := s.eng.WaitReady(readyTimeout); err != nil {
			failures++
			sec.check(fmt.Sprintf("ready again after kill %d", i+1), false, "%v", err)
			return nil
		}
		d := time.Since(down)
		total += d
		worst = max(worst, d)
	}
	calls, holds := s.drv.snapshot()
	sec.num("kills survived", "%d of %d", s.plan.kills-failures, s.plan.kills)
	sec.num("kill → /readyz 200", "mean %s, worst %s", (total / time.Duration(max(1, s.plan.kills))).Round(time.Millisecond), worst.Round(time.Millisecond))
	sec.num("missed-call webhooks in the phase", "%s", formatCounts(callStatuses(calls, "kills")))
	sec.num("holds in the phase", "%s", formatCounts(holdStatuses(holds, "kills")))
	sec.check("the engine restarts and is ready after every kill", failures == 0, "%d kills, ready within %s each", s.plan.kills, readyTimeout)
	return nil
}

// outage cuts Postgres (through the proxy) for a while.
func (s *suite) outage(ctx context.Context) error {
	s.drv.setPhase("outage")
	sec := s.rep.add("2. Postgres outage",
		fmt.Sprintf("the TCP proxy between the engine and Postgres closes every connection and refuses new ones for %s, under load; then heals", s.plan.outage))
	s.logf("Postgres outage for %s", s.plan.outage)
	cut := time.Now()
	s.proxy.Cut()
	ready := map[string]int{}
	late200 := 0 // /readyz 200 more than 3 s into the outage
	died := false
	for time.Since(cut) < s.plan.outage {
		st := s.eng.status("/readyz")
		ready[fmt.Sprint(st)]++
		if st == http.StatusOK && time.Since(cut) > 3*time.Second {
			late200++
		}
		if gone, _ := s.eng.Exited(); gone {
			died = true
			break
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	heal := time.Now()
	s.proxy.Heal()
	s.logf("Postgres healed")
	backErr := s.eng.WaitReady(readyTimeout)
	back := time.Since(heal)

	// A fresh missed call after healing: answered 200 and auto-replied.
	s.drv.setPhase("after-outage")
	probe := s.drv.missedCall()
	probeOK := probe.status == http.StatusOK
	probeReply := false
	if probeOK {
		probeReply = s.waitMessagesTo(ctx, probe.from, 30*time.Second)
	}
	s.drv.setPhase("outage-recovered")

	calls, holds := s.drv.snapshot()
	during := map[string]int{}
	ok200 := 0
	for _, c := range calls {
		// Requests that started once the cut was in effect and ended before the heal.
		if c.start.After(cut.Add(500*time.Millisecond)) && c.end.Before(heal) {
			during[statusName(c.status)]++
			if c.status == http.StatusOK {
				ok200++
			}
		}
	}
	holdDuring := map[string]int{}
	for _, h := range holds {
		if h.phase == "outage" {
			holdDuring[statusName(h.status)]++
		}
	}
	lines, npanic := s.eng.panics(5)
	sec.num("/readyz during the outage", "%s", formatCounts(ready))
	sec.num("missed-call webhooks started and answered inside the outage", "%s", formatCounts(during))
	sec.num("holds and confirms sent during the outage", "%s", formatCounts(holdStatuses(holds, "outage")))
	if holdDuring["500"] > 0 {
		sec.num("note", "the booking API answered %d holds with 500 (not 503 + Retry-After) while Postgres was down", holdDuring["500"])
	}
	sec.num("heal → /readyz 200", "%s", back.Round(time.Millisecond))
	sec.num("proxy connections refused while cut", "%d", s.proxy.refused.Load())
	sec.check("/readyz answers 503 during the outage", ready["503"] > 0 && late200 == 0, "%d answers 503, %d answers 200 after the first 3 s", ready["503"], late200)
	sec.check("no missed-call webhook is answered 200 while Postgres is down", ok200 == 0 && during["503"] > 0, "%d answered 200, %d answered 503", ok200, during["503"])
	sec.check("the engine process stays alive", !died, "exited: %v", died)
	sec.check("no panic in the engine's log", npanic == 0, "%d lines mention a panic %s", npanic, strings.Join(lines, " / "))
	sec.check("/readyz 200 again after healing", backErr == nil, "after %s", back.Round(time.Millisecond))
	sec.check("work resumes: a new missed call is accepted and auto-replied", probeOK && probeReply, "webhook HTTP %d, auto-reply arrived: %v", probe.status, probeReply)
	if died {
		return fmt.Errorf("the engine died during the Postgres outage:\n%s", s.eng.tail(30))
	}
	return nil
}

// vendorFaults makes Twilio, Google and Jobber fail for a while.
func (s *suite) vendorFaults(ctx context.Context) error {
	sec := s.rep.add("3. Vendor faults",
		fmt.Sprintf("for %s: fake Twilio answers every send 500 (first half) then 429 (second half); fake Google answers 503; fake Jobber answers 500 to every request; then all heal", s.plan.vendorFault))
	// Quiet point before: no load, mailboxes drained of the previous phase's work.
	s.drv.paused.Store(true)
	_ = sleep(ctx, 2*time.Second)
	if !s.waitQuiet(ctx, 60*time.Second) {
		s.logf("the engine was not quiet before the vendor faults (measuring anyway): %s", s.backlog(ctx))
		sec.num("not quiet before the fault (60 s)", "%s", s.backlog(ctx))
	}
	before, err := s.eng.Metrics()
	if err != nil {
		return err
	}
	s.drv.paused.Store(false)

	s.drv.setPhase("vendor-baseline")
	baseStart := time.Now()
	if err := sleep(ctx, s.plan.vendorBase); err != nil {
		return err
	}
	baseDur := time.Since(baseStart)

	s.logf("vendor faults for %s", s.plan.vendorFault)
	s.drv.setPhase("vendor")
	faultStart := time.Now()
	msgsBefore := len(s.twilio.Messages())
	s.twilio.FailAlways(twiliofake.ServerError())
	s.google.FailAlways(googlefake.Unavailable())
	s.jobber.FailAlways("", jobberfake.ServerError())
	if err := sleep(ctx, s.plan.vendorFault/2); err != nil {
		return err
	}
	s.twilio.FailAlways(twiliofake.RateLimited())
	if err := sleep(ctx, s.plan.vendorFault-s.plan.vendorFault/2); err != nil {
		return err
	}
	msgsDuring := len(s.twilio.Messages()) - msgsBefore
	faultDur := time.Since(faultStart)
	s.twilio.Heal()
	s.google.Heal()
	s.jobber.Heal()
	healed := time.Now()
	s.drv.setPhase("vendor-healed")
	s.logf("vendors healed")

	// Every missed call accepted during the fault gets its auto-reply after healing.
	calls, holds := s.drv.snapshot()
	var pending []string
	for _, c := range calls {
		if c.phase == "vendor" && c.status == http.StatusOK {
			pending = append(pending, c.from)
		}
	}
	arrivedAll := s.waitAllMessaged(ctx, pending, s.plan.drain)
	arrival := time.Since(healed)

	rate := func(phase string, d time.Duration) float64 {
		n := 0
		for _, h := range holds {
			if h.phase == phase && h.confirmStatus/100 == 2 {
				n++
			}
		}
		return float64(n) / d.Seconds()
	}
	baseRate, faultRate := rate("vendor-baseline", baseDur), rate("vendor", faultDur)

	// Quiet point after: no load, the retried work done.
	s.drv.paused.Store(true)
	_ = sleep(ctx, 2*time.Second)
	quiet := s.waitQuiet(ctx, s.plan.drain)
	left := s.backlog(ctx)
	after, err := s.eng.Metrics()
	if err != nil {
		return err
	}
	s.drv.paused.Store(false)

	g0, g1 := before["go_goroutines"], after["go_goroutines"]
	r0, r1 := before["process_resident_memory_bytes"], after["process_resident_memory_bytes"]
	sec.num("confirmed bookings/s", "%.1f healthy (%s before), %.1f during the fault", baseRate, baseDur.Round(time.Second), faultRate)
	sec.num("SMS accepted by Twilio during the fault", "%d", msgsDuring)
	if arrivedAll {
		sec.num("auto-replies owed for calls accepted during the fault", "%d, all arrived %s after healing", len(pending), arrival.Round(time.Millisecond))
	} else {
		sec.num("auto-replies owed for calls accepted during the fault", "%d, not all arrived within %s of healing: %s", len(pending), arrival.Round(time.Millisecond), s.backlog(ctx))
	}
	sec.num("goroutines (quiet, before → after)", "%.0f → %.0f", g0, g1)
	sec.num("RSS (quiet, before → after)", "%s → %s", mib(r0), mib(r1))
	sec.num("sync jobs outcomes (ringback_sync_jobs_total)", "%.0f before, %.0f after", before["ringback_sync_jobs_total"], after["ringback_sync_jobs_total"])
	sec.check("bookings keep their rate while vendors fail", faultRate >= 0.8*baseRate && faultRate > 0, "%.1f/s during vs %.1f/s before (want ≥ 80%%)", faultRate, baseRate)
	sec.check("every auto-reply owed from the fault arrives after healing", arrivedAll, "%d owed, waited at most %s", len(pending), s.plan.drain)
	sec.check("the engine settles (no pending sync job, no unsent SMS) after healing", quiet, "within %s; left: %s", s.plan.drain, left)
	sec.check("goroutines do not grow more than 3x (quiet before vs after)", g1 <= 3*g0, "%.0f → %.0f", g0, g1)
	return nil
}

// slowPostgres adds latency in the proxy and bursts webhooks past MAX_INFLIGHT.
func (s *suite) slowPostgres(ctx context.Context) error {
	sec := s.rep.add("4. Slow Postgres and a burst",
		fmt.Sprintf("for %s the proxy holds every forwarded chunk %s each way (a query round trip ≥ %s), under the steady load; at its start a burst of %d missed-call webhooks, %d at a time; MAX_INFLIGHT=%d",
			s.plan.slowFor, s.plan.slowLatency, 2*s.plan.slowLatency, s.plan.burst, s.plan.burstParallel, maxInFlight))
	before, err := s.eng.Metrics()
	if err != nil {
		return err
	}
	s.logf("slow Postgres (%s per chunk) and a burst of %d webhooks", s.plan.slowLatency, s.plan.burst)
	s.drv.setPhase("slow-pg")
	s.proxy.SetLatency(s.plan.slowLatency)

	var peakRSS, peakMailbox atomic.Int64
	stopSample := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		for {
			if m, err := s.eng.Metrics(); err == nil {
				if v := int64(m["process_resident_memory_bytes"]); v > peakRSS.Load() {
					peakRSS.Store(v)
				}
				if v := int64(m["ringback_actor_mailbox_messages"]); v > peakMailbox.Load() {
					peakMailbox.Store(v)
				}
			}
			select {
			case <-stopSample:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	work := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	var burstDur time.Duration
	for range s.plan.burstParallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				c := s.drv.missedCall()
				mu.Lock()
				counts[statusName(c.status)]++
				burstDur = max(burstDur, time.Since(start))
				mu.Unlock()
			}
		}()
	}
	for range s.plan.burst {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	if err := sleep(ctx, s.plan.slowFor-time.Since(start)); err != nil && ctx.Err() != nil {
		return err
	}
	midGoroutines := 0.0
	if m, err := s.eng.Metrics(); err == nil {
		midGoroutines = m["go_goroutines"]
	}
	s.proxy.SetLatency(0)
	s.drv.setPhase("slow-pg-healed")
	close(stopSample)
	sampled.Wait()
	_ = sleep(ctx, 2*time.Second) // the slow phase's last requests finish
	gone, _ := s.eng.Exited()
	after, err := s.eng.Metrics()
	if err != nil {
		return err
	}

	calls, holds := s.drv.snapshot()
	steady := map[string]int{}
	for _, c := range calls {
		if c.phase == "slow-pg" && c.start.After(start.Add(burstDur)) {
			steady[statusName(c.status)]++
		}
	}
	shed := after["ringback_requests_shed_total"] - before["ringback_requests_shed_total"]
	rss0 := before["process_resident_memory_bytes"]
	sec.num("burst webhooks", "%s in %s", formatCounts(counts), burstDur.Round(time.Millisecond))
	sec.num("steady missed calls after the burst, still slow", "%s", formatCounts(steady))
	sec.num("holds and confirms during the slow phase", "%s", formatCounts(holdStatuses(holds, "slow-pg")))
	sec.num("ringback_requests_shed_total (delta)", "%.0f", shed)
	sec.num("RSS before → peak → after", "%s → %s → %s", mib(rss0), mib(float64(peakRSS.Load())), mib(after["process_resident_memory_bytes"]))
	sec.num("ringback_actor_mailbox_messages peak (sampled every 250 ms)", "%d", peakMailbox.Load())
	sec.num("goroutines: end of the slow phase → 2 s after healing", "%.0f → %.0f", midGoroutines, after["go_goroutines"])
	sec.check("load past MAX_INFLIGHT is shed with 503", counts["503"] > 0 && shed > 0, "%d answered 503, shed counter +%.0f", counts["503"], shed)
	sec.check("memory stays bounded (peak RSS < before + 256 MiB)", float64(peakRSS.Load()) < rss0+256*(1<<20), "%s → %s", mib(rss0), mib(float64(peakRSS.Load())))
	sec.check("the engine process stays alive", !gone, "exited: %v", gone)
	return nil
}

// waitMessagesTo waits until the fake Twilio has a message to number.
func (s *suite) waitMessagesTo(ctx context.Context, number string, timeout time.Duration) bool {
	return s.waitAllMessaged(ctx, []string{number}, timeout)
}

// waitAllMessaged waits until every number has at least one message at the fake Twilio.
func (s *suite) waitAllMessaged(ctx context.Context, numbers []string, timeout time.Duration) bool {
	return poll(ctx, timeout, func() bool {
		got := map[string]bool{}
		for _, m := range s.twilio.Messages() {
			got[m.To] = true
		}
		for _, n := range numbers {
			if !got[n] {
				return false
			}
		}
		return true
	})
}

// waitQuiet waits until no sync job is pending or running, no SMS waits to be sent and
// every webhook is processed. A delivery 'sending' for more than 30 s is stuck (a send
// takes milliseconds): it does not hold the wait up; the final checks report it.
func (s *suite) waitQuiet(ctx context.Context, timeout time.Duration) bool {
	return poll(ctx, timeout, func() bool {
		var n int
		err := s.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM fulfillment.sync_jobs WHERE state IN ('pending', 'running')) +
			(SELECT count(*) FROM conversation.deliveries WHERE status = 'pending' OR (status = 'sending' AND updated_at > now() - interval '30 seconds')) +
			(SELECT count(*) FROM conversation.webhook_envelopes WHERE processed_at IS NULL)`).Scan(&n)
		return err == nil && n == 0
	})
}

// backlog describes the work not done: sync jobs, deliveries, webhooks.
func (s *suite) backlog(ctx context.Context) string {
	var jobs, pending, sending, envs int
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM fulfillment.sync_jobs WHERE state IN ('pending', 'running')),
		(SELECT count(*) FROM conversation.deliveries WHERE status = 'pending'),
		(SELECT count(*) FROM conversation.deliveries WHERE status = 'sending'),
		(SELECT count(*) FROM conversation.webhook_envelopes WHERE processed_at IS NULL)`).Scan(&jobs, &pending, &sending, &envs)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d sync jobs pending/running, %d deliveries pending, %d sending, %d webhooks unprocessed", jobs, pending, sending, envs)
}

// poll calls cond every 250 ms until it holds or timeout passes: the engine is another
// process, so there is nothing to wait on but its effects.
func poll(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || sleep(ctx, 250*time.Millisecond) != nil {
			return false
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func statusName(code int) string {
	if code == 0 {
		return "no answer"
	}
	return fmt.Sprint(code)
}

func callStatuses(calls []*callRec, phase string) map[string]int {
	m := map[string]int{}
	for _, c := range calls {
		if c.phase == phase {
			m[statusName(c.status)]++
		}
	}
	return m
}

func holdStatuses(holds []*holdRec, phase string) map[string]int {
	m := map[string]int{}
	for _, h := range holds {
		if h.phase == phase {
			m["hold "+statusName(h.status)]++
			if h.confirmSent {
				m["confirm "+statusName(h.confirmStatus)]++
			}
		}
	}
	return m
}

// adminURL is the Postgres URL the suite creates its database with.
func adminURL(flagURL string) (*url.URL, error) {
	raw := flagURL
	if raw == "" {
		raw = os.Getenv("CHAOS_DATABASE_URL")
	}
	if raw == "" {
		out, err := exec.Command("scripts/pg.sh", "url").Output()
		if err != nil {
			return nil, fmt.Errorf("no --database-url or CHAOS_DATABASE_URL, and `scripts/pg.sh url` failed (run from the repository root after `scripts/pg.sh start`): %w", err)
		}
		raw = strings.TrimSpace(string(out))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("database URL %q: want postgres://user@host:port/db", raw)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		u.Host = net.JoinHostPort(u.Host, "5432")
	}
	return u, nil
}

// createDatabase creates chaos_<random> and returns its name and URL.
func createDatabase(ctx context.Context, admin *url.URL) (string, *url.URL, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "chaos_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return "", nil, fmt.Errorf("connecting to Postgres (%s): %w", admin.Redacted(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("creating database %s: %w", name, err)
	}
	u := *admin
	u.Path = "/" + name
	return name, &u, nil
}

func dropDatabase(admin *url.URL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

func hostInfo() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s (%d CPUs)", h, numCPU())
}
