package resource

import (
	"cmp"
	"iter"
	"math"
	"slices"
	"time"

	"ringback/tenant"
)

// Interval is a half-open busySpan [Start, End) of absolute time.
type Interval struct{ Start, End time.Time }

// SlotRules are what decides where a service can start on a resource.
type SlotRules struct {
	Location  *time.Location // tenant's zone; opening hours are local wall-clock times in it
	Weekly    tenant.Weekly
	Duration  time.Duration // service duration, whole minutes, > 0
	Step      time.Duration // slot step, whole minutes, > 0
	MinNotice time.Duration // a slot may not start before now+MinNotice
	Horizon   time.Duration // a slot must start before now+Horizon; 0 offers nothing
}

// lookbackDays bounds the search for the beginning of a merged open interval. A weekly
// template with at least one closed minute yields merged intervals shorter than a week, or
// a little under two weeks when a DST night swallows its only closed gap; 16 days is past
// both, so only templates that are never closed reach the per-midnight grid of rule 3.
const lookbackDays = 16

const minutesPerDay = 24 * 60

// OpenIntervals returns the resource's opening hours as merged absolute intervals (rules
// 1 and 2 of OpenSlots) that intersect [from, to), sorted. Intervals are returned whole,
// not clipped to [from, to): one that began on an earlier date starts where it really
// starts, and one that runs on past to ends where it really ends. The exception is a
// template with no closed minute, whose one endless interval is cut a little more than
// lookbackDays (16) dates before from and after to.
func OpenIntervals(loc *time.Location, w tenant.Weekly, from, to time.Time) []Interval {
	if loc == nil || !from.Before(to) {
		return nil
	}
	last := dateOf(to, loc).AddDate(0, 0, 1)
	runs := openAround(loc, w, from, last)
	// Ranges of dates after last start no earlier than about midnight of last+1, so only a
	// merged interval that reaches midnight of last can continue into them.
	if n := len(runs); n > 0 && runs[n-1].Start.Before(to) && !runs[n-1].End.Before(wallClock(last, 0, loc)) {
		runs = openAround(loc, w, from, last.AddDate(0, 0, lookbackDays+3))
	}
	i := slices.IndexFunc(runs, func(iv Interval) bool { return iv.End.After(from) })
	if i < 0 {
		return nil
	}
	j := i
	for j < len(runs) && runs[j].Start.Before(to) {
		j++
	}
	return slices.Clone(runs[i:j])
}

