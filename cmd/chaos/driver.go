package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ringback/comms/twilio"
)

// The generated tenant: one business with businessNumbers numbers and resourceCount
// resources open around the clock, every resource on its own Google calendar, every
// appointment in Jobber. Holds live holdTTL so the unconfirmed ones expire during a run.
const (
	tenantID        = "chaos"
	bookingKey      = "chaos-booking-key-0123456789"
	adminToken      = "chaos-admin-token"
	serviceID       = "visit"
	businessNumbers = 10
	resourceCount   = 20
	holdTTL         = time.Minute
	horizonDays     = 60
	firstHoldDay    = 2 // holds take days 2.. (auto-replies offer today and tomorrow)
)

func businessNumber(i int) string { return fmt.Sprintf("+1512%03d%04d", 360, i) }
func callerNumber(i int) string   { return fmt.Sprintf("+1737%03d%04d", 200+i/10000, i%10000) }
func holdPhone(i int) string      { return fmt.Sprintf("+1737%03d%04d", 600+i/10000, i%10000) }
func resourceID(i int) string     { return fmt.Sprintf("r%02d", i) }
func calendarID(i int) string     { return fmt.Sprintf("%s@chaos.example", resourceID(i)) }

// tenantYAML is the tenant's configuration.
func tenantYAML() string {
	var b strings.Builder
	b.WriteString("id: " + tenantID + "\nname: Chaos Plumbing\ntimezone: UTC\nendpoints:\n")
	for i := range businessNumbers {
		fmt.Fprintf(&b, "  - {number: \"%s\", default_service: %s, send_rate: 100}\n", businessNumber(i), serviceID)
	}
	b.WriteString("services:\n  - {id: " + serviceID + ", name: Visit, duration: 60m, price: {base: 100, per_hour: 40, currency: USD}}\nresources:\n")
	days := ""
	for i, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		if i > 0 {
			days += ", "
		}
		days += d + `: ["00:00-24:00"]`
	}
	for i := range resourceCount {
		fmt.Fprintf(&b, "  - {id: %s, name: R%d, services: [%s], hours: {%s}, calendar: {connection: chaos-google, calendar_id: \"%s\"}}\n",
			resourceID(i), i, serviceID, days, calendarID(i))
	}
	fmt.Fprintf(&b, "policies: {hold_ttl: %s, slot_step: 30m, min_notice: 1h, horizon: %dd, offer_count: 3, auto_reply_cooldown: 24h}\n", holdTTL, horizonDays)
	b.WriteString("booking_api_key: \"" + bookingKey + "\"\n")
	b.WriteString("connections:\n  - {id: chaos-google, provider: google, credentials: {refresh_token: rt-google}}\n  - {id: chaos-jobber, provider: jobber, credentials: {refresh_token: rt-jobber}}\n")
	return b.String()
}

// callRec is one missed-call webhook sent.
type callRec struct {
	sid, from, to string
	phase         string
	start, end    time.Time
	status        int // 0: no answer (connection refused, reset, timeout)
}

// holdRec is one booking-API hold, and its confirm when one was sent.
type holdRec struct {
	key, phone    string
	phase         string
	start         time.Time
	status        int
	id            string
	confirmStatus int // 0: not sent or no answer
	confirmSent   bool
	appointmentID string
}

// driver sends the load: missed calls and holds+confirms at fixed rates, recording every
// answer. Only 2xx answers create obligations for the final checks.
type driver struct {
	base, publicURL, twilioToken string
	client                       *http.Client
	day0                         time.Time

	phase  atomic.Pointer[string]
	paused atomic.Bool

	callN, holdN atomic.Int64
	mu           sync.Mutex
	calls        []*callRec
	holds        []*holdRec
	wg           sync.WaitGroup
}

func (d *driver) setPhase(p string) { d.phase.Store(&p) }
func (d *driver) currentPhase() string {
	if p := d.phase.Load(); p != nil {
		return *p
	}
	return ""
}

