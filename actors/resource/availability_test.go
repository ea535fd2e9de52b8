package resource

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST cases must not depend on the host's zoneinfo

	"github.com/stretchr/testify/require"

	"ringback/tenant"
)

func mustLocation(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(tb, err)
	return loc
}

// localAt is a local wall-clock time; DST-sensitive cases use utcAt instead to say which instant.
func localAt(loc *time.Location, y int, mo time.Month, d, h, m int) time.Time {
	return time.Date(y, mo, d, h, m, 0, 0, loc)
}

func utcAt(y int, mo time.Month, d, h, m int) time.Time {
	return time.Date(y, mo, d, h, m, 0, 0, time.UTC)
}

// showTimes formats instants in loc with the zone abbreviation, so that 01:30 EDT and 01:30
// EST read differently in a failure.
func showTimes(loc *time.Location, ts ...time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.In(loc).Format("Mon 2006-01-02 15:04 MST")
	}
	return out
}

func showIntervals(loc *time.Location, ivs []Interval) []string {
	out := make([]string, len(ivs))
	for i, iv := range ivs {
		out[i] = showTimes(loc, iv.Start)[0] + " – " + showTimes(loc, iv.End)[0]
	}
	return out
}

func weeklyOn(day time.Weekday, ranges ...tenant.ClockRange) tenant.Weekly {
	var w tenant.Weekly
	w[day] = ranges
	return w
}

func hhmm(h, m int) int { return h*60 + m }

func TestOpenSlotsWeekday(t *testing.T) {
	t.Parallel()
	loc := mustLocation(t, "America/Chicago")
	r := SlotRules{
		Location: loc,
		Weekly:   weeklyOn(time.Monday, tenant.ClockRange{Start: hhmm(9, 0), End: hhmm(12, 0)}, tenant.ClockRange{Start: hhmm(13, 0), End: hhmm(17, 0)}),
		Duration: time.Hour,
		Step:     30 * time.Minute,
		Horizon:  30 * 24 * time.Hour,
	}
	now := localAt(loc, 2026, time.June, 14, 12, 0) // the Sunday before
	from, to := localAt(loc, 2026, time.June, 15, 0, 0), localAt(loc, 2026, time.June, 17, 0, 0)

	got := OpenSlots(r, nil, now, from, to, 0)
	var want []time.Time
	for _, hm := range [][2]int{{9, 0}, {9, 30}, {10, 0}, {10, 30}, {11, 0}, {13, 0}, {13, 30}, {14, 0}, {14, 30}, {15, 0}, {15, 30}, {16, 0}} {
		want = append(want, localAt(loc, 2026, time.June, 15, hm[0], hm[1]))
	}
	require.Equal(t, showTimes(loc, want...), showTimes(loc, got...))
	for _, s := range got {
		require.Equal(t, loc, s.Location(), "slots are in the tenant's zone")
	}

	got = OpenSlots(r, nil, now, from, to, 3)
	require.Equal(t, showTimes(loc, want[:3]...), showTimes(loc, got...), "limit keeps the earliest")

	gotIvs := OpenIntervals(loc, r.Weekly, from, to)
	require.Equal(t, []string{
		"Mon 2026-06-15 09:00 CDT – Mon 2026-06-15 12:00 CDT",
		"Mon 2026-06-15 13:00 CDT – Mon 2026-06-15 17:00 CDT",
	}, showIntervals(loc, gotIvs))
}

func TestOpenSlotsNoticeAndHorizon(t *testing.T) {
	t.Parallel()
	loc := mustLocation(t, "America/Chicago")
	base := SlotRules{
		Location: loc,
		Weekly:   weeklyOn(time.Monday, tenant.ClockRange{Start: hhmm(9, 0), End: hhmm(17, 0)}),
		Duration: time.Hour,
		Step:     time.Hour,
	}
	day := func(h, m int) time.Time { return localAt(loc, 2026, time.June, 15, h, m) }
	from, to := day(0, 0), day(23, 0)

	tests := []struct {
		name      string
		now       time.Time
		minNotice time.Duration
		horizon   time.Duration
		want      []time.Time
	}{
		{
			name: "cut-offs fall between grid points", now: day(7, 20).Add(30 * time.Second),
			minNotice: 2 * time.Hour, horizon: 6 * time.Hour, // 09:20:30 .. 13:20:30
			want: []time.Time{day(10, 0), day(11, 0), day(12, 0), day(13, 0)},
		},
		{
			name: "a start exactly at now+MinNotice is allowed, exactly at now+Horizon is not", now: day(7, 0),
			minNotice: 2 * time.Hour, horizon: 6 * time.Hour, // 09:00 .. 13:00
			want: []time.Time{day(9, 0), day(10, 0), day(11, 0), day(12, 0)},
		},
		{
			name: "notice past closing leaves nothing", now: day(7, 0),
			minNotice: 9*time.Hour + time.Minute, horizon: 48 * time.Hour,
			want: nil,
		},
		{
			name: "zero horizon offers nothing", now: day(7, 0),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := base
			r.MinNotice, r.Horizon = tt.minNotice, tt.horizon
			got := OpenSlots(r, nil, tt.now, from, to, 0)
			require.Equal(t, showTimes(loc, tt.want...), showTimes(loc, got...))
			for _, s := range tt.want {
				require.True(t, r.Fits(nil, tt.now, s), "Fits(%s)", s)
			}
		})
	}
}