// OpenSlots returns the start instants of free slots in [from, to), ascending, at most
// limit of them (limit <= 0: no limit), in r.Location. busy holds the intervals already
// taken (appointments, live holds, imported calendar busy blocks), in any order, may
// overlap; it is not modified. Rules without a Location or with a Duration or Step <= 0
// offer nothing.
//
// This is the definition of a slot; Fits and OpenIntervals follow it, and the tests check
// it against a minute-by-minute oracle:
//
//  1. Opening intervals. For each local calendar date D and each tenant.ClockRange{S, E}
//     of D's weekday, the opening interval is [wall(D, S), wall(D, E)), where wall(D, m)
//     is time.Date(D.Year, D.Month, D.Day, 0, m, 0, 0, loc). time.Date normalises minutes
//     past 59, so an E past 1440 lands on the next date. A wall-clock time that does not
//     exist or exists twice is resolved the way Go's time.Date resolves it, and that is
//     the definition, surprises included: in a spring-forward gap Go shifts the time by
//     the length of the gap, backwards in America/New_York (02:30 becomes 01:30 EST) but
//     forwards in Europe/London (01:30 becomes 02:30 BST); in a fall-back overlap it
//     picks the first occurrence in America/New_York but the second in Europe/London (Go
//     documents neither choice). An interval whose end is not after its start is skipped.
//  2. The open set is the union of the opening intervals. Overlapping or touching
//     intervals merge into one merged interval, across midnight too (Friday 20:00-24:00
//     and Saturday 00:00-02:00 are one merged interval).
//  3. The slot grid of a merged interval [a, b) is a, a+Step, a+2·Step, … in absolute
//     time (so on a fall-back night 01:30 can be offered twice, as two instants an hour
//     apart), and a candidate s must leave room for the service: s+Duration <= b. The
//     grid is anchored at the start of the whole merged interval however long before
//     the window it began, so the slots never depend on where a window starts. A merged
//     interval that began more than lookbackDays (16) local dates before s's date, which
//     only a template with no closed minute (24/7 hours) produces, has no usable start:
//     there s must be on the grid anchored at its own date's midnight, wall(date of s, 0).
//  4. A candidate s is a slot when from <= s < to, s >= now+MinNotice, s < now+Horizon,
//     and [s, s+Duration) overlaps no busy interval. Intervals are half-open, so a busy
//     interval ending exactly at s, or starting exactly at s+Duration, does not overlap.
//
// The work is proportional to the dates in the window plus the busy list (copied and
// sorted once) plus the slots returned, never to the minutes in the window, and a small
// limit stops the walk at the first slots found.
func OpenSlots(r SlotRules, busy []Interval, now, from, to time.Time, limit int) []time.Time {
	if !r.valid() {
		return nil
	}
	lo := laterOf(from, now.Add(r.MinNotice))
	hi := earlierOf(to, now.Add(r.Horizon))
	if !lo.Before(hi) {
		return nil
	}
	runs := openAround(r.Location, r.Weekly, lo, dateOf(hi.Add(r.Duration), r.Location).AddDate(0, 0, 1))
	blocks := busySpans(busy, lo, hi.Add(r.Duration))

	var slots []time.Time
	bi := 0 // blocks before bi end at or before the current candidate, which only grows
	for _, run := range runs {
		if !run.Start.Before(hi) {
			break
		}
		latest := run.End.Add(-r.Duration) // the last start that still fits in the run
		if latest.Before(lo) || latest.Before(run.Start) {
			continue
		}
		for seg := range gridSegments(r.Location, run) {
			if !seg.from.Before(hi) || seg.from.After(latest) {
				break
			}
			s := ceilGrid(seg.anchor, laterOf(seg.from, lo), r.Step)
			for s.Before(seg.until) && s.Before(hi) && !s.After(latest) {
				sn := unixNano(s)
				for bi < len(blocks) && blocks[bi].end <= sn {
					bi++
				}
				if bi < len(blocks) && blocks[bi].start < sn+int64(r.Duration) {
					s = ceilGrid(seg.anchor, time.Unix(0, blocks[bi].end), r.Step)
					continue
				}
				slots = append(slots, s)
				if limit > 0 && len(slots) >= limit {
					return slots
				}
				s = s.Add(r.Step)
			}
		}
	}
	return slots
}

// Fits reports whether s is a slot right now by the definition of OpenSlots (rules 1-4),
// without a window: s must be on the grid of its merged open interval, leave room for
// Duration before the interval ends, respect MinNotice and Horizon relative to now, and
// overlap no busy interval. It is what validates a requested hold, and it agrees with
// membership in OpenSlots for any window containing s.
func (r SlotRules) Fits(busy []Interval, now, s time.Time) bool {
	if !r.valid() || s.Before(now.Add(r.MinNotice)) || !s.Before(now.Add(r.Horizon)) {
		return false
	}
	end := s.Add(r.Duration)
	runs := openAround(r.Location, r.Weekly, s, dateOf(end, r.Location).AddDate(0, 0, 1))
	i := slices.IndexFunc(runs, func(iv Interval) bool { return iv.End.After(s) })
	if i < 0 || runs[i].Start.After(s) || end.After(runs[i].End) {
		return false
	}
	if s.Sub(gridAnchor(r.Location, runs[i], s))%r.Step != 0 {
		return false
	}
	for _, b := range busy {
		if b.Start.Before(b.End) && b.Start.Before(end) && s.Before(b.End) {
			return false
		}
	}
	return true
}

