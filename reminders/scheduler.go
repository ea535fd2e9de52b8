package reminders

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"ringback/clock"
	"ringback/metrics"
)

// Kinds of a reminder row.
const (
	KindReminder = "reminder" // a text to the customer
	KindDeadline = "deadline" // the visit counts as unconfirmed if nobody answered by now
)

// Key names one reminder row: the appointment at one version (one time), its kind and
// the policy offset it stands for.
type Key struct {
	AppointmentID uuid.UUID
	Version       int64
	Kind          string
	Offset        time.Duration
}

// ClientMessageID is the id of the SMS a reminder becomes (or of the owner alert a
// deadline raises): derived from the key, so however often a reminder is handed over,
// the outbox holds one message for it.
func (k Key) ClientMessageID() string {
	return fmt.Sprintf("%s:%s:%d:%d", k.Kind, k.AppointmentID, k.Version, int64(k.Offset/time.Second))
}

// Claimed is a due reminder claimed by a scheduler, with the appointment as it is now.
type Claimed struct {
	Key
	TenantID, ResourceID string
	Endpoint, Phone      string // from, to
	Due                  time.Time
	// Current says the appointment is booked and still at Key.Version; a reminder that
	// is not current is about a time that no longer holds and is skipped.
	Current     bool
	ServiceID   string
	Start, End  time.Time
	QuoteMinor  int64
	Currency    string
	ConfirmedAt time.Time
	// Asked (deadlines) says a reminder of this version was sent before the deadline.
	Asked bool
}

// Outcome is how a claimed reminder ended: sent (handed to the outbox, or for a
// deadline, flagged and the owner alerted) or skipped with a reason.
type Outcome struct {
	Sent   bool
	Reason string
}

// Why a claimed reminder is skipped.
const (
	SkipStale     = "stale"     // the visit moved or was cancelled after it was claimed
	SkipConfirmed = "confirmed" // a deadline whose visit was confirmed
	SkipNotAsked  = "not_asked" // a deadline with no reminder sent before it
)

// Store is what the scheduler needs of Postgres.
type Store interface {
	// ClaimDue claims up to limit reminders due at now, and those whose claim lapsed,
	// until now+lease (FOR UPDATE SKIP LOCKED: schedulers on several nodes never claim
	// the same row), oldest due first.
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Claimed, error)
	// Finish records how a claimed reminder ended. A row replaced or cancelled since
	// (a reschedule, a cancel) keeps that state.
	Finish(ctx context.Context, k Key, o Outcome, at time.Time) error
	// Overdue counts reminders due before `before` and not yet finished, and the due time
	// of the oldest (zero when none).
	Overdue(ctx context.Context, before time.Time) (int, time.Time, error)
}

// Dispatcher carries out claimed reminders.
type Dispatcher interface {
	// Remind hands a reminder to the conversation that texts it and returns once its SMS
	// is committed to the outbox, or decided against (opted out).
	Remind(ctx context.Context, r Claimed) (Outcome, error)
	// Deadline flags a visit whose confirmation deadline passed unanswered and alerts
	// the business.
	Deadline(ctx context.Context, r Claimed) (Outcome, error)
}

// Config tunes a Scheduler.
type Config struct {
	Batch       int           // reminders claimed per round; default 500
	Parallel    int           // reminders handed over at once; default 32
	Lease       time.Duration // a claim's life: a dead scheduler's claims are taken over after it; default 2m
	OverdueFor  time.Duration // due this long and not finished counts as overdue; default 5m
	CallTimeout time.Duration // per hand-over; default 10s
}

// Scheduler hands due reminders to the conversations. Every node may run one: claims
// never overlap, and a reminder handed over twice (a scheduler died between hand-over
// and Finish) is one SMS, because its client message id is its key.
type Scheduler struct {
	cfg     Config
	store   Store
	to      Dispatcher
	clock   clock.Clock
	metrics *metrics.Metrics
	log     *slog.Logger
	mu      sync.Mutex // one round at a time
}