func TestOpenSlotsBusy(t *testing.T) {
	t.Parallel()
	loc := mustLocation(t, "Europe/London")
	day := func(h, m int) time.Time { return localAt(loc, 2026, time.June, 15, h, m) }
	r := SlotRules{
		Location: loc,
		Weekly:   weeklyOn(time.Monday, tenant.ClockRange{Start: hhmm(9, 0), End: hhmm(17, 0)}),
		Duration: time.Hour,
		Step:     30 * time.Minute,
		Horizon:  30 * 24 * time.Hour,
	}
	busy := []Interval{
		{day(14, 30), day(15, 30)}, // overlaps the next one, listed out of order
		{day(10, 0), day(11, 0)},
		{day(14, 0), day(15, 0)},
		{day(12, 15), day(12, 45)},
		{day(16, 0), day(16, 0)}, // empty: blocks nothing
	}
	before := slices.Clone(busy)
	now := day(0, 0)

	got := OpenSlots(r, busy, now, day(0, 0), day(23, 0), 0)
	want := []time.Time{
		day(9, 0),  // ends 10:00 exactly when a busy block starts
		day(11, 0), // starts 11:00 exactly when one ends; ends 12:00 before 12:15
		day(13, 0), // ends 14:00 exactly when a busy block starts
		day(15, 30),
		day(16, 0),
	}
	require.Equal(t, showTimes(loc, want...), showTimes(loc, got...))
	require.Equal(t, before, busy, "the caller's busy slice is not reordered")

	for _, s := range []time.Time{day(9, 0), day(11, 0), day(13, 0), day(15, 30), day(16, 0)} {
		require.True(t, r.Fits(busy, now, s), "Fits(%s)", s)
	}
	for _, s := range []time.Time{day(9, 30), day(11, 30), day(12, 0), day(14, 0), day(15, 0), day(16, 30), day(11, 15)} {
		require.False(t, r.Fits(busy, now, s), "Fits(%s)", s)
	}

	// Blocked until further notice: an end past what int64 nanoseconds can hold.
	forever := []Interval{{day(11, 0), time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)}}
	got = OpenSlots(r, forever, now, day(0, 0), day(0, 0).AddDate(0, 0, 14), 0)
	require.Equal(t, showTimes(loc, day(9, 0), day(9, 30), day(10, 0)), showTimes(loc, got...))
	require.False(t, r.Fits(forever, now, day(0, 0).AddDate(0, 0, 7).Add(10*time.Hour)))
}

func TestOpenSlotsInvalidRules(t *testing.T) {
	t.Parallel()
	now := utcAt(2026, time.June, 15, 0, 0)
	valid := SlotRules{Location: time.UTC, Weekly: weeklyOn(time.Monday, tenant.ClockRange{Start: hhmm(9, 0), End: hhmm(17, 0)}), Duration: time.Hour, Step: time.Hour, Horizon: 48 * time.Hour}
	require.NotEmpty(t, OpenSlots(valid, nil, now, now, now.Add(24*time.Hour), 0))

	for name, mutate := range map[string]func(*SlotRules){
		"no location":   func(r *SlotRules) { r.Location = nil },
		"zero step":     func(r *SlotRules) { r.Step = 0 },
		"zero duration": func(r *SlotRules) { r.Duration = 0 },
	} {
		r := valid
		mutate(&r)
		require.Empty(t, OpenSlots(r, nil, now, now, now.Add(24*time.Hour), 0), name)
		require.False(t, r.Fits(nil, now, utcAt(2026, time.June, 15, 9, 0)), name)
	}
	require.Empty(t, OpenSlots(valid, nil, now, now.Add(24*time.Hour), now, 0), "to before from")
}

