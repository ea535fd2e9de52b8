// Package comms is the messaging adapter: it sends what the conversations committed to the
// outbox, through Twilio (comms/twilio) or the sandbox, at each sender's allowed rate, with
// retries, and never to a number that opted out before the send.
package comms

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"ringback/analytics"
	"ringback/clock"
	"ringback/comms/twilio"
	"ringback/metrics"
	"ringback/tracing"
)

// Delivery is one outbound SMS of the outbox.
type Delivery struct {
	ClientMessageID string
	TenantID        string
	From, To, Body  string
	Kind            string // auto_reply | reply | compliance
	Status          string
	Attempts        int
	TriggerAt       time.Time // when the webhook behind an auto-reply arrived; zero otherwise
	ConversationID  string    // the conversation that decided it (the subject of its events)
	CorrelationID   string    // the correlation id of the webhook behind it; "" if none
	TraceParent     string    // W3C traceparent of the conversation step that decided it; "" if untraced
}

// Store is what the outbox needs of Postgres.
type Store interface {
	// ClaimDelivery moves a pending delivery to sending (ok) or to suppressed when its
	// recipient opted out meanwhile (not ok); not ok also when it is not pending.
	ClaimDelivery(ctx context.Context, id string) (Delivery, bool, error)
	// ReclaimDelivery claims a delivery that is pending or already sending: after a claim
	// whose outcome is unknown (the connection dropped with the commit in flight), the
	// row may be ours in 'sending', and nothing else would ever send it.
	ReclaimDelivery(ctx context.Context, id string) (Delivery, bool, error)
	// DeliveryAccepted records the provider's acceptance and returns the status stored:
	// status, or a later one a receipt that arrived first had already reported.
	DeliveryAccepted(ctx context.Context, id, sid, status string) (string, error)
	DeliveryFailed(ctx context.Context, id string, code int) error
	DeliveryRetry(ctx context.Context, id string, at time.Time, code int) error
	// DeliveryDeferred puts a claimed delivery back to pending without counting the claim
	// as an attempt (it waited for its sender's rate, it was not tried).
	DeliveryDeferred(ctx context.Context, id string, at time.Time) error
	// DeliverySuppressed marks a claimed delivery suppressed: it is not to be sent.
	DeliverySuppressed(ctx context.Context, id string) error
}

// Sender hands one message to the provider.
type Sender interface {
	Send(ctx context.Context, m twilio.Message) (twilio.Sent, error)
}

// Config tunes the outbox.
type Config struct {
	Workers     int                       // concurrent sends; default 16
	MaxAttempts int                       // before a retryable failure becomes permanent; default 20 (about an hour of backoff)
	RateFor     func(from string) float64 // messages/second allowed for a sender; default 1
	// StatusCallback is the URL the provider posts delivery receipts to ("" for none).
	StatusCallback string
	// OnOptedOut is told when the provider refuses a send because the recipient opted out.
	OnOptedOut func(tenantID, from, to string)
	// Events receives a delivery.status each time a delivery moves forward here (accepted,
	// refused, suppressed), once that is recorded in Postgres (nil: analytics.Nop{}).
	Events analytics.Recorder
	// Current, if set, is asked right before a reminder is sent whether it is still about
	// the visit as it is now; one that is not (the visit moved or was cancelled since the
	// reminder was queued) is suppressed, never sent.
	Current func(ctx context.Context, d Delivery) (bool, error)
}

// bulkKind is the kind sent with the tokens conversation messages leave: reminders may
// wait seconds or minutes at a busy sender; a missed call's answer may not.
const bulkKind = "reminder"

// Outbox sends committed deliveries.
type Outbox struct {
	cfg     Config
	store   Store
	sender  Sender
	clock   clock.Clock
	metrics *metrics.Metrics
	log     *slog.Logger

	queue chan job
	done  chan struct{} // closed by Close; queue itself is never closed
	wg    sync.WaitGroup

	mu       sync.Mutex
	reclaim  map[string]bool // deliveries whose last claim failed with an unknown outcome
	limiters map[string]*senderBucket
	bulk     map[string]*bulkQueue // per sender: reminders waiting for a token
	closed   bool
	pending  int        // deliveries enqueued or scheduled and not yet finished
	idle     *sync.Cond // signalled when pending drops to zero
}

// job is a delivery for a worker; token says it already holds its sender's token (its
// turn came, or a reminder's line gave it one).
type job struct {
	id    string
	token bool
}

// bulkQueue is one sender's reminders in the order they came, and whether its tick is armed.
type bulkQueue struct {
	ids   []string
	armed bool
}

