package persistence

import (
	"context"
	"sync"
)

// group runs requests that arrive together as one database call ("group commit"): a
// caller waits for the call its request rode in. Under load one statement carries many
// requests, so Postgres sees a few large transactions instead of a commit per request;
// when idle a request goes alone at once (no timer, no added latency).
type group[Req, Res any] struct {
	lanes int                              // concurrent calls
	max   int                              // requests per call
	run   func(batch []Req) ([]Res, error) // one result per request, in order

	start sync.Once
	queue chan groupCall[Req, Res]
}

type groupCall[Req, Res any] struct {
	req  Req
	done chan groupResult[Res]
}

type groupResult[Res any] struct {
	res Res
	err error
}

// do queues req and waits for its result (or ctx: the request may still run).
func (g *group[Req, Res]) do(ctx context.Context, req Req) (Res, error) {
	g.start.Do(func() {
		g.queue = make(chan groupCall[Req, Res], 4*g.max)
		for range g.lanes {
			go g.loop()
		}
	})
	var zero Res
	c := groupCall[Req, Res]{req: req, done: make(chan groupResult[Res], 1)}
	select {
	case g.queue <- c:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case r := <-c.done:
		return r.res, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// loop takes whatever is waiting, up to max, runs it, and answers. It runs for the life
// of the process.
func (g *group[Req, Res]) loop() {
	calls := make([]groupCall[Req, Res], 0, g.max)
	reqs := make([]Req, 0, g.max)
	for first := range g.queue {
		calls = append(calls[:0], first)
	drain:
		for len(calls) < g.max {
			select {
			case c := <-g.queue:
				calls = append(calls, c)
			default:
				break drain
			}
		}
		reqs = reqs[:0]
		for _, c := range calls {
			reqs = append(reqs, c.req)
		}
		res, err := g.run(reqs)
		for i, c := range calls {
			var r groupResult[Res]
			r.err = err
			if i < len(res) {
				r.res = res[i]
			}
			c.done <- r
		}
	}
}
