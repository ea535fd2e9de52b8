package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ringback/clock"
	"ringback/comms/twilio"
	"ringback/fakes/twiliofake"
)

// BenchmarkMissedCalls drives signed missed-call webhooks at fixed rates (open loop) into
// an engine wired to the fake Twilio through the real twilio-go client, and measures each
// call from the webhook being sent to its auto-reply arriving at the fake. 100 tenants with
// 10 business numbers each (1,000 long codes at the default 1 SMS/s each), every call from
// a new caller. The fake's status callbacks are off, so the path measured is the
// auto-reply alone; MISSED_CALL_RECEIPTS=1 turns them on (two more webhooks per call, as a
// real Twilio sends).
func BenchmarkMissedCalls(b *testing.B) {
	const tenants, numbersPer = 100, 10
	// The engine runs with its GC target (engine serve sets it); so does this process.
	defer debug.SetGCPercent(debug.SetGCPercent(defaultGCPercent))
	pool := benchPool(b)
	fake := twiliofake.New(twilioSID, twilioToken)
	if os.Getenv("MISSED_CALL_RECEIPTS") == "" {
		fake.DisableCallbacks()
	}
	b.Cleanup(fake.Close)
	var handler atomic.Pointer[http.Handler]
	srv := newServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }))
	cfg := Config{AdminToken: adminToken, PublicURL: srv.URL, TwilioAccountSID: twilioSID, TwilioAuthToken: twilioToken, TwilioAPIURL: fake.URL()}
	eng, err := assemble(cfg, pool, testBox(b), quietLog(), clock.Real{})
	require.NoError(b, err)
	b.Cleanup(eng.stop)
	handler.Store(&eng.handler)
	e := &testEngine{t: b, eng: eng, srv: srv, pool: pool}

	var numbers []string
	for t := range tenants {
		var eps strings.Builder
		for n := range numbersPer {
			num := fmt.Sprintf("+1512%03d%04d", 600+t/10, (t%10)*100+n)
			numbers = append(numbers, num)
			fmt.Fprintf(&eps, "  - {number: \"%s\", default_service: drain}\n", num)
		}
		e.apply(fmt.Sprintf(`id: t%03d
name: Tenant %d
timezone: UTC
endpoints:
%sservices:
  - {id: drain, name: Drain, duration: 60m, price: {base: 100, currency: USD}}
resources:
  - {id: a, name: A, services: [drain], hours: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}}
  - {id: b, name: B, services: [drain], hours: {mon: ["08:00-18:00"], tue: ["08:00-18:00"], wed: ["08:00-18:00"], thu: ["08:00-18:00"], fri: ["08:00-18:00"]}}
policies: {min_notice: 1h}
`, t, t, eps.String()))
	}

	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 256, MaxIdleConnsPerHost: 256}}
	var caller atomic.Int64
	// drive sends total missed calls at rate (open loop) and waits for every auto-reply;
	// it returns the achieved rate, the latencies and the failed requests.
	drive := func(rate, total int) (float64, []time.Duration, int64) {
		before := len(fake.Messages())
		sentAt := sync.Map{}
		var failed atomic.Int64
		var wg sync.WaitGroup
		// Each call has its due time on a fixed schedule; a generator that fell behind (the
		// cores are shared) sends what is due at once rather than skipping, and latency
		// counts from the due time, so a stalled engine cannot hide its queue by slowing
		// the generator down (coordinated omission).
		interval := time.Second / time.Duration(rate)
		start := time.Now()
		for i := range total {
			due := start.Add(time.Duration(i) * interval)
			time.Sleep(time.Until(due))
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := caller.Add(1)
				from := fmt.Sprintf("+1737%03d%04d", 200+n/10000, n%10000)
				form := url.Values{"CallSid": {fmt.Sprintf("CA%032d", n)}, "From": {from}, "To": {numbers[i%len(numbers)]}, "CallStatus": {"no-answer"}}
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/twilio/voice", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Twilio-Signature", twilio.Sign(twilioToken, srv.URL+"/webhooks/twilio/voice", form))
				sentAt.Store(from, due)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body) // an unread body closes the connection
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}()
		}
		wg.Wait()
		achieved := float64(total) / time.Since(start).Seconds()
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		msgs, err := fake.WaitForMessages(ctx, before+total-int(failed.Load()))
		require.NoError(b, err, "every accepted missed call gets its auto-reply")
		var lat []time.Duration
		for _, m := range msgs[before:] {
			if t0, ok := sentAt.Load(m.To); ok {
				lat = append(lat, m.ReceivedAt.Sub(t0.(time.Time)))
			}
		}
		slices.Sort(lat)
		return achieved, lat, failed.Load()
	}
	// Warm up: one call per business number activates the resource actors and fills the
	// caches, as a running engine has them; not measured.
	drive(250, len(numbers))

	for _, rate := range benchRates() {
		b.Run(fmt.Sprintf("rate-%d", rate), func(b *testing.B) {
			achieved, lat, failed := drive(rate, rate*benchSeconds())
			q := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(achieved, "calls/s")
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.95), "p95-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(failed), "failed")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchSeconds is how long each rate is driven; MISSED_CALL_SECONDS=30 overrides the 5 s.
func benchSeconds() int {
	if n, err := strconv.Atoi(os.Getenv("MISSED_CALL_SECONDS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// benchRates are the missed-call rates to drive; MISSED_CALL_RATES=300,600 overrides.
func benchRates() []int {
	v := os.Getenv("MISSED_CALL_RATES")
	if v == "" {
		return []int{100, 250, 500, 1000}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}
