// Package reminders owns the reminders of booked visits: when each is due (a pure
// function the appointment's writer calls in the transaction that books, moves or cancels
// the visit, so every reminder row is decided with the appointment it belongs to), and the
// scheduler that hands due reminders to the conversations that send them.
package reminders

import (
	"slices"
	"time"

	"ringback/clock"
)

// Due is one reminder of a visit: the policy offset it stands for and when it is sent.
// Skipped says why it is not sent at all ("" when it is).
type Due struct {
	Offset  time.Duration
	At      time.Time
	Skipped string
}

// Why a reminder is skipped.
const (
	SkipPassed = "passed"    // its time had gone when the visit was booked
	SkipMerged = "duplicate" // quiet hours moved it onto another reminder's time
)

// Quiet is when no reminder is sent: a daily window of local minutes after midnight,
// [Start, End), wrapping midnight when End < Start, read in Location. Reminders go in the
// customer's waking hours, so an endpoint without quiet hours uses DefaultQuiet's.
type Quiet struct {
	Location   *time.Location
	Start, End int
}

// DefaultQuiet is 21:00–08:00: the night, for an endpoint that configured no quiet hours.
func DefaultQuiet(loc *time.Location) Quiet { return Quiet{Location: loc, Start: 21 * 60, End: 8 * 60} }

func (q Quiet) location() *time.Location {
	if q.Location == nil {
		return time.UTC
	}
	return q.Location
}

func (q Quiet) contains(t time.Time) bool {
	return q.Start != q.End && clock.InDaily(q.Start, q.End, q.location(), t)
}

// eveningBefore is the local time of "the evening before" a visit, for a reminder that
// quiet hours would otherwise push past the visit.
const eveningBefore = 18 * 60

// Times places a visit's reminders: each offset before start (see before), in the order
// of offsets. One due inside quiet hours goes at their end if that is still before the
// visit, else the evening before it (moved earlier out of quiet hours if need be); one
// whose time has passed at booked is skipped (no 24 h reminder for a visit booked 3 h
// ahead), as is one that lands on another's time.
func Times(start, booked time.Time, offsets []time.Duration, q Quiet) []Due {
	out := make([]Due, 0, len(offsets))
	var taken []time.Time
	for _, off := range offsets {
		at := q.before(start, off)
		if q.contains(at) {
			if end := clock.NextWall(q.End, q.location(), at); end.Before(start) {
				at = end
			} else {
				at = q.eveningBefore(start)
			}
		}
		r := Due{Offset: off, At: at}
		switch {
		case !at.After(booked):
			r.Skipped = SkipPassed
		case slices.ContainsFunc(taken, at.Equal):
			r.Skipped = SkipMerged
		default:
			taken = append(taken, at)
		}
		out = append(out, r)
	}
	return out
}

// before is off before start: whole days on the local calendar (the 24 h reminder of a
// 10:00 visit goes at 10:00 the day before, across a DST change too), anything else on
// the clock.
func (q Quiet) before(start time.Time, off time.Duration) time.Time {
	const day = 24 * time.Hour
	if off <= 0 || off%day != 0 {
		return start.Add(-off)
	}
	l := start.In(q.location())
	return clock.WallInstants(l.Year(), l.Month(), l.Day()-int(off/day), l.Hour(), l.Minute(), q.location())[0]
}

// eveningBefore is 18:00 local on the day before start, or the last half hour before
// quiet hours that begin earlier than that.
func (q Quiet) eveningBefore(start time.Time) time.Time {
	y, mo, d := start.In(q.location()).Date()
	at := clock.WallInstants(y, mo, d-1, eveningBefore/60, eveningBefore%60, q.location())[0]
	for range 48 {
		if !q.contains(at) {
			break
		}
		at = at.Add(-30 * time.Minute)
	}
	return at
}