// run drives both streams until ctx ends; each request runs in its own goroutine (open
// loop), so a hanging engine does not slow the offered load.
func (d *driver) run(ctx context.Context, callRate, holdRate int) {
	tick := func(rate int, f func()) {
		defer d.wg.Done()
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if d.paused.Load() {
					continue
				}
				d.wg.Add(1)
				go func() { defer d.wg.Done(); f() }()
			}
		}
	}
	d.wg.Add(2)
	go tick(callRate, func() { d.missedCall() })
	go tick(holdRate, func() { d.holdAndConfirm() })
}

// wait waits for the requests in flight after run's ctx ended.
func (d *driver) wait() { d.wg.Wait() }

// missedCall sends one signed missed-call webhook from a new caller and returns its record.
func (d *driver) missedCall() *callRec {
	n := int(d.callN.Add(1))
	rec := &callRec{sid: fmt.Sprintf("CA%032d", n), from: callerNumber(n), to: businessNumber(n % businessNumbers), phase: d.currentPhase()}
	form := url.Values{"CallSid": {rec.sid}, "From": {rec.from}, "To": {rec.to}, "CallStatus": {"no-answer"}, "AccountSid": {"AC" + strings.Repeat("0", 32)}}
	req, _ := http.NewRequest(http.MethodPost, d.base+"/webhooks/twilio/voice", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(d.twilioToken, d.publicURL+"/webhooks/twilio/voice", form))
	rec.start = time.Now()
	rec.status, _ = d.do(req)
	rec.end = time.Now()
	d.mu.Lock()
	d.calls = append(d.calls, rec)
	d.mu.Unlock()
	return rec
}

// holdAndConfirm holds the next free slot and confirms four holds in five (the fifth is
// left to expire).
func (d *driver) holdAndConfirm() {
	n := int(d.holdN.Add(1)) - 1
	r, k := n%resourceCount, n/resourceCount
	start := d.day0.Add(time.Duration(firstHoldDay*24+k) * time.Hour)
	rec := &holdRec{key: fmt.Sprintf("chaos-hold-%d", n), phone: holdPhone(n), phase: d.currentPhase(), start: start}
	defer func() {
		d.mu.Lock()
		d.holds = append(d.holds, rec)
		d.mu.Unlock()
	}()
	body, _ := json.Marshal(map[string]any{"service": serviceID, "starts_at": start.Format(time.RFC3339), "resource_id": resourceID(r),
		"customer": map[string]string{"phone": rec.phone, "name": fmt.Sprintf("Chaos %d", n)}})
	req, _ := http.NewRequest(http.MethodPost, d.base+"/api/v1/tenants/"+tenantID+"/reservations", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bookingKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", rec.key)
	status, out := d.do(req)
	rec.status = status
	if status/100 != 2 {
		return
	}
	var res struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(out, &res) != nil || res.ID == "" {
		return
	}
	rec.id = res.ID
	if n%5 == 4 {
		return
	}
	rec.confirmSent = true
	req, _ = http.NewRequest(http.MethodPost, d.base+"/api/v1/tenants/"+tenantID+"/reservations/"+res.ID+"/confirm", nil)
	req.Header.Set("Authorization", "Bearer "+bookingKey)
	req.Header.Set("Idempotency-Key", rec.key+"-confirm")
	status, out = d.do(req)
	rec.confirmStatus = status
	if status/100 == 2 {
		var c struct {
			Appointment struct {
				ID string `json:"id"`
			} `json:"appointment"`
		}
		if json.Unmarshal(out, &c) == nil {
			rec.appointmentID = c.Appointment.ID
		}
	}
}

// do sends req and returns the status (0 when no answer came) and the body.
func (d *driver) do(req *http.Request) (int, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := d.client.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b
}

// snapshot copies the records.
func (d *driver) snapshot() ([]*callRec, []*holdRec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*callRec(nil), d.calls...), append([]*holdRec(nil), d.holds...)
}

// statusCounts counts statuses ("2xx" folded by exact code, 0 as "no answer").
func statusCounts(statuses []int) map[string]int {
	m := map[string]int{}
	for _, s := range statuses {
		if s == 0 {
			m["no answer"]++
		} else {
			m[fmt.Sprint(s)]++
		}
	}
	return m
}
