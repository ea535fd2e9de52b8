package reminders

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimes(t *testing.T) {
	t.Parallel()
	chicago, err := time.LoadLocation("America/Chicago")
	require.NoError(t, err)
	quiet := DefaultQuiet(chicago)
	none := Quiet{Location: chicago}
	local := func(y int, mo time.Month, d, h, mi int) time.Time { return time.Date(y, mo, d, h, mi, 0, 0, chicago) }
	day, two := 24*time.Hour, 2*time.Hour
	type want struct {
		at      time.Time
		skipped string
	}
	cases := []struct {
		name          string
		start, booked time.Time
		offsets       []time.Duration
		p             Quiet
		want          []want
	}{
		{"three days ahead: both, at the visit's local times",
			local(2030, 1, 10, 10, 0), local(2030, 1, 7, 9, 0), []time.Duration{day, two}, quiet,
			[]want{{at: local(2030, 1, 9, 10, 0)}, {at: local(2030, 1, 10, 8, 0)}}},
		{"across spring forward: the day before at the same wall clock, 23 hours earlier",
			local(2030, 3, 10, 10, 0), local(2030, 3, 7, 9, 0), []time.Duration{day, two}, quiet,
			[]want{{at: local(2030, 3, 9, 10, 0)}, {at: local(2030, 3, 10, 8, 0)}}},
		{"across fall back: 25 hours earlier",
			local(2030, 11, 3, 9, 0), local(2030, 11, 1, 9, 0), []time.Duration{day}, quiet,
			[]want{{at: local(2030, 11, 2, 9, 0)}}},
		{"booked three hours ahead: no 24 h reminder",
			local(2030, 1, 10, 13, 0), local(2030, 1, 10, 10, 0), []time.Duration{day, two}, quiet,
			[]want{{at: local(2030, 1, 9, 13, 0), skipped: SkipPassed}, {at: local(2030, 1, 10, 11, 0)}}},
		{"due in quiet hours: at their end, still before the visit",
			local(2030, 1, 10, 9, 0), local(2030, 1, 7, 9, 0), []time.Duration{two}, quiet,
			[]want{{at: local(2030, 1, 10, 8, 0)}}},
		{"their end is past the visit: the evening before",
			local(2030, 1, 10, 7, 30), local(2030, 1, 7, 9, 0), []time.Duration{two}, quiet,
			[]want{{at: local(2030, 1, 9, 18, 0)}}},
		{"evening before inside quiet hours that start early: just before them",
			local(2030, 1, 10, 7, 30), local(2030, 1, 7, 9, 0), []time.Duration{two},
			Quiet{Location: chicago, Start: 17 * 60, End: 8 * 60},
			[]want{{at: local(2030, 1, 9, 16, 30)}}},
		{"two moved onto one time: the second is skipped",
			local(2030, 1, 10, 8, 30), local(2030, 1, 7, 9, 0), []time.Duration{3 * time.Hour, two}, quiet,
			[]want{{at: local(2030, 1, 10, 8, 0)}, {at: local(2030, 1, 10, 8, 0), skipped: SkipMerged}}},
		{"no quiet hours: exact offsets",
			local(2030, 1, 10, 7, 0), local(2030, 1, 7, 9, 0), []time.Duration{two}, none,
			[]want{{at: local(2030, 1, 10, 5, 0)}}},
		{"no offsets: no reminders", local(2030, 1, 10, 7, 0), local(2030, 1, 7, 9, 0), nil, quiet, []want{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Times(tc.start, tc.booked, tc.offsets, tc.p)
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				require.Equal(t, tc.offsets[i], got[i].Offset)
				require.True(t, w.at.Equal(got[i].At), "reminder %d at %s, want %s", i, got[i].At.In(chicago), w.at)
				require.Equal(t, w.skipped, got[i].Skipped, "reminder %d", i)
				if w.skipped == "" {
					require.False(t, tc.p.contains(got[i].At), "never sent in quiet hours")
					require.True(t, got[i].At.Before(tc.start) && got[i].At.After(tc.booked))
				}
			}
		})
	}
	// Across spring forward the day-before reminder is 23 real hours ahead, not 24.
	r := Times(local(2030, 3, 10, 10, 0), local(2030, 3, 7, 9, 0), []time.Duration{day}, none)
	require.Equal(t, 23*time.Hour, local(2030, 3, 10, 10, 0).Sub(r[0].At))
}
