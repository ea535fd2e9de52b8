package sync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoffGrowsExponentiallyUpToItsCapWithJitter(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute}
	for n, nominal := range map[int]time.Duration{
		1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second,
		7: time.Minute, 8: time.Minute, 1000: time.Minute, // capped, and no overflow
	} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := b.Delay(n)
			require.GreaterOrEqual(t, d, nominal/2, "n=%d", n)
			require.LessOrEqual(t, d, nominal, "n=%d", n)
			seen[d] = true
		}
		require.Greater(t, len(seen), 50, "n=%d: jittered delays spread out", n)
	}
}