// On 2026-11-01 America/New_York falls back from 02:00 EDT to 01:00 EST, so a night open
// 00:00-06:00 lasts seven real hours and the wall clock shows 01:00-01:59 twice.
func TestOpenSlotsFallBack(t *testing.T) {
	t.Parallel()
	loc := mustLocation(t, "America/New_York")
	r := SlotRules{
		Location: loc,
		Weekly:   weeklyOn(time.Sunday, tenant.ClockRange{Start: 0, End: hhmm(6, 0)}),
		Duration: 90 * time.Minute,
		Step:     30 * time.Minute,
		Horizon:  30 * 24 * time.Hour,
	}
	now := utcAt(2026, time.October, 30, 0, 0)
	from, to := utcAt(2026, time.November, 1, 0, 0), utcAt(2026, time.November, 2, 0, 0)

	require.Equal(t, []string{"Sun 2026-11-01 00:00 EDT – Sun 2026-11-01 06:00 EST"}, showIntervals(loc, OpenIntervals(loc, r.Weekly, from, to)))

	got := OpenSlots(r, nil, now, from, to, 0)
	want := []string{
		"Sun 2026-11-01 00:00 EDT", "Sun 2026-11-01 00:30 EDT",
		"Sun 2026-11-01 01:00 EDT", "Sun 2026-11-01 01:30 EDT",
		"Sun 2026-11-01 01:00 EST", "Sun 2026-11-01 01:30 EST",
		"Sun 2026-11-01 02:00 EST", "Sun 2026-11-01 02:30 EST",
		"Sun 2026-11-01 03:00 EST", "Sun 2026-11-01 03:30 EST",
		"Sun 2026-11-01 04:00 EST", "Sun 2026-11-01 04:30 EST", // 04:30 EST + 90m = 06:00 EST, closing
	}
	require.Equal(t, want, showTimes(loc, got...))

	edt, est := utcAt(2026, time.November, 1, 5, 30), utcAt(2026, time.November, 1, 6, 30)
	require.Contains(t, showTimes(loc, got...), showTimes(loc, edt)[0])
	require.Contains(t, showTimes(loc, got...), showTimes(loc, est)[0])
	// A 90-minute job is 90 real minutes: from 01:30 EDT it ends at 02:00 EST on the wall.
	require.Equal(t, showTimes(loc, utcAt(2026, time.November, 1, 7, 0)), showTimes(loc, edt.Add(r.Duration)))
	require.Equal(t, showTimes(loc, utcAt(2026, time.November, 1, 8, 0)), showTimes(loc, est.Add(r.Duration)))

	// A booking 02:00-02:30 EST blocks the 01:30 EST job (it runs to 03:00 EST) but not the
	// 01:30 EDT one, which ends exactly when the booking starts.
	busy := []Interval{{utcAt(2026, time.November, 1, 7, 0), utcAt(2026, time.November, 1, 7, 30)}}
	got = OpenSlots(r, busy, now, from, to, 0)
	want = []string{
		"Sun 2026-11-01 00:00 EDT", "Sun 2026-11-01 00:30 EDT",
		"Sun 2026-11-01 01:00 EDT", "Sun 2026-11-01 01:30 EDT",
		"Sun 2026-11-01 02:30 EST",
		"Sun 2026-11-01 03:00 EST", "Sun 2026-11-01 03:30 EST",
		"Sun 2026-11-01 04:00 EST", "Sun 2026-11-01 04:30 EST",
	}
	require.Equal(t, want, showTimes(loc, got...))
	require.True(t, r.Fits(busy, now, edt))
	require.False(t, r.Fits(busy, now, est))
}

func TestOpenSlotsSpringForward(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		zone     string
		day      time.Time // the Sunday of the transition, as a UTC date
		hours    tenant.ClockRange
		duration time.Duration
		step     time.Duration
		want     []time.Time // UTC, so the test states instants rather than wall clocks
	}{
		{
			// 02:00 EST jumps to 03:00 EDT (07:00Z): five real hours.
			name: "New York, hours spanning the gap", zone: "America/New_York", day: utcAt(2026, time.March, 8, 0, 0),
			hours: tenant.ClockRange{Start: 0, End: hhmm(6, 0)}, duration: time.Hour, step: time.Hour,
			want: []time.Time{utcAt(2026, time.March, 8, 5, 0), utcAt(2026, time.March, 8, 6, 0), utcAt(2026, time.March, 8, 7, 0), utcAt(2026, time.March, 8, 8, 0), utcAt(2026, time.March, 8, 9, 0)},
		},
		{
			// Go resolves the nonexistent 02:30 an hour back, to 01:30 EST (06:30Z): the
			// day opens before the clocks jump.
			name: "New York, hours starting inside the gap", zone: "America/New_York", day: utcAt(2026, time.March, 8, 0, 0),
			hours: tenant.ClockRange{Start: hhmm(2, 30), End: hhmm(4, 0)}, duration: 30 * time.Minute, step: 30 * time.Minute,
			want: []time.Time{utcAt(2026, time.March, 8, 6, 30), utcAt(2026, time.March, 8, 7, 0), utcAt(2026, time.March, 8, 7, 30)},
		},
		{
			// 01:00 GMT jumps to 02:00 BST (01:00Z): three real hours.
			name: "London, hours spanning the gap", zone: "Europe/London", day: utcAt(2026, time.March, 29, 0, 0),
			hours: tenant.ClockRange{Start: 0, End: hhmm(4, 0)}, duration: time.Hour, step: time.Hour,
			want: []time.Time{utcAt(2026, time.March, 29, 0, 0), utcAt(2026, time.March, 29, 1, 0), utcAt(2026, time.March, 29, 2, 0)},
		},
		{
			// Go resolves the nonexistent 01:30 an hour forward, to 02:30 BST (01:30Z).
			name: "London, hours starting inside the gap", zone: "Europe/London", day: utcAt(2026, time.March, 29, 0, 0),
			hours: tenant.ClockRange{Start: hhmm(1, 30), End: hhmm(3, 0)}, duration: 30 * time.Minute, step: 30 * time.Minute,
			want: []time.Time{utcAt(2026, time.March, 29, 1, 30)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loc := mustLocation(t, tt.zone)
			r := SlotRules{Location: loc, Weekly: weeklyOn(time.Sunday, tt.hours), Duration: tt.duration, Step: tt.step, Horizon: 30 * 24 * time.Hour}
			now := tt.day.AddDate(0, 0, -2)
			got := OpenSlots(r, nil, now, tt.day.Add(-12*time.Hour), tt.day.Add(36*time.Hour), 0)
			require.Equal(t, showTimes(loc, tt.want...), showTimes(loc, got...))
		})
	}
}