func (r SlotRules) valid() bool {
	return r.Location != nil && r.Duration > 0 && r.Step > 0
}

// openAround returns the merged open intervals (rules 1 and 2) built from the dates up to
// and including last, reaching back far enough that the merged interval containing any
// instant at or after from starts where it really starts, or, for a template with no
// closed minute, more than lookbackDays before from's date. The open set is exact up to
// midnight of last.
func openAround(loc *time.Location, w tenant.Weekly, from, last time.Time) []Interval {
	fromDate := dateOf(from, loc)
	first := fromDate.AddDate(0, 0, -2)
	runs := mergedOpening(loc, w, first, last)
	// Ranges of dates before first end by wall-clock 24:00 of first+1 (End <= 2880), which
	// is before midnight of first+2 even when a DST gap bends the resolution, so a merged
	// interval starting after that midnight cannot be joined by them. Otherwise look back
	// far enough for rule 3 to tell a bounded interval from an endless one.
	i := slices.IndexFunc(runs, func(iv Interval) bool { return iv.End.After(from) })
	if i >= 0 && !runs[i].Start.After(wallClock(first, 2*minutesPerDay, loc)) {
		runs = mergedOpening(loc, w, fromDate.AddDate(0, 0, -(lookbackDays+3)), last)
	}
	return runs
}

// mergedOpening builds the opening intervals of the dates first..last (rule 1) and merges
// them (rule 2). Dates are held as UTC midnights so that AddDate and Weekday are plain
// calendar arithmetic, untouched by the tenant's DST.
func mergedOpening(loc *time.Location, w tenant.Weekly, first, last time.Time) []Interval {
	var ivs []Interval
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		for _, cr := range w[day.Weekday()] {
			iv := Interval{Start: wallClock(day, cr.Start, loc), End: wallClock(day, cr.End, loc)}
			if iv.End.After(iv.Start) {
				ivs = append(ivs, iv)
			}
		}
	}
	return mergeIntervals(ivs)
}

// busySpan is an interval in Unix nanoseconds. The busy list is sorted and scanned in this
// form because sorting integer pairs is several times cheaper than sorting time.Time
// pairs, and with a small limit the sort is most of the work.
type busySpan struct{ start, end int64 }

