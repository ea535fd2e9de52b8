package analytics

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"ringback/clock"
)

// Store appends events to the log (persistence.Analytics).
type Store interface {
	// InsertBatch appends events in order, all or none.
	InsertBatch(ctx context.Context, events []Event) error
}

// Drop reasons, the values of the reason label of ringback_events_dropped_total.
const (
	DropBufferFull  = "buffer_full"  // Record found the buffer full
	DropClosed      = "closed"       // Record after Close
	DropInvalid     = "invalid"      // no tenant, unknown kind, no subject, data not a JSON object
	DropWriteFailed = "write_failed" // Postgres refused the batch on every attempt
)

// Writer is the production Recorder: Record puts the event in a buffered channel and
// returns; one goroutine appends what it collects in batches (pgx CopyFrom), when
// BatchSize events wait or FlushInterval after the first of them, whichever comes first.
// A batch Postgres refuses is kept and tried again at the next interval, up to Attempts
// times, then dropped. Events dropped for any reason are counted in
// ringback_events_dropped_total{reason}. Close writes what is buffered.
//
// The log is best effort: at most Buffer events wait, and what waits when the process
// dies is lost. It never holds up an emitter.
type Writer struct {
	store     Store
	clock     clock.Clock
	log       *slog.Logger
	batchSize int
	interval  time.Duration
	attempts  int
	timeout   time.Duration
	buffer    int
	dropped   *prometheus.CounterVec
	drops     map[string]prometheus.Counter // dropped's children, resolved once

	mu      sync.RWMutex // held for reading by Record's send; for writing by Close
	closed  bool
	events  chan Event
	flushes chan chan error
	ticks   chan uint64
	stopped chan struct{}
	err     error // the final write's error, set before stopped is closed
}

// Option tunes a Writer.
type Option func(*Writer)

// WithBatchSize writes a batch as soon as n events wait (default 500).
func WithBatchSize(n int) Option { return func(w *Writer) { w.batchSize = n } }

// WithFlushInterval writes a partial batch d after its first event (default 250ms). It is
// also the wait before a refused batch is tried again.
func WithFlushInterval(d time.Duration) Option { return func(w *Writer) { w.interval = d } }

// WithBuffer lets n events wait for the writer before Record drops (default 8192). A batch
// kept for another attempt is capped at the same size.
func WithBuffer(n int) Option { return func(w *Writer) { w.buffer = n } }

// WithAttempts tries a batch n times before dropping it (default 3).
func WithAttempts(n int) Option { return func(w *Writer) { w.attempts = n } }

// WithWriteTimeout bounds one append (default 5s).
func WithWriteTimeout(d time.Duration) Option { return func(w *Writer) { w.timeout = d } }

// WithClock sets the clock for OccurredAt defaults and the flush timer (default the real one).
func WithClock(c clock.Clock) Option { return func(w *Writer) { w.clock = c } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(w *Writer) { w.log = l } }

// WithRegisterer registers ringback_events_dropped_total on reg (default: not registered),
// with a series per reason from the start. A registry that has it already (a second
// Writer) shares the existing counter.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(w *Writer) {
		if err := reg.Register(w.dropped); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
			w.dropped = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
}

// NewWriter starts the writer's goroutine; Close stops it.
func NewWriter(store Store, opts ...Option) *Writer {
	w := &Writer{
		store: store, clock: clock.Real{}, log: slog.Default(),
		batchSize: 500, interval: 250 * time.Millisecond, attempts: 3, timeout: 5 * time.Second, buffer: 8192,
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_events_dropped_total",
			Help: "Analytics events not appended to the event log, by reason (buffer_full, closed, invalid, write_failed).",
		}, []string{"reason"}),
	}
	for _, o := range opts {
		o(w)
	}
	w.batchSize = max(w.batchSize, 1)
	w.buffer = max(w.buffer, 1)
	w.attempts = max(w.attempts, 1)
	w.drops = map[string]prometheus.Counter{}
	for _, r := range []string{DropBufferFull, DropClosed, DropInvalid, DropWriteFailed} {
		w.drops[r] = w.dropped.WithLabelValues(r)
	}
	w.events = make(chan Event, w.buffer)
	w.flushes = make(chan chan error)
	w.ticks = make(chan uint64)
	w.stopped = make(chan struct{})
	go w.run()
	return w
}