// The DST cases above rest on how Go's time.Date resolves nonexistent and repeated
// wall-clock times. Go does not document the choice; this pins it so that a change in a
// future Go release shows up here rather than as shifted opening hours.
func TestWallClockResolutionIsGos(t *testing.T) {
	t.Parallel()
	ny := mustLocation(t, "America/New_York")
	london := mustLocation(t, "Europe/London")
	tests := []struct {
		name string
		got  time.Time
		want time.Time
	}{
		{"New York gap shifts back", localAt(ny, 2026, time.March, 8, 2, 30), utcAt(2026, time.March, 8, 6, 30)},
		{"London gap shifts forward", localAt(london, 2026, time.March, 29, 1, 30), utcAt(2026, time.March, 29, 1, 30)},
		{"New York overlap takes the first", localAt(ny, 2026, time.November, 1, 1, 30), utcAt(2026, time.November, 1, 5, 30)},
		{"London overlap takes the second", localAt(london, 2026, time.October, 25, 1, 30), utcAt(2026, time.October, 25, 1, 30)},
	}
	for _, tt := range tests {
		require.True(t, tt.got.Equal(tt.want), "%s: got %s, want %s", tt.name, tt.got.UTC(), tt.want)
	}
}

func TestOpenSlotsAcrossMidnight(t *testing.T) {
	t.Parallel()
	loc := mustLocation(t, "America/Chicago")
	r := SlotRules{
		Location: loc,
		Weekly:   weeklyOn(time.Friday, tenant.ClockRange{Start: hhmm(22, 0), End: hhmm(26, 0)}), // fri 22:00-02:00
		Duration: 90 * time.Minute,
		Step:     30 * time.Minute,
		Horizon:  30 * 24 * time.Hour,
	}
	fri := func(h, m int) time.Time { return localAt(loc, 2026, time.June, 19, h, m) }
	sat := func(h, m int) time.Time { return localAt(loc, 2026, time.June, 20, h, m) }
	now := fri(8, 0)

	got := OpenSlots(r, nil, now, fri(0, 0), localAt(loc, 2026, time.June, 21, 0, 0), 0)
	want := []time.Time{fri(22, 0), fri(22, 30), fri(23, 0), fri(23, 30), sat(0, 0), sat(0, 30)}
	require.Equal(t, showTimes(loc, want...), showTimes(loc, got...))

	// A window opening on Saturday still sees the grid of Friday 22:00.
	got = OpenSlots(r, nil, now, sat(0, 0), sat(23, 0), 0)
	require.Equal(t, showTimes(loc, sat(0, 0), sat(0, 30)), showTimes(loc, got...))
}

