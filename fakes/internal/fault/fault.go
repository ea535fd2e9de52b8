// Package fault is what the vendor fakes share for injecting failures: a queue of faults
// ("the next n requests", then "every request until healed") and a held answer.
package fault

import (
	"context"
	"sync"
	"time"
)

// Queue hands out the fault each arriving request suffers: the queued ones first, in
// order, then the standing one. The zero value is ready and has no faults; F's zero value
// means "no fault". Safe for concurrent use.
type Queue[F any] struct {
	mu     sync.Mutex
	next   []F
	always F
}

// FailNext queues f for the next n requests, after the faults queued before; the queue
// takes precedence over FailAlways.
func (q *Queue[F]) FailNext(n int, f F) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range n {
		q.next = append(q.next, f)
	}
}

// FailAlways makes every request suffer f once the queue is empty, until Heal. The zero
// F switches it off.
func (q *Queue[F]) FailAlways(f F) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.always = f
}

// Heal clears the queue and the standing fault.
func (q *Queue[F]) Heal() {
	q.mu.Lock()
	defer q.mu.Unlock()
	var zero F
	q.next, q.always = nil, zero
}

// Take returns the fault for the request now arriving.
func (q *Queue[F]) Take() F {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.next) > 0 {
		f := q.next[0]
		q.next = q.next[1:]
		return f
	}
	return q.always
}

// Hold delays an answer by d, or until the client gives up (ctx) or the fake closes
// (closed).
func Hold(ctx context.Context, closed <-chan struct{}, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-closed:
	}
}