// NewScheduler returns a scheduler; Tick runs one round, Run runs rounds until ctx ends.
func NewScheduler(cfg Config, store Store, to Dispatcher, clk clock.Clock, m *metrics.Metrics, log *slog.Logger) *Scheduler {
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 32
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.OverdueFor <= 0 {
		cfg.OverdueFor = 5 * time.Minute
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	return &Scheduler{cfg: cfg, store: store, to: to, clock: clk, metrics: m, log: log}
}

// Run ticks every interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reminders: a round failed; the next one retries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick claims what is due now and hands it over, batch after batch until nothing due is
// left, then refreshes the overdue gauges. It returns how many reminders it finished.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := 0
	for {
		now := s.clock.Now()
		batch, err := s.store.ClaimDue(ctx, now, s.cfg.Lease, s.cfg.Batch)
		if err != nil {
			return done, fmt.Errorf("claim due reminders: %w", err)
		}
		done += s.handOver(ctx, batch)
		if len(batch) < s.cfg.Batch || ctx.Err() != nil {
			break
		}
	}
	return done, s.gauge(ctx)
}

// handOver dispatches a batch, cfg.Parallel at a time, and finishes each reminder that
// was carried out; one that failed keeps its claim and is retried when the claim lapses.
func (s *Scheduler) handOver(ctx context.Context, batch []Claimed) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	finished := 0
	sem := make(chan struct{}, s.cfg.Parallel)
	for _, r := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if s.one(ctx, r) {
				mu.Lock()
				finished++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return finished
}

func (s *Scheduler) one(ctx context.Context, r Claimed) bool {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	var o Outcome
	var err error
	switch {
	case !r.Current:
		o = Outcome{Reason: SkipStale}
	case r.Kind == KindDeadline && !r.ConfirmedAt.IsZero():
		o = Outcome{Reason: SkipConfirmed}
	case r.Kind == KindDeadline && !r.Asked:
		o = Outcome{Reason: SkipNotAsked}
	case r.Kind == KindDeadline:
		o, err = s.to.Deadline(ctx, r)
	default:
		o, err = s.to.Remind(ctx, r)
	}
	if err != nil {
		s.log.Warn("reminders: hand-over failed; retried when its claim lapses", "appointment", r.AppointmentID, "kind", r.Kind, "err", err)
		return false
	}
	if err := s.store.Finish(ctx, r.Key, o, s.clock.Now()); err != nil {
		// The SMS is committed; the lapsed claim hands it over again, which sends nothing twice.
		s.log.Warn("reminders: could not record the outcome", "appointment", r.AppointmentID, "kind", r.Kind, "err", err)
		return false
	}
	switch {
	case r.Kind == KindDeadline && o.Sent:
		s.metrics.Reminders.WithLabelValues("unconfirmed").Inc()
	case r.Kind == KindDeadline:
	case o.Sent:
		s.metrics.Reminders.WithLabelValues("sent").Inc()
	default:
		s.metrics.Reminders.WithLabelValues("skipped").Inc()
	}
	return true
}

// gauge refreshes ringback_reminders_overdue and ringback_reminders_oldest_overdue_seconds:
// due for longer than cfg.OverdueFor and not handed over (the silent failure the alert
// watches).
func (s *Scheduler) gauge(ctx context.Context) error {
	now := s.clock.Now()
	n, oldest, err := s.store.Overdue(ctx, now.Add(-s.cfg.OverdueFor))
	if err != nil {
		return fmt.Errorf("overdue reminders: %w", err)
	}
	s.metrics.RemindersOverdue.Set(float64(n))
	age := 0.0
	if !oldest.IsZero() {
		age = now.Sub(oldest).Seconds()
	}
	s.metrics.RemindersOldestOverdue.Set(age)
	return nil
}