func TestOpenSlotsAdjacentRangesMerge(t *testing.T) {
	t.Parallel()
	loc := mustLocation(t, "America/Chicago")
	fri := func(h, m int) time.Time { return localAt(loc, 2026, time.June, 19, h, m) }
	sat := func(h, m int) time.Time { return localAt(loc, 2026, time.June, 20, h, m) }
	mon := func(h, m int) time.Time { return localAt(loc, 2026, time.June, 22, h, m) }

	t.Run("same day", func(t *testing.T) {
		t.Parallel()
		r := SlotRules{
			Location: loc,
			Weekly:   weeklyOn(time.Monday, tenant.ClockRange{Start: hhmm(9, 0), End: hhmm(12, 0)}, tenant.ClockRange{Start: hhmm(12, 0), End: hhmm(17, 0)}),
			Duration: 2 * time.Hour,
			Step:     time.Hour,
			Horizon:  30 * 24 * time.Hour,
		}
		got := OpenSlots(r, nil, fri(0, 0), mon(0, 0), mon(23, 0), 0)
		want := []time.Time{mon(9, 0), mon(10, 0), mon(11, 0), mon(12, 0), mon(13, 0), mon(14, 0), mon(15, 0)}
		require.Equal(t, showTimes(loc, want...), showTimes(loc, got...), "10:00 and 11:00 run across 12:00")
	})

	t.Run("across midnight", func(t *testing.T) {
		t.Parallel()
		var w tenant.Weekly
		w[time.Friday] = []tenant.ClockRange{{Start: hhmm(20, 15), End: hhmm(24, 0)}}
		w[time.Saturday] = []tenant.ClockRange{{Start: 0, End: hhmm(2, 0)}}
		r := SlotRules{Location: loc, Weekly: w, Duration: time.Hour, Step: 30 * time.Minute, Horizon: 30 * 24 * time.Hour}

		require.Equal(t, []string{"Fri 2026-06-19 20:15 CDT – Sat 2026-06-20 02:00 CDT"}, showIntervals(loc, OpenIntervals(loc, w, sat(1, 0), sat(1, 30))), "returned whole")

		got := OpenSlots(r, nil, fri(0, 0), fri(0, 0), sat(23, 0), 0)
		want := []time.Time{fri(20, 15), fri(20, 45), fri(21, 15), fri(21, 45), fri(22, 15), fri(22, 45), fri(23, 15), fri(23, 45), sat(0, 15), sat(0, 45)}
		require.Equal(t, showTimes(loc, want...), showTimes(loc, got...), "Saturday keeps Friday's :15/:45 grid")
	})

	t.Run("run longer than the default look-back", func(t *testing.T) {
		t.Parallel()
		var w tenant.Weekly
		w[time.Friday] = []tenant.ClockRange{{Start: hhmm(20, 15), End: hhmm(24, 0)}}
		w[time.Saturday] = []tenant.ClockRange{{Start: 0, End: hhmm(24, 0)}}
		w[time.Sunday] = []tenant.ClockRange{{Start: 0, End: hhmm(2, 0)}}
		r := SlotRules{Location: loc, Weekly: w, Duration: 30 * time.Minute, Step: 30 * time.Minute, Horizon: 30 * 24 * time.Hour}
		sun := func(h, m int) time.Time { return localAt(loc, 2026, time.June, 21, h, m) }

		got := OpenSlots(r, nil, fri(0, 0), sun(0, 0), sun(23, 0), 0)
		require.Equal(t, showTimes(loc, sun(0, 15), sun(0, 45), sun(1, 15)), showTimes(loc, got...), "anchored at Friday 20:15, two dates before the window")
		require.True(t, r.Fits(nil, fri(0, 0), sun(0, 15)))
		require.False(t, r.Fits(nil, fri(0, 0), sun(0, 0)))
		require.Equal(t, []string{"Fri 2026-06-19 20:15 CDT – Sun 2026-06-21 02:00 CDT"}, showIntervals(loc, OpenIntervals(loc, w, sun(1, 0), sun(1, 30))))
	})
}

// A template that is never closed has no start to anchor a grid on, so every local
// midnight starts one (a 35-minute step does not divide a day, which makes that visible).
func TestOpenSlotsAlwaysOpen(t *testing.T) {
	t.Parallel()
	var w tenant.Weekly
	for d := range w {
		w[d] = []tenant.ClockRange{{Start: 0, End: hhmm(24, 0)}}
	}
	r := SlotRules{Location: time.UTC, Weekly: w, Duration: 30 * time.Minute, Step: 35 * time.Minute, Horizon: 30 * 24 * time.Hour}
	now := utcAt(2026, time.June, 1, 0, 0)

	got := OpenSlots(r, nil, now, utcAt(2026, time.June, 15, 23, 0), utcAt(2026, time.June, 16, 1, 0), 0)
	want := []time.Time{utcAt(2026, time.June, 15, 23, 20), utcAt(2026, time.June, 15, 23, 55), utcAt(2026, time.June, 16, 0, 0), utcAt(2026, time.June, 16, 0, 35)}
	require.Equal(t, showTimes(time.UTC, want...), showTimes(time.UTC, got...))
	for _, s := range want {
		require.True(t, r.Fits(nil, now, s), "Fits(%s)", s)
	}
	require.False(t, r.Fits(nil, now, utcAt(2026, time.June, 16, 0, 30)))
}