// NewOutbox starts the workers.
func NewOutbox(cfg Config, store Store, sender Sender, clk clock.Clock, m *metrics.Metrics, log *slog.Logger) *Outbox {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 20
	}
	if cfg.RateFor == nil {
		cfg.RateFor = func(string) float64 { return 1 }
	}
	if cfg.Events == nil {
		cfg.Events = analytics.Nop{}
	}
	o := &Outbox{cfg: cfg, store: store, sender: sender, clock: clk, metrics: m, log: log,
		queue: make(chan job, 1<<16), done: make(chan struct{}), limiters: map[string]*senderBucket{}, reclaim: map[string]bool{},
		bulk: map[string]*bulkQueue{}}
	o.idle = sync.NewCond(&o.mu)
	for range cfg.Workers {
		o.wg.Add(1)
		go o.work()
	}
	return o
}

// Enqueue asks for the deliveries to be sent. It blocks while the queue is full.
func (o *Outbox) Enqueue(ids ...string) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return // a later start recovers what is still pending
	}
	o.pending += len(ids)
	o.mu.Unlock()
	for _, id := range ids {
		o.push(job{id: id})
	}
}

// push queues one counted delivery, or drops it (still pending in Postgres, recovered by
// the next start) once the outbox is closing.
func (o *Outbox) push(j job) {
	select {
	case o.queue <- j:
	case <-o.done:
		o.finished()
	}
}

// finished marks one enqueued delivery as handled.
func (o *Outbox) finished() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending--
	if o.pending == 0 {
		o.idle.Broadcast()
	}
}

// Idle waits until every enqueued delivery has been sent or has failed for good,
// including those waiting for a backoff or their sender's rate (with a fake clock, advance
// it). Tests use it as a signal.
func (o *Outbox) Idle() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.pending > 0 {
		o.idle.Wait()
	}
}

// later enqueues id after d (a rate-limit wait or a retry backoff); it stays pending.
func (o *Outbox) later(d time.Duration, id string) {
	o.mu.Lock()
	o.pending++
	o.mu.Unlock()
	o.clock.AfterFunc(d, func() { o.push(job{id: id}) })
}

// laterWithToken is later for a delivery whose token is reserved for that moment.
func (o *Outbox) laterWithToken(d time.Duration, id string) {
	o.mu.Lock()
	o.pending++
	o.mu.Unlock()
	o.clock.AfterFunc(d, func() { o.push(job{id: id, token: true}) })
}

// Close stops taking work and waits for the sends in progress. Deliveries still pending
// stay in Postgres and are recovered by the next start.
func (o *Outbox) Close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	o.mu.Unlock()
	close(o.done)
	o.wg.Wait()
	// Deliveries still queued stay pending in Postgres for the next start.
	for {
		select {
		case <-o.queue:
			o.finished()
		default:
			return
		}
	}
}

func (o *Outbox) work() {
	defer o.wg.Done()
	for {
		select {
		case <-o.done:
			return
		case j := <-o.queue:
			o.deliver(j)
			o.finished()
		}
	}
}

// senderBucket is a sender's token bucket and when its rate was last read.
type senderBucket struct {
	l      *rate.Limiter
	readAt time.Time
}

// rateRefresh is how often a sender's rate is read again: a config applied since, or (in
// a cluster) the number of engines sharing the sender, may have changed it.
const rateRefresh = time.Minute

