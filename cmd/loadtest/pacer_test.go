package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPlannedCalls(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate float64
		d    time.Duration
		want int
	}{
		{100, 20 * time.Second, 2000},
		{2.5, 2 * time.Second, 5},
		{0.4, time.Second, 0},
		{0, time.Second, 0},
		{10, 0, 0},
	} {
		require.Equal(t, tc.want, plannedCalls(tc.rate, tc.d), "rate %v for %v", tc.rate, tc.d)
	}
}

// The generator is open loop: call i is due at start + i/rate and starts whether or not
// the calls before it have returned. Here every call blocks until the last one has
// started, which a closed-loop generator would never reach.
func TestPaceIsOpenLoop(t *testing.T) {
	t.Parallel()
	const rate, d = 400.0, 100 * time.Millisecond
	all := make(chan struct{})
	var started atomic.Int64
	var mu sync.Mutex
	due := map[int]time.Time{}
	res := pace(context.Background(), rate, d, 0, func(i int, at time.Time) {
		mu.Lock()
		due[i] = at
		mu.Unlock()
		if started.Add(1) == 40 {
			close(all)
		}
		<-all
	})
	require.Equal(t, 40, res.Planned)
	require.Equal(t, 40, res.Fired)
	require.Len(t, due, 40, "every index fired once")
	for i := 1; i < 40; i++ {
		require.Equal(t, 2500*time.Microsecond, due[i].Sub(due[i-1]), "call %d is due 1/rate after call %d", i, i-1)
	}
	require.Greater(t, res.Achieved(), 0.0)
}

// With a cap, no more than limit calls are ever in flight; starts held back by the cap are
// late; none starts once the load phase is over.
func TestPaceCapsCallsInFlight(t *testing.T) {
	t.Parallel()
	const limit = 3
	var inFlight, most atomic.Int64
	release := make(chan struct{})
	done := make(chan paceResult)
	go func() {
		done <- pace(context.Background(), 1000, 200*time.Millisecond, limit, func(int, time.Time) {
			n := inFlight.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			<-release
			inFlight.Add(-1)
		})
	}()
	// Let a blocked call return every 5 ms (so about 40 of the 200 planned can start)
	// until the generator gives up at the end of the load phase.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var res paceResult
	for waiting := true; waiting; {
		select {
		case <-tick.C:
			select {
			case release <- struct{}{}:
			case res = <-done:
				waiting = false
			}
		case res = <-done:
			waiting = false
		}
	}
	require.LessOrEqual(t, most.Load(), int64(limit))
	require.Equal(t, 200, res.Planned)
	require.Less(t, res.Fired, res.Planned, "calls held back past the load phase are not started")
	require.Positive(t, res.Late)
}

func TestPaceStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	res := pace(ctx, 100, time.Hour, 0, func(int, time.Time) {
		if n.Add(1) == 5 {
			cancel()
		}
	})
	require.GreaterOrEqual(t, res.Fired, 5)
	require.Less(t, res.Fired, 10, "no call starts after the context ends")
}

func TestPaceResultAchieved(t *testing.T) {
	t.Parallel()
	require.Equal(t, 0.0, paceResult{}.Achieved())
	require.InDelta(t, 100.0, paceResult{Fired: 200, Sending: 2 * time.Second}.Achieved(), 1e-9)
}