func TestOpenSlotsEmptyWeekly(t *testing.T) {
	t.Parallel()
	loc := mustLocation(t, "Europe/London")
	r := SlotRules{Location: loc, Duration: time.Hour, Step: 15 * time.Minute, Horizon: 30 * 24 * time.Hour}
	now := localAt(loc, 2026, time.June, 15, 0, 0)

	require.Empty(t, OpenSlots(r, nil, now, now, now.AddDate(0, 0, 14), 0))
	require.Empty(t, OpenIntervals(loc, r.Weekly, now, now.AddDate(0, 0, 14)))
	require.False(t, r.Fits(nil, now, now.Add(time.Hour)))
}

// TestOpenSlotsMatchesOracle compares OpenSlots, Fits and OpenIntervals with a
// brute-force oracle on random templates, rules and busy lists placed around DST
// transitions.
func TestOpenSlotsMatchesOracle(t *testing.T) {
	t.Parallel()
	const seed = 20260301
	const cases = 500
	zones := []*time.Location{
		time.UTC,
		mustLocation(t, "America/New_York"),
		mustLocation(t, "Europe/London"),
		mustLocation(t, "America/Chicago"),
		mustLocation(t, "Australia/Lord_Howe"), // 30-minute DST
	}
	transitions := make(map[*time.Location][]time.Time)
	for _, loc := range zones {
		transitions[loc] = zoneTransitions(loc, utcAt(2025, time.June, 1, 0, 0), utcAt(2027, time.June, 1, 0, 0))
	}

	for i := range cases {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		loc := zones[rng.IntN(len(zones))]
		c := randomCase(rng, loc, transitions[loc])
		desc := fmt.Sprintf("seed %d case %d\n%s", seed, i, c)

		want := c.oracle.slots(c)
		got := OpenSlots(c.rules, c.busy, c.now, c.from, c.to, 0)
		require.Equal(t, showTimes(loc, want...), showTimes(loc, got...), desc)

		limit := 1 + rng.IntN(5)
		require.Equal(t, showTimes(loc, want[:min(limit, len(want))]...), showTimes(loc, OpenSlots(c.rules, c.busy, c.now, c.from, c.to, limit)...), "limit %d\n%s", limit, desc)

		for range 20 {
			var probe time.Time
			switch {
			case len(got) > 0 && rng.IntN(3) == 0:
				probe = got[rng.IntN(len(got))]
			default:
				probe = c.from.Add(time.Duration(rng.Int64N(int64(c.to.Sub(c.from))))).Truncate(time.Minute)
			}
			if rng.IntN(10) == 0 {
				probe = probe.Add(30 * time.Second)
			}
			if probe.Before(c.from) || !probe.Before(c.to) {
				continue
			}
			gotFits := c.rules.Fits(c.busy, c.now, probe)
			wantFits := slices.ContainsFunc(got, probe.Equal)
			require.Equal(t, wantFits, gotFits, "Fits(%s)\n%s", showTimes(loc, probe)[0], desc)
		}

		c.oracle.checkIntervals(t, OpenIntervals(loc, c.rules.Weekly, c.from, c.to), c.from, c.to, desc)
	}
}

// oracleCase is one random input and the minute-by-minute picture the oracle draws of it.
type oracleCase struct {
	rules         SlotRules
	busy          []Interval
	now, from, to time.Time
	oracle        *oracle
}

func (c oracleCase) String() string {
	var b strings.Builder
	loc := c.rules.Location
	fmt.Fprintf(&b, "zone %s duration %s step %s notice %s horizon %s\n", loc, c.rules.Duration, c.rules.Step, c.rules.MinNotice, c.rules.Horizon)
	fmt.Fprintf(&b, "now %s from %s to %s\n", c.now.In(loc), c.from.In(loc), c.to.In(loc))
	for d, ranges := range c.rules.Weekly {
		fmt.Fprintf(&b, "%s %v\n", time.Weekday(d), ranges)
	}
	for _, iv := range c.busy {
		fmt.Fprintf(&b, "busy %s\n", showIntervals(loc, []Interval{iv})[0])
	}
	return b.String()
}

// oracle decides everything minute by minute, building only the opening intervals of
// rule 1 with time.Date. It spans enough dates before the window that the look-back of
// rule 3 is exact, and enough after it to see where any bounded run ends.
type oracle struct {
	loc  *time.Location
	base time.Time // minute 0
	open []bool    // minute i is inside some opening interval
	free []int     // prefix sums of minutes that are open and not busy
	run  []int     // the first minute of the open run containing minute i
}

