package clock

import (
	"slices"
	"time"
)

// Wall-clock arithmetic: windows of the local day (quiet hours, waking hours) and the
// instants a local date and time name, across daylight-saving changes.

// InDaily reports whether t lies in the daily window [start, end) of local minutes after
// midnight, read on the wall clock in loc; the window wraps midnight when end < start
// (21:00–08:00). On a spring-forward day a window that starts inside the skipped hour
// starts when the clock jumps past it; on a fall-back day a repeated wall-clock time is
// judged the same way both times it occurs.
func InDaily(start, end int, loc *time.Location, t time.Time) bool {
	local := t.In(loc)
	m := local.Hour()*60 + local.Minute()
	if start < end {
		return start <= m && m < end
	}
	return m >= start || m < end
}

// NextWall returns the first instant strictly after t at which the wall clock in loc
// reads the local minute `at`. If that minute does not exist on a day (a spring-forward
// gap, such as 02:30 on a US spring-forward day), that day's instant is the first valid
// one after the gap; if it occurs twice (a fall-back day), each occurrence counts.
func NextWall(at int, loc *time.Location, t time.Time) time.Time {
	y, mo, d := t.In(loc).Date()
	// The day before is included for zones whose clock falls back across midnight (the
	// wall-clock date goes backwards).
	for k := -1; k <= 2; k++ {
		for _, w := range WallInstants(y, mo, d+k, at/60, at%60, loc) {
			if w.After(t) {
				return w
			}
		}
	}
	return time.Time{} // not reached: the wall clock reads `at` (or jumps over it) every day
}

// WallInstants returns, in order, the instants at which the wall clock in loc reads the
// given local date and time: one on an ordinary day, two when a fall-back repeats it, and
// when a spring-forward gap skips it, the first instant after the gap. Month and day may
// be out of range; they are normalized as by time.Date.
func WallInstants(year int, month time.Month, day, hour, minute int, loc *time.Location) []time.Time {
	want := time.Date(year, month, day, hour, minute, 0, 0, time.UTC)
	// The candidate instants are the wall time read with each UTC offset in effect
	// around it. Offsets are within a day of UTC, so the offsets a day either side of
	// the wall time cover any transition near it.
	var offsets []int
	for _, at := range []time.Time{want.Add(-24 * time.Hour), want, want.Add(24 * time.Hour)} {
		_, off := at.In(loc).Zone()
		if !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	var exact, after []time.Time
	for _, off := range offsets {
		t := want.Add(-time.Duration(off) * time.Second).In(loc)
		switch w := wallAsUTC(t); {
		case w.Equal(want):
			if !slices.ContainsFunc(exact, t.Equal) {
				exact = append(exact, t)
			}
		case w.After(want):
			after = append(after, t)
		}
	}
	if len(exact) > 0 {
		slices.SortFunc(exact, time.Time.Compare)
		return exact
	}
	if len(after) == 0 {
		return nil // not reached for real zones
	}
	// A gap: a candidate read with the offset from before the gap lands after it, in the
	// zone period that starts at the transition, which is the first valid instant.
	first := slices.MinFunc(after, time.Time.Compare)
	start, _ := first.ZoneBounds()
	if start.IsZero() || !wallAsUTC(start).After(want) {
		return []time.Time{first}
	}
	return []time.Time{start.In(loc)}
}

// wallAsUTC is t's local date and wall-clock time as the same reading in UTC, so that
// wall-clock readings compare with Equal and After.
func wallAsUTC(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}
