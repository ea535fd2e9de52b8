package resource

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestOccupancyAgreesWithAScan checks the index against the obvious linear scan on random
// claims of mixed lengths, including ones added and removed.
func TestOccupancyAgreesWithAScan(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 9))
	base := time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC)
	var o occupancy
	var all []*entry
	for range 400 {
		start := base.Add(time.Duration(rng.IntN(2000)) * 5 * time.Minute)
		e := &entry{Claim: Claim{ID: uuid.New(), Start: start, End: start.Add(time.Duration(1+rng.IntN(36)) * 5 * time.Minute)}}
		o.add(e)
		all = append(all, e)
		if rng.IntN(4) == 0 {
			victim := rng.IntN(len(all))
			o.remove(all[victim])
			all = append(all[:victim], all[victim+1:]...)
		}
	}
	require.Len(t, o.list, len(all))
	for range 2000 {
		start := base.Add(time.Duration(rng.IntN(2100)) * 5 * time.Minute)
		end := start.Add(time.Duration(1+rng.IntN(24)) * 5 * time.Minute)
		var except uuid.UUID
		if rng.IntN(3) == 0 {
			except = all[rng.IntN(len(all))].ID
		}
		want := false
		var wantIvs []Interval
		for _, e := range all {
			if e.Start.Before(end) && e.End.After(start) {
				wantIvs = append(wantIvs, e.Interval())
				if e.ID != except {
					want = true
				}
			}
		}
		require.Equal(t, want, o.overlaps(start, end, except), "[%s, %s)", start, end)
		require.ElementsMatch(t, wantIvs, o.intervals(start, end))
	}
}
