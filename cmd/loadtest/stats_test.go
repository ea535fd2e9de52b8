package main

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// 1,000 latencies of 1..1000 ms: the HDR percentiles are exact to three digits.
func TestSeriesPercentiles(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := newSeries("op", start)
	for i := 1; i <= 1000; i++ {
		s.record(start.Add(time.Duration(i)*time.Millisecond), time.Duration(i)*time.Millisecond)
	}
	r := s.report(2 * time.Second)
	require.Equal(t, "op", r.Name)
	require.EqualValues(t, 1000, r.Count)
	require.InDelta(t, 500.0, r.Rate, 0.01)
	require.InDelta(t, 1.0, r.MinMS, 0.001)
	require.InDelta(t, 1000.0, r.MaxMS, 1.0)
	require.InDelta(t, 500.5, r.MeanMS, 0.5)
	for _, c := range []struct{ got, want float64 }{{r.P50MS, 500}, {r.P90MS, 900}, {r.P95MS, 950}, {r.P99MS, 990}, {r.P999MS, 999}} {
		require.InEpsilon(t, c.want, c.got, 0.001)
	}
	// Completions in the first second and the second second go to separate timeline points.
	require.Len(t, r.Timeline, 2)
	require.EqualValues(t, 999, r.Timeline[0].Count)
	require.EqualValues(t, 1, r.Timeline[1].Count)
	require.InEpsilon(t, 500.0, r.Timeline[0].P50MS, 0.01)
	require.InDelta(t, 1000.0, r.Timeline[1].MaxMS, 10)
}

// Out-of-range latencies are clamped, not lost; seconds without completions are zero
// points in the timeline.
func TestSeriesClampsAndFillsGaps(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := newSeries("op", start)
	s.record(start, 0)
	s.record(start.Add(3500*time.Millisecond), time.Hour)
	r := s.report(0)
	require.EqualValues(t, 2, r.Count)
	require.Zero(t, r.Rate, "no load phase, no rate")
	require.InDelta(t, 0.001, r.MinMS, 1e-9)
	require.InEpsilon(t, float64(maxTracked.Milliseconds()), r.MaxMS, 0.001)
	require.Len(t, r.Timeline, 4)
	require.Zero(t, r.Timeline[1].Count)
	require.Zero(t, r.Timeline[2].Count)
}

func TestEmptySeries(t *testing.T) {
	t.Parallel()
	r := newSeries("idle", time.Now()).report(time.Second)
	require.Zero(t, r.Count)
	require.Empty(t, r.Timeline)
	require.NotNil(t, r.Timeline, "an empty timeline is [] in JSON, not null")
}

func TestRecorderKeepsOrderAndCounts(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := newRecorder(start)
	rec.declare("first", "second")
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.observe("third", start, start.Add(time.Millisecond))
			rec.observe("first", start, start.Add(2*time.Millisecond))
			if i%10 == 0 {
				rec.fail("reserve: HTTP 500")
			}
			rec.outcome("ok")
		}()
	}
	wg.Wait()
	ops := rec.reports(time.Second)
	require.Len(t, ops, 3)
	require.Equal(t, []string{"first", "second", "third"}, []string{ops[0].Name, ops[1].Name, ops[2].Name})
	require.EqualValues(t, 100, ops[0].Count)
	require.Zero(t, ops[1].Count)
	require.Equal(t, map[string]int64{"reserve: HTTP 500": 10}, rec.errors.snapshot())
	require.EqualValues(t, 10, rec.errors.total())
	require.EqualValues(t, 100, rec.outcomes.get("ok"))
}