// busySpans returns the busy intervals that can overlap a candidate in [lo, hi) as sorted,
// merged spans, leaving busy untouched. Merging touching intervals changes nothing: a
// candidate overlaps the union exactly when it overlaps one of them. Empty intervals
// block nothing and are dropped.
func busySpans(busy []Interval, lo, hi time.Time) []busySpan {
	l, h := unixNano(lo), unixNano(hi)
	spans := make([]busySpan, 0, len(busy))
	for _, b := range busy {
		if sp := (busySpan{unixNano(b.Start), unixNano(b.End)}); sp.start < sp.end && sp.end > l && sp.start < h {
			spans = append(spans, sp)
		}
	}
	slices.SortFunc(spans, func(a, b busySpan) int { return cmp.Compare(a.start, b.start) })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && sp.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// unixNano is t.UnixNano saturated to the years 1678-2262 that int64 nanoseconds can
// hold, so that a busy interval ending in the year 9999 ("blocked until further notice")
// still ends after every candidate.
func unixNano(t time.Time) int64 {
	const limit = math.MaxInt64 / int64(time.Second) // whole seconds that cannot overflow
	switch sec := t.Unix(); {
	case sec >= limit:
		return math.MaxInt64
	case sec <= -limit:
		return math.MinInt64
	}
	return t.UnixNano()
}

// mergeIntervals sorts non-empty ivs by start in place and merges overlapping or touching
// ones (rule 2), reusing ivs' backing array.
func mergeIntervals(ivs []Interval) []Interval {
	slices.SortFunc(ivs, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	out := ivs[:0]
	for _, iv := range ivs {
		if n := len(out); n > 0 && !iv.Start.After(out[n-1].End) {
			if iv.End.After(out[n-1].End) {
				out[n-1].End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// segment is a stretch of a merged open interval whose candidate starts s, from <= s <
// until, lie on one grid: anchor + k·Step.
type segment struct{ anchor, from, until time.Time }

// gridSegments yields the grid segments of run in order (rule 3): one anchored at the
// run's start, then, for a run that began more than lookbackDays dates before, one per
// local date anchored at that date's midnight.
func gridSegments(loc *time.Location, run Interval) iter.Seq[segment] {
	return func(yield func(segment) bool) {
		split := perMidnightFrom(loc, run)
		if split.After(run.Start) && !yield(segment{anchor: run.Start, from: run.Start, until: earlierOf(split, run.End)}) {
			return
		}
		if !split.Before(run.End) {
			return
		}
		for day := dateOf(split, loc); ; day = day.AddDate(0, 0, 1) {
			from := startOfDate(day, loc)
			if !from.Before(run.End) {
				return
			}
			seg := segment{anchor: wallClock(day, 0, loc), from: laterOf(from, run.Start), until: earlierOf(startOfDate(day.AddDate(0, 0, 1), loc), run.End)}
			if !yield(seg) {
				return
			}
		}
	}
}

// perMidnightFrom returns the first instant of run whose grid restarts at local midnight
// (rule 3): the start of the first date D with run.Start < wall(D-lookbackDays, 0). It
// returns run.End when there is none.
func perMidnightFrom(loc *time.Location, run Interval) time.Time {
	// Every date within 14 days of the start still has the start inside its look-back,
	// whatever DST does, so short runs (all real ones) skip the date arithmetic.
	if run.End.Sub(run.Start) <= 14*24*time.Hour {
		return run.End
	}
	day := dateOf(run.Start, loc).AddDate(0, 0, lookbackDays)
	for !wallClock(day.AddDate(0, 0, -lookbackDays), 0, loc).After(run.Start) {
		day = day.AddDate(0, 0, 1)
	}
	return earlierOf(startOfDate(day, loc), run.End)
}

// gridAnchor is rule 3 for a single start s inside run: the run's start, or s's local
// midnight when the run began more than lookbackDays dates before s's date.
func gridAnchor(loc *time.Location, run Interval, s time.Time) time.Time {
	day := dateOf(s, loc)
	if run.Start.Before(wallClock(day.AddDate(0, 0, -lookbackDays), 0, loc)) {
		return wallClock(day, 0, loc)
	}
	return run.Start
}

// ceilGrid returns the first point of the grid anchor + k·step (k >= 0) at or after t.
func ceilGrid(anchor, t time.Time, step time.Duration) time.Time {
	d := t.Sub(anchor)
	if d <= 0 {
		return anchor
	}
	k := (d + step - 1) / step
	return anchor.Add(k * step)
}

// dateOf returns t's local calendar date in loc as a UTC midnight.
func dateOf(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// wallClock resolves minute m after local midnight of date day (a UTC midnight) in loc
// exactly as rule 1 says: with time.Date, which normalises m past 59 or past a day.
func wallClock(day time.Time, m int, loc *time.Location) time.Time {
	y, mo, d := day.Date()
	return time.Date(y, mo, d, 0, m, 0, 0, loc)
}

// startOfDate returns the first instant whose local date in loc is day. That is usually
// local midnight; when midnight falls in a DST gap that Go resolves into the previous
// evening, the date begins when the gap ends.
func startOfDate(day time.Time, loc *time.Location) time.Time {
	m := wallClock(day, 0, loc)
	if dateOf(m, loc).Equal(day) {
		return m
	}
	if _, end := m.ZoneBounds(); !end.IsZero() {
		return end
	}
	return m
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlierOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