// Record queues e for the log without blocking; it drops (and counts) e when it is
// invalid, the buffer is full, or the writer is closed.
func (w *Writer) Record(e Event) {
	if e.Check() != nil {
		w.drop(DropInvalid, 1)
		return
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = w.clock.Now()
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.drop(DropClosed, 1)
		return
	}
	select {
	case w.events <- e:
	default:
		w.drop(DropBufferFull, 1)
	}
}

// Flush writes every event recorded before it was called and reports the write's error
// (the batch is then kept for another attempt, or dropped after the last). After Close it
// reports Close's error.
func (w *Writer) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.flushes <- reply:
	case <-w.stopped:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking events, writes those waiting (one attempt; a refused batch is
// dropped and counted) and returns when the goroutine has ended, with that write's error.
// Safe to call more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.events)
	}
	w.mu.Unlock()
	<-w.stopped
	return w.err
}

// Dropped is the number of events dropped for reason so far.
func (w *Writer) Dropped(reason string) float64 {
	var m dto.Metric
	if err := w.dropped.WithLabelValues(reason).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

func (w *Writer) drop(reason string, n int) {
	w.drops[reason].Add(float64(n))
}

// batch is the goroutine's state: the events collected, and the timer that writes them.
type batch struct {
	w        *Writer
	pending  []Event
	failures int         // consecutive refused attempts of pending
	gen      uint64      // the live timer's generation; ticks of older ones are ignored
	stop     func() bool // stops the live timer; nil when none
}

func (w *Writer) run() {
	defer close(w.stopped)
	b := &batch{w: w}
	for {
		select {
		case e, ok := <-w.events:
			if !ok {
				w.err = b.flush(true)
				return
			}
			b.add(e)
		case gen := <-w.ticks:
			if gen == b.gen && b.stop != nil {
				b.stop = nil
				_ = b.flush(false)
			}
		case reply := <-w.flushes:
			b.drain()
			reply <- b.flush(false)
		}
	}
}

// arm starts the timer that writes pending after the interval.
func (b *batch) arm() {
	gen, ticks, stopped := b.gen, b.w.ticks, b.w.stopped
	b.stop = b.w.clock.AfterFunc(b.w.interval, func() {
		select {
		case ticks <- gen:
		case <-stopped:
		}
	})
}

// add takes one event: its data is encoded here, off the emitter's path.
func (b *batch) add(e Event) {
	data, err := EncodeData(e.Data)
	if err != nil {
		b.w.drop(DropInvalid, 1)
		b.w.log.Warn("analytics: invalid event dropped", "kind", e.Kind, "err", err)
		return
	}
	e.Data = data
	b.pending = append(b.pending, e)
	if extra := len(b.pending) - b.w.buffer; extra > 0 { // only while Postgres refuses
		b.w.drop(DropWriteFailed, extra)
		b.pending = append(b.pending[:0], b.pending[extra:]...)
	}
	switch {
	case len(b.pending) >= b.w.batchSize && b.failures == 0:
		_ = b.flush(false)
	case b.stop == nil:
		b.gen++
		b.arm()
	}
}

// drain takes every event already in the channel (a Flush covers what was recorded
// before it).
func (b *batch) drain() {
	for {
		select {
		case e, ok := <-b.w.events:
			if !ok {
				return
			}
			b.add(e)
		default:
			return
		}
	}
}

// flush appends pending. A refused batch is kept and retried at the next interval until
// its attempts are spent (final: at once), then dropped.
func (b *batch) flush(final bool) error {
	if b.stop != nil {
		b.stop()
		b.stop = nil
	}
	b.gen++
	if len(b.pending) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.w.timeout)
	err := b.w.store.InsertBatch(ctx, b.pending)
	cancel()
	if err == nil {
		clear(b.pending)
		b.pending, b.failures = b.pending[:0], 0
		return nil
	}
	b.failures++
	if final || b.failures >= b.w.attempts {
		b.w.drop(DropWriteFailed, len(b.pending))
		b.w.log.Error("analytics: events dropped; Postgres refused them", "events", len(b.pending), "attempts", b.failures, "err", err)
		clear(b.pending)
		b.pending, b.failures = b.pending[:0], 0
		return err
	}
	b.w.log.Warn("analytics: appending events failed; retrying", "events", len(b.pending), "attempt", b.failures, "err", err)
	b.arm()
	return err
}