func newOracle(r SlotRules, busy []Interval, from, to time.Time) *oracle {
	loc := r.Location
	fy, fm, fd := from.In(loc).Date()
	ly, lm, ld := to.Add(r.Duration).In(loc).Date()
	first := time.Date(fy, fm, fd-lookbackDays-9, 0, 0, 0, 0, loc)
	last := time.Date(ly, lm, ld+lookbackDays, 0, 0, 0, 0, loc) // dates first..last-1 are built
	o := &oracle{loc: loc, base: first.Add(-3 * time.Hour).Truncate(time.Minute)}
	n := int(last.AddDate(0, 0, 2).Add(3*time.Hour).Sub(o.base) / time.Minute)
	o.open = make([]bool, n)
	busyMin := make([]bool, n)

	for day := first; day.Before(last); {
		y, m, d := day.Date()
		for _, cr := range r.Weekly[day.Weekday()] {
			start := time.Date(y, m, d, 0, cr.Start, 0, 0, loc)
			end := time.Date(y, m, d, 0, cr.End, 0, 0, loc)
			for i := o.index(start); i < o.index(end); i++ {
				o.open[i] = true
			}
		}
		day = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	}
	for _, b := range busy {
		for i := max(o.index(b.Start), 0); i < min(o.index(b.End), n); i++ {
			busyMin[i] = true
		}
	}
	o.free = make([]int, n+1)
	o.run = make([]int, n)
	for i := range n {
		o.free[i+1] = o.free[i]
		if o.open[i] && !busyMin[i] {
			o.free[i+1]++
		}
		o.run[i] = i
		if i > 0 && o.open[i] && o.open[i-1] {
			o.run[i] = o.run[i-1]
		}
	}
	return o
}

func (o *oracle) index(t time.Time) int {
	d := t.Sub(o.base)
	if d%time.Minute != 0 {
		panic(fmt.Sprintf("oracle: %s is not on a minute", t))
	}
	return int(d / time.Minute)
}

func (o *oracle) at(i int) time.Time { return o.base.Add(time.Duration(i) * time.Minute).In(o.loc) }

func (o *oracle) slots(c oracleCase) []time.Time {
	r := c.rules
	dur := int(r.Duration / time.Minute)
	var out []time.Time
	for i := o.index(c.from.Truncate(time.Minute)); i < len(o.open); i++ {
		t := o.at(i)
		if t.Before(c.from) || t.Before(c.now.Add(r.MinNotice)) {
			continue
		}
		if !t.Before(c.to) || !t.Before(c.now.Add(r.Horizon)) {
			break
		}
		if i+dur > len(o.open) {
			panic("oracle: window too short")
		}
		if o.free[i+dur]-o.free[i] != dur {
			continue
		}
		anchor := o.at(o.run[i])
		y, m, d := t.Date()
		if anchor.Before(time.Date(y, m, d-lookbackDays, 0, 0, 0, 0, o.loc)) {
			anchor = time.Date(y, m, d, 0, 0, 0, 0, o.loc)
		}
		if t.Sub(anchor)%r.Step == 0 {
			out = append(out, t)
		}
	}
	return out
}

// checkIntervals checks OpenIntervals against the oracle's open minutes: sorted, disjoint
// and separated by a closed minute, each intersecting [from, to), together covering every
// open minute of the window, and each whole unless the template never closes.
func (o *oracle) checkIntervals(t *testing.T, got []Interval, from, to time.Time, desc string) {
	t.Helper()
	lo, hi := o.index(from.Truncate(time.Minute)), o.index(to.Add(time.Minute-1).Truncate(time.Minute))
	covered := make([]bool, len(o.open))
	for k, iv := range got {
		require.True(t, iv.Start.Before(iv.End), "interval %d empty\n%s", k, desc)
		require.True(t, iv.Start.Before(to) && iv.End.After(from), "interval %d outside the window\n%s", k, desc)
		if k > 0 {
			require.True(t, got[k-1].End.Before(iv.Start), "intervals %d and %d not separated\n%s", k-1, k, desc)
		}
		s, e := o.index(iv.Start), o.index(iv.End)
		whole := iv.End.Sub(iv.Start) < 10*24*time.Hour
		if !whole { // cut from an endless run, possibly past the dates the oracle built
			s, e = max(s, lo), min(e, hi)
		}
		for i := s; i < e; i++ {
			if !o.open[i] {
				require.Fail(t, "closed minute inside an interval", "minute %s, interval %d\n%s", o.at(i), k, desc)
			}
			covered[i] = true
		}
		if whole {
			require.False(t, o.open[s-1], "interval %d does not start where its run starts\n%s", k, desc)
			require.False(t, o.open[e], "interval %d does not end where its run ends\n%s", k, desc)
		}
	}
	for i := lo; i < hi; i++ {
		if o.open[i] && !covered[i] {
			require.Fail(t, "open minute not covered", "minute %s\n%s", o.at(i), desc)
		}
	}
}

func zoneTransitions(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for t := from.In(loc); t.Before(to); {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		out = append(out, end)
		t = end
	}
	return out
}

