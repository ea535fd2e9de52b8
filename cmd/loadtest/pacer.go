package main

import (
	"context"
	"math"
	"sync"
	"time"
)

// lateAfter is how far behind its schedule a start must be to count as late.
const lateAfter = 10 * time.Millisecond

// paceResult says how an open-loop run went.
type paceResult struct {
	Planned int           // rate × duration
	Fired   int           // calls started (fewer than Planned when ctx ended or the cap held them past d)
	Late    int           // calls started more than lateAfter behind their schedule
	MaxLag  time.Duration // the largest delay behind schedule of a start
	Sending time.Duration // from the first scheduled start to one interval after the last start
}

// Achieved is the rate at which calls were started.
func (p paceResult) Achieved() float64 {
	if p.Fired == 0 || p.Sending <= 0 {
		return 0
	}
	return float64(p.Fired) / p.Sending.Seconds()
}

// plannedCalls is how many calls an open-loop run of rate per second for d makes.
func plannedCalls(rate float64, d time.Duration) int {
	if rate <= 0 || d <= 0 {
		return 0
	}
	return int(math.Round(rate * d.Seconds()))
}

// pace is the open-loop load generator: it starts call i at start + i/rate, each on its
// own goroutine, whatever the calls before it are doing (so a slow engine does not slow the
// offered load, as it would with a closed loop), and returns once every call has returned.
// limit > 0 caps the calls in flight: at the cap the generator waits, starts fall behind
// their schedule and are counted late, and none starts after d (with a rate far above
// what the system answers, that makes it a closed loop of limit callers for d). fire gets
// the call's index and its scheduled start.
// The pacing sleeps are the generator's own; nothing here waits on the engine.
func pace(ctx context.Context, rate float64, d time.Duration, limit int, fire func(i int, due time.Time)) paceResult {
	res := paceResult{Planned: plannedCalls(rate, d)}
	if res.Planned == 0 {
		return res
	}
	interval := time.Duration(float64(time.Second) / rate)
	var sem chan struct{}
	if limit > 0 {
		sem = make(chan struct{}, limit)
	}
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	start := time.Now()
	var last time.Time
loop:
	for i := range res.Planned {
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break loop
			}
		} else if ctx.Err() != nil {
			break
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			default:
				// At the cap: wait for a call to return.
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					break loop
				}
				if time.Since(start) >= d {
					// Held back by the cap until the load phase was over: the rest are not started.
					<-sem
					break loop
				}
			}
		}
		last = time.Now()
		if lag := last.Sub(due); lag > lateAfter {
			res.Late++
			res.MaxLag = max(res.MaxLag, lag)
		}
		res.Fired++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sem != nil {
				defer func() { <-sem }()
			}
			fire(i, due)
		}()
	}
	if res.Fired > 0 {
		res.Sending = last.Sub(start) + interval
	}
	wg.Wait()
	return res
}
