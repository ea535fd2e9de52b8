package main

import (
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to maxTracked; longer ones are
// clamped to maxTracked (and still counted).
const maxTracked = 10 * time.Minute

// series is the latencies of one operation of a scenario: an HDR histogram over the whole
// scenario (3 significant digits) and one per second of it (2 digits, for the
// latency-over-time charts), indexed by when the operation completed.
type series struct {
	name  string
	start time.Time

	mu     sync.Mutex
	all    *hdrhistogram.Histogram
	perSec []*hdrhistogram.Histogram
}

func newSeries(name string, start time.Time) *series {
	return &series{name: name, start: start, all: hdrhistogram.New(1, maxTracked.Microseconds(), 3)}
}

// record adds one latency d of an operation that completed at `at`.
func (s *series) record(at time.Time, d time.Duration) {
	us := min(max(d.Microseconds(), 1), maxTracked.Microseconds())
	sec := max(int(at.Sub(s.start)/time.Second), 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.all.RecordValue(us) // cannot fail: us is within the trackable range
	for len(s.perSec) <= sec {
		s.perSec = append(s.perSec, nil)
	}
	if s.perSec[sec] == nil {
		s.perSec[sec] = hdrhistogram.New(1, maxTracked.Microseconds(), 2)
	}
	_ = s.perSec[sec].RecordValue(us)
}

// OpReport is the latency summary of one operation. Times are in milliseconds.
type OpReport struct {
	Name     string  `json:"name"`
	Count    int64   `json:"count"`
	Rate     float64 `json:"rate_per_s"` // completions per second, from the scenario's start to its last completion
	MinMS    float64 `json:"min_ms"`
	MeanMS   float64 `json:"mean_ms"`
	P50MS    float64 `json:"p50_ms"`
	P90MS    float64 `json:"p90_ms"`
	P95MS    float64 `json:"p95_ms"`
	P99MS    float64 `json:"p99_ms"`
	P999MS   float64 `json:"p99_9_ms"`
	MaxMS    float64 `json:"max_ms"`
	Timeline []Point `json:"timeline"` // one point per second since the scenario started
}

// Point is one second of an operation's timeline.
type Point struct {
	T     int     `json:"t_s"` // seconds since the scenario started
	Count int64   `json:"count"`
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
}

func ms(us int64) float64 { return float64(us) / 1000 }

// report summarises the series; its rate is Count over elapsed.
func (s *series) report(elapsed time.Duration) OpReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.all
	r := OpReport{Name: s.name, Count: h.TotalCount(), Timeline: []Point{}}
	if r.Count == 0 {
		return r
	}
	if elapsed > 0 {
		r.Rate = math.Round(float64(r.Count)/elapsed.Seconds()*10) / 10
	}
	q := h.ValueAtPercentiles([]float64{50, 90, 95, 99, 99.9})
	r.MinMS, r.MeanMS, r.MaxMS = ms(h.Min()), math.Round(h.Mean())/1000, ms(h.Max())
	r.P50MS, r.P90MS, r.P95MS, r.P99MS, r.P999MS = ms(q[50]), ms(q[90]), ms(q[95]), ms(q[99]), ms(q[99.9])
	for sec, sh := range s.perSec {
		p := Point{T: sec}
		if sh != nil {
			p.Count = sh.TotalCount()
			p.P50MS, p.P95MS, p.P99MS, p.MaxMS = ms(sh.ValueAtQuantile(50)), ms(sh.ValueAtQuantile(95)), ms(sh.ValueAtQuantile(99)), ms(sh.Max())
		}
		r.Timeline = append(r.Timeline, p)
	}
	return r
}

// counters counts things by kind (outcomes, errors), safe for concurrent use.
type counters struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *counters) add(kind string, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[kind] += n
}

func (c *counters) get(kind string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[kind]
}

func (c *counters) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := maps.Clone(c.m)
	if out == nil {
		out = map[string]int64{}
	}
	return out
}

func (c *counters) total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, v := range c.m {
		n += v
	}
	return n
}

// recorder collects what one scenario run measures: latencies per operation (in the order
// first recorded), outcomes and errors by kind.
type recorder struct {
	start    time.Time
	mu       sync.Mutex
	ops      map[string]*series
	order    []string
	outcomes counters
	errors   counters
}

func newRecorder(start time.Time) *recorder {
	return &recorder{start: start, ops: map[string]*series{}}
}

// op returns the series of an operation, creating it on first use. declare fixes the
// order in which operations are reported before any is recorded.
func (r *recorder) op(name string) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.ops[name]
	if !ok {
		s = newSeries(name, r.start)
		r.ops[name] = s
		r.order = append(r.order, name)
	}
	return s
}

func (r *recorder) declare(names ...string) {
	for _, n := range names {
		r.op(n)
	}
}

// observe records a latency of op measured from `from` to `to`.
func (r *recorder) observe(op string, from, to time.Time) {
	r.op(op).record(to, to.Sub(from))
}

func (r *recorder) fail(kind string)    { r.errors.add(kind, 1) }
func (r *recorder) outcome(kind string) { r.outcomes.add(kind, 1) }

func (r *recorder) reports(elapsed time.Duration) []OpReport {
	r.mu.Lock()
	names := slices.Clone(r.order)
	r.mu.Unlock()
	out := make([]OpReport, 0, len(names))
	for _, n := range names {
		out = append(out, r.op(n).report(elapsed))
	}
	return out
}
