package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"ringback/fakes/twiliofake"
)

// pair names one conversation: the customer's phone and the business number.
type pair struct{ customer, business string }

// sms is one message the engine sent, as the harness saw it arrive.
type sms struct {
	From, To, Body string
	At             time.Time
}

// inbox files the engine's SMS by conversation and lets the simulated customers read
// them in order, each message once.
type inbox struct {
	mu    sync.Mutex
	boxes map[pair]*mailbox
	total int
}

type mailbox struct {
	msgs    []sms
	read    int
	arrived chan struct{} // closed and replaced when a message arrives
}

func newInbox() *inbox { return &inbox{boxes: map[pair]*mailbox{}} }

func (in *inbox) box(p pair) *mailbox {
	b, ok := in.boxes[p]
	if !ok {
		b = &mailbox{arrived: make(chan struct{})}
		in.boxes[p] = b
	}
	return b
}

// deliver files a message the engine sent.
func (in *inbox) deliver(m sms) {
	in.mu.Lock()
	defer in.mu.Unlock()
	b := in.box(pair{customer: m.To, business: m.From})
	b.msgs = append(b.msgs, m)
	in.total++
	close(b.arrived)
	b.arrived = make(chan struct{})
}

// next returns the first message to p not read yet, waiting for it until ctx ends.
func (in *inbox) next(ctx context.Context, p pair) (sms, error) {
	for {
		in.mu.Lock()
		b := in.box(p)
		if b.read < len(b.msgs) {
			m := b.msgs[b.read]
			b.read++
			in.mu.Unlock()
			return m, nil
		}
		arrived := b.arrived
		in.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return sms{}, ctx.Err()
		}
	}
}

// all returns every message sent to p so far.
func (in *inbox) all(p pair) []sms {
	in.mu.Lock()
	defer in.mu.Unlock()
	if b, ok := in.boxes[p]; ok {
		return append([]sms(nil), b.msgs...)
	}
	return nil
}

// count is the number of messages received in all.
func (in *inbox) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.total
}

// twilioSink is the fake Twilio the engine subprocess sends through: fakes/twiliofake on a
// loopback listener of the harness, every accepted message also filed in the inbox with
// the instant its POST arrived.
type twilioSink struct {
	fake *twiliofake.Server
	srv  *httptest.Server
}

// statusCallbackDelay paces the fake's status callbacks as Twilio does ("sent" about a
// second after accepting the message, "delivered" after that).
const statusCallbackDelay = time.Second

func startTwilioSink(accountSID, authToken string, in *inbox, callbacks bool) *twilioSink {
	fake := twiliofake.NewUnstarted(accountSID, authToken)
	if callbacks {
		fake.SetCallbackDelay(statusCallbackDelay)
	} else {
		fake.DisableCallbacks()
	}
	h := fake.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		// Parsed here, the form stays on the request for the fake (ParseForm reads the body once).
		_ = r.ParseForm()
		// Filed as the fake answers 201, before the answer leaves: the message is in the
		// inbox by the time the engine knows it was accepted.
		h.ServeHTTP(&statusWriter{ResponseWriter: w, onStatus: func(code int) {
			if code == http.StatusCreated {
				in.deliver(sms{From: r.PostForm.Get("From"), To: r.PostForm.Get("To"), Body: r.PostForm.Get("Body"), At: at})
			}
		}}, r)
	}))
	return &twilioSink{fake: fake, srv: srv}
}

func (s *twilioSink) URL() string { return s.srv.URL }

// Close stops taking messages, then waits for the status callbacks in flight.
func (s *twilioSink) Close() {
	s.srv.Close()
	s.fake.Close()
}

// statusWriter calls onStatus with the status of an answer before it is written.
type statusWriter struct {
	http.ResponseWriter
	onStatus func(int)
	wrote    bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.onStatus(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the fake flushes).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// pollInterval is how often pollDeliveries reads the outbox. The deliveries table has no
// index on updated_at, so each poll scans it: 100 ms keeps that cheap.
const pollInterval = 100 * time.Millisecond

// pollDeliveries feeds the inbox from Postgres until ctx ends. With --target the harness
// does not stand in for the engine's SMS provider, so a message counts as sent when its
// outbox row leaves pending/sending, at the row's updated_at (the database clock; the
// same machine's in practice). Latencies measured this way are coarser than at the fake.
func pollDeliveries(ctx context.Context, pool *pgxpool.Pool, tenants []string, in *inbox, warn func(error)) {
	seen := map[string]bool{}
	since := time.Now().Add(-time.Minute)
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		rows, err := pool.Query(ctx, `SELECT client_message_id, from_number, to_number, body, updated_at
			FROM conversation.deliveries
			WHERE tenant_id = ANY($1) AND updated_at >= $2 AND status NOT IN ('pending', 'sending', 'suppressed')
			ORDER BY updated_at`, tenants, since)
		if err == nil {
			latest := since
			for rows.Next() {
				var id string
				var m sms
				if err = rows.Scan(&id, &m.From, &m.To, &m.Body, &m.At); err != nil {
					break
				}
				latest = laterOf(latest, m.At)
				if !seen[id] {
					seen[id] = true
					in.deliver(m)
				}
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
			// Rows committed late may carry an earlier updated_at: look back a little.
			since = latest.Add(-2 * time.Second)
		}
		if err != nil && ctx.Err() == nil {
			warn(fmt.Errorf("reading the outbox: %w", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