func randomCase(rng *rand.Rand, loc *time.Location, transitions []time.Time) oracleCase {
	minutes := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	pivot := utcAt(2026, time.January, 1, 0, 0).Add(minutes(15 * rng.IntN(365*96)))
	if len(transitions) > 0 {
		pivot = transitions[rng.IntN(len(transitions))]
	}
	from := pivot.Add(minutes(15 * (rng.IntN(4*96) - 3*96))) // three days before to one after
	if rng.IntN(3) == 0 {
		from = from.Add(minutes(rng.IntN(15)))
	}
	to := from.Add(minutes(24*60 + rng.IntN(3*24*60+1)))
	now := from.Add(-minutes(rng.IntN(36 * 60))).Add(time.Duration(rng.IntN(60)) * time.Second)

	r := SlotRules{
		Location: loc,
		Weekly:   randomWeekly(rng),
		Duration: minutes(15 * (1 + rng.IntN(16))),
		Step:     minutes([]int{15, 30, 60, 15, 30, 60, 45, 90}[rng.IntN(8)]), // 45 and 90 show a misplaced grid anchor
		Horizon:  minutes(15 * (1 + rng.IntN(6*96))),
	}
	if rng.IntN(4) != 0 {
		r.MinNotice = minutes(15 * rng.IntN(97))
	}

	var busy []Interval
	span := int((to.Sub(from) + 48*time.Hour) / time.Minute)
	for range rng.IntN(26) {
		start := from.Add(-24 * time.Hour).Add(minutes(rng.IntN(span))).Truncate(time.Minute)
		end := start.Add(minutes(1 + rng.IntN(360)))
		if rng.IntN(20) == 0 {
			start, end = end, start // reversed: empty, blocks nothing
		}
		busy = append(busy, Interval{Start: start, End: end})
	}
	c := oracleCase{rules: r, busy: busy, now: now, from: from, to: to}
	c.oracle = newOracle(r, busy, from, to)
	return c
}

// randomWeekly draws up to three ranges a day on multiples of 15 minutes that satisfy
// tenant.Weekly's invariants: each range starts before 24:00 and lasts at most a day, and
// no range overlaps the next one in the week. Touching is allowed and made common, so that
// ranges merge across midnight; one template in four is dense, with runs lasting several
// days, and one in fifteen is always open.
func randomWeekly(rng *rand.Rand) tenant.Weekly {
	var w tenant.Weekly
	if rng.IntN(15) == 0 {
		for d := range w {
			w[d] = []tenant.ClockRange{{Start: 0, End: 24 * 60}}
		}
		return w
	}
	dense := rng.IntN(4) == 0
	const week = 7 * 24 * 60
	var starts []int // minutes since Sunday 00:00
	for d := range 7 {
		for range rng.IntN(4) {
			m := 15 * rng.IntN(96)
			if rng.IntN(5) == 0 || dense && rng.IntN(2) == 0 {
				m = 0
			}
			starts = append(starts, d*24*60+m)
		}
	}
	slices.Sort(starts)
	starts = slices.Compact(starts)
	for i, s := range starts {
		next := week + starts[0]
		if i+1 < len(starts) {
			next = starts[i+1]
		}
		length := min(next-s, 24*60) // touching the next range, or a whole day
		if dense && rng.IntN(8) == 0 || !dense && rng.IntN(3) != 0 {
			length = 15 * (1 + rng.IntN(length/15))
		}
		d, m := s/(24*60), s%(24*60)
		w[d] = append(w[d], tenant.ClockRange{Start: m, End: m + length})
	}
	return w
}

func BenchmarkOpenSlots(b *testing.B) {
	loc := mustLocation(b, "America/New_York")
	var w tenant.Weekly
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = []tenant.ClockRange{{Start: hhmm(8, 0), End: hhmm(12, 0)}, {Start: hhmm(13, 0), End: hhmm(18, 0)}}
	}
	r := SlotRules{Location: loc, Weekly: w, Duration: time.Hour, Step: 15 * time.Minute, MinNotice: 2 * time.Hour, Horizon: 14 * 24 * time.Hour}
	now := localAt(loc, 2026, time.June, 1, 7, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	busy := make([]Interval, 200)
	for i := range busy {
		start := now.Add(time.Duration(rng.IntN(14*24*4)) * 15 * time.Minute)
		busy[i] = Interval{Start: start, End: start.Add(time.Duration(1+rng.IntN(4)) * 15 * time.Minute)}
	}
	for _, limit := range []int{3, 0} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if len(OpenSlots(r, busy, now, now, now.Add(r.Horizon), limit)) == 0 {
					b.Fatal("no slots")
				}
			}
		})
	}
	b.Run("Fits", func(b *testing.B) {
		b.ReportAllocs()
		s := localAt(loc, 2026, time.June, 10, 9, 0)
		for b.Loop() {
			r.Fits(busy, now, s)
		}
	})
}