// limiter is the sender's token bucket. RateFor may query Postgres, so it runs outside the
// lock; a rate of zero or less falls back to 1 message/second.
func (o *Outbox) limiter(from string) *rate.Limiter {
	now := o.clock.Now()
	o.mu.Lock()
	s, ok := o.limiters[from]
	o.mu.Unlock()
	if ok && now.Sub(s.readAt) < rateRefresh {
		return s.l
	}
	r := o.cfg.RateFor(from)
	if r <= 0 {
		r = 1
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if s, ok := o.limiters[from]; ok {
		if now.Sub(s.readAt) >= rateRefresh {
			s.l.SetLimitAt(now, rate.Limit(r))
			s.l.SetBurstAt(now, max(1, int(r)))
			s.readAt = now
		}
		return s.l
	}
	s = &senderBucket{l: rate.NewLimiter(rate.Limit(r), max(1, int(r))), readAt: now}
	o.limiters[from] = s
	return s.l
}

func (o *Outbox) deliver(j job) {
	id := j.id
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o.mu.Lock()
	reclaim := o.reclaim[id]
	delete(o.reclaim, id)
	o.mu.Unlock()
	claim := o.store.ClaimDelivery
	if reclaim {
		claim = o.store.ReclaimDelivery
	}
	d, ok, err := claim(ctx, id)
	if err != nil {
		o.log.Error("outbox: claim failed; retrying", "delivery", id, "err", err)
		o.mu.Lock()
		o.reclaim[id] = true
		o.mu.Unlock()
		o.later(time.Second, id)
		return
	}
	log := o.log
	if d.CorrelationID != "" {
		log = log.With("correlation_id", d.CorrelationID)
	}
	if !ok {
		if d.Status == "suppressed" {
			log.Info("outbox: recipient opted out before the send; suppressed", "delivery", id)
			o.recordStatus(d, "suppressed", 0, o.clock.Now())
		}
		return
	}
	now := o.clock.Now()
	if d.Kind == bulkKind {
		if o.cfg.Current != nil {
			if current, err := o.cfg.Current(ctx, d); err == nil && !current {
				log.Info("outbox: the reminder's visit changed since it was queued; suppressed", "delivery", id)
				if err := o.store.DeliverySuppressed(ctx, id); err != nil {
					log.Error("outbox: suppressing a stale reminder failed", "delivery", id, "err", err)
				} else {
					o.recordStatus(d, "suppressed", 0, now)
				}
				return
			}
		}
		if !j.token && !o.bulkToken(d.From, now) {
			o.toBulk(ctx, d, now)
			return
		}
		j.token = true
	}
	// The per-sender token bucket. Waiting here would hold a worker: give the token back
	// and come back when one is due. The claim (and its opt-out check) is redone then, right
	// before the send.
	// The token is kept for the delivery's turn: deliveries waiting for one sender go in
	// the order they came, each when its own token is due, instead of all waking together
	// to contend for the next one.
	if !j.token {
		if r := o.limiter(d.From).ReserveN(now, 1); r.OK() {
			if wait := r.DelayFrom(now); wait > 0 {
				if err := o.store.DeliveryDeferred(ctx, id, now.Add(wait)); err != nil {
					log.Error("outbox: deferring for the sender's rate failed", "delivery", id, "err", err)
				}
				o.laterWithToken(wait, id)
				return
			}
		}
	}
	sent, err := o.send(ctx, d)
	now = o.clock.Now()
	switch {
	case err == nil:
		if status, err := o.store.DeliveryAccepted(ctx, id, sent.SID, sent.Status); err != nil {
			log.Error("outbox: recording the send failed", "delivery", id, "err", err)
		} else if status != "" {
			o.recordStatus(d, statusLabel(status), 0, now)
		}
		o.metrics.SMSDeliveries.WithLabelValues(statusLabel(sent.Status)).Inc()
		if !d.TriggerAt.IsZero() {
			o.metrics.AutoSMSLatency.WithLabelValues(o.metrics.Tenant(d.TenantID)).Observe(now.Sub(d.TriggerAt).Seconds())
		}
	case errors.Is(err, twilio.ErrOptedOut):
		o.metrics.SMSDeliveries.WithLabelValues("failed").Inc()
		if err := o.store.DeliveryFailed(ctx, id, 21610); err != nil {
			log.Error("outbox: recording the failure failed", "delivery", id, "err", err)
		} else {
			o.recordStatus(d, "failed", 21610, now)
		}
		if o.cfg.OnOptedOut != nil {
			o.cfg.OnOptedOut(d.TenantID, d.From, d.To)
		}
	case twilio.IsRetryable(err) && d.Attempts < o.cfg.MaxAttempts:
		wait := backoff(d.Attempts)
		log.Warn("outbox: send failed; retrying", "delivery", id, "attempt", d.Attempts, "in", wait, "err", err)
		if err := o.store.DeliveryRetry(ctx, id, now.Add(wait), 0); err != nil {
			log.Error("outbox: requeue failed", "delivery", id, "err", err)
		}
		o.later(wait, id)
	default:
		log.Error("outbox: send failed for good", "delivery", id, "attempts", d.Attempts, "err", err)
		o.metrics.SMSDeliveries.WithLabelValues("failed").Inc()
		if err := o.store.DeliveryFailed(ctx, id, 0); err != nil {
			log.Error("outbox: recording the failure failed", "delivery", id, "err", err)
		} else {
			var se *twilio.SendError
			code := 0
			if errors.As(err, &se) {
				code = se.Code
			}
			o.recordStatus(d, "failed", code, now)
		}
	}
}

// bulkToken takes a token of from's bucket for a reminder if one is free now and no
// earlier reminder of from waits for one.
func (o *Outbox) bulkToken(from string, now time.Time) bool {
	l := o.limiter(from)
	o.mu.Lock()
	defer o.mu.Unlock()
	if q := o.bulk[from]; q != nil && len(q.ids) > 0 {
		return false
	}
	return l.AllowN(now, 1)
}

// toBulk puts a claimed reminder back to pending and in line behind its sender's other
// reminders; the sender's tick hands the line a token at a time, whenever the bucket has
// one that conversation messages did not take. A reminder waits in memory only: after a
// restart it is pending in Postgres and recovered like any other delivery.
func (o *Outbox) toBulk(ctx context.Context, d Delivery, now time.Time) {
	l := o.limiter(d.From)
	every := time.Duration(float64(time.Second) / float64(l.Limit()))
	o.mu.Lock()
	q := o.bulk[d.From]
	if q == nil {
		q = &bulkQueue{}
		o.bulk[d.From] = q
	}
	q.ids = append(q.ids, d.ClientMessageID)
	eta := now.Add(time.Duration(len(q.ids)) * every)
	arm := !q.armed
	q.armed = true
	o.pending++ // finished once a worker has sent it
	o.mu.Unlock()
	// Its expected turn, so the stranded-delivery sweep leaves it to the line.
	if err := o.store.DeliveryDeferred(ctx, d.ClientMessageID, eta.Add(time.Minute)); err != nil {
		o.log.Error("outbox: deferring a reminder failed", "delivery", d.ClientMessageID, "err", err)
	}
	if arm {
		o.clock.AfterFunc(every, func() { o.bulkTick(d.From, every) })
	}
}

// bulkTick hands the first reminder of from's line to a worker when a token is free,
// and comes back after another token interval while the line is not empty.
func (o *Outbox) bulkTick(from string, every time.Duration) {
	l := o.limiter(from)
	o.mu.Lock()
	q := o.bulk[from]
	if o.closed || len(q.ids) == 0 {
		q.armed = false
		o.mu.Unlock()
		return
	}
	var id string
	if l.AllowN(o.clock.Now(), 1) {
		id, q.ids = q.ids[0], q.ids[1:]
	}
	more := len(q.ids) > 0
	q.armed = more
	o.mu.Unlock()
	if id != "" {
		o.push(job{id: id, token: true}) // counted in pending since toBulk
	}
	if more {
		o.clock.AfterFunc(every, func() { o.bulkTick(from, every) })
	}
}

// send hands d to the provider under a twilio.send span, a child of the conversation step
// that decided d (its stored traceparent), with d's correlation id on the request.
func (o *Outbox) send(ctx context.Context, d Delivery) (twilio.Sent, error) {
	ctx, span := tracing.Tracer().Start(tracing.Extract(ctx, d.TraceParent), "twilio.send",
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(tracing.AttrCorrelationID.String(d.CorrelationID), tracing.AttrTenant.String(d.TenantID),
			attribute.String("ringback.delivery", d.ClientMessageID), attribute.Int("ringback.attempt", d.Attempts)))
	defer span.End()
	if d.CorrelationID != "" {
		ctx = twilio.WithCorrelationID(ctx, d.CorrelationID)
	}
	sent, err := o.sender.Send(ctx, twilio.Message{From: d.From, To: d.To, Body: d.Body, StatusCallback: o.cfg.StatusCallback})
	if err != nil {
		tracing.Fail(span, err)
	}
	return sent, err
}

// recordStatus reports a delivery's new status, which it reached at `at`, to the event
// log. A send's status is stamped with the provider's answer, before it is stored: a
// receipt applied once it is stored is recorded later and may reach the log first, but
// its occurred_at is never earlier.
func (o *Outbox) recordStatus(d Delivery, status string, code int, at time.Time) {
	o.cfg.Events.Record(analytics.Event{TenantID: d.TenantID, Kind: analytics.DeliveryStatus, OccurredAt: at,
		Subject: d.ConversationID, Data: analytics.DeliveryStatusData{
			ClientMessageID: d.ClientMessageID, MessageKind: d.Kind, Status: status, ErrorCode: code,
		}})
}

// backoff is capped exponential with full jitter: about 1s, 2s, 4s … up to 5 minutes.
func backoff(attempt int) time.Duration {
	ceiling := min(time.Second<<min(attempt, 9), 5*time.Minute)
	return ceiling/2 + rand.N(ceiling/2)
}

// statusLabel maps a provider status to the contract's label values.
func statusLabel(s string) string {
	switch s {
	case "queued", "accepted", "scheduled", "sending":
		return "queued"
	case "sent", "delivered", "undelivered", "failed", "sandbox":
		return s
	}
	return "queued"
}

// Sandbox is the sender of sandbox mode: nothing leaves the machine. It accepts every
// message with status "sandbox" and logs it without body or full number.
type Sandbox struct{ Log *slog.Logger }

func (s Sandbox) Send(_ context.Context, m twilio.Message) (twilio.Sent, error) {
	s.Log.Info("sandbox SMS (not sent)", "from", m.From, "to", twilio.MaskNumber(m.To), "chars", len(m.Body))
	return twilio.Sent{Status: "sandbox"}, nil
}
