package conversation

import (
	"fmt"
	"strings"
	"time"
)

// Window is a day or time window a customer asked for ("thursday after 3", "tomorrow
// morning", "not before 10"), in the business's zone.
type Window struct {
	// From and To bound the window's instants, [From, To); To is zero when the window is
	// open-ended ("after 5": any day from now on, up to the offer horizon).
	From, To time.Time
	// Lo and Hi are the minutes of the local day each day of the window allows, [Lo, Hi):
	// 0 and 1440 for the whole day.
	Lo, Hi int
	// Weekdays is the set of allowed weekdays as bits (1<<time.Sunday …); 0 allows all.
	Weekdays uint8
	// Label is how the window reads in a text: "Thu Mar 5 after 3 PM".
	Label string
}

// Contains reports whether an option starting at t lies in the window (read in loc).
func (w Window) Contains(t time.Time, loc *time.Location) bool {
	if t.Before(w.From) || !w.To.IsZero() && !t.Before(w.To) {
		return false
	}
	local := t.In(loc)
	mins := local.Hour()*60 + local.Minute()
	if mins < w.Lo || mins >= w.Hi {
		return false
	}
	return w.Weekdays == 0 || w.Weekdays&(1<<uint(local.Weekday())) != 0
}

// when is what a message says about the time it wants, before it becomes a Window.
type when struct {
	days     bool
	d0, d1   time.Time // local midnights of the first and last day, when days
	weekdays uint8
	lo, hi   int
	at, alt  int  // a stated time ("at 2", "12:30") and its other half-day reading, -1 none
	exact    bool // a stated time or day without qualifiers: it can name one offered option
	fromNow  bool
}

// window reads the day and time the message asks for. ok is false when it names none.
func (m *message) window(loc *time.Location, now time.Time) (when, bool) {
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	w := when{lo: 0, hi: 1440, at: -1, alt: -1}
	var days []time.Time
	span := false // days joined by "or", "to", "through": the range between them
	qualified := false
	addSpan := func(a, b time.Time) {
		days = append(days, a, b)
		span = true
	}
	for i, t := range m.toks {
		prev := m.at(i - 1)
		switch {
		case t.w == "today":
			days = append(days, today)
		case t.w == "tonight":
			days = append(days, today)
			w.lo, w.hi, qualified = 1020, 1260, true
		case t.w == "tomorrow":
			if prev.w == "after" && m.at(i-2).w == "day" {
				days = append(days, today.AddDate(0, 0, 2))
			} else {
				days = append(days, today.AddDate(0, 0, 1))
			}
		case weekdayOf[t.w] > 0:
			wd := time.Weekday(weekdayOf[t.w] - 1)
			if strings.HasSuffix(t.raw, "s") && t.raw != "thurs" && t.raw != "tues" && t.raw != "weds" && len(t.raw) > 4 {
				w.weekdays |= 1 << uint(wd) // "mondays": any Monday
				continue
			}
			off := (int(wd) - int(today.Weekday()) + 7) % 7
			if prev.w == "next" && off == 0 || prev.w == "following" {
				off += 7 // "the following wednesday": the week after
			}
			days = append(days, today.AddDate(0, 0, off))
		case t.w == "weekend":
			if strings.HasSuffix(t.raw, "s") {
				w.weekdays |= 1<<uint(time.Saturday) | 1<<uint(time.Sunday)
				continue
			}
			off := (int(time.Saturday) - int(today.Weekday()) + 7) % 7
			if today.Weekday() == time.Sunday {
				addSpan(today, today)
				continue
			}
			if prev.w == "next" && off < 7 {
				off += 7
			}
			addSpan(today.AddDate(0, 0, off), today.AddDate(0, 0, off+1))
		case t.w == "weekday":
			w.weekdays |= 0b0111110
		case t.w == "week":
			toSunday := (7 - int(today.Weekday())) % 7
			switch {
			case prev.w == "next" || prev.w == "following":
				monday := today.AddDate(0, 0, toSunday+1)
				addSpan(monday, monday.AddDate(0, 0, 6))
			case prev.w == "of" || m.at(i-2).w == "of" || prev.w == "end":
				// "end of the week": Thursday to Saturday of this week
				thu := today.AddDate(0, 0, (int(time.Thursday)-int(today.Weekday())+7)%7)
				if thu.After(today.AddDate(0, 0, toSunday)) {
					thu = today
				}
				addSpan(thu, today.AddDate(0, 0, toSunday))
			case prev.w == "this" || prev.w == "later" || prev.w == "the":
				addSpan(today, today.AddDate(0, 0, toSunday))
			}
		case t.mo > 0:
			days = append(days, dateOf(today, time.Month(t.mo), t.dd, loc))
		case t.isNum() && t.num >= 1 && t.num <= 8 && prev.w == "in" && (m.at(i+1).w == "week" || m.at(i+1).w == "days"):
			// "in 2 weeks": that week, Monday to Sunday; "in 3 days": that day
			if m.at(i+1).w == "days" {
				days = append(days, today.AddDate(0, 0, t.num))
				continue
			}
			then := today.AddDate(0, 0, 7*t.num)
			monday := then.AddDate(0, 0, -((int(then.Weekday()) + 6) % 7))
			addSpan(monday, monday.AddDate(0, 0, 6))
		case monthNums[t.w] > 0:
			next := m.at(i + 1)
			if (next.isNum() || next.w == "ordinal") && next.num >= 1 && next.num <= 31 {
				days = append(days, dateOf(today, time.Month(monthNums[t.w]), next.num, loc))
			} else if p := m.at(i - 2); prev.w == "of" && p.w == "ordinal" {
				days = append(days, dateOf(today, time.Month(monthNums[t.w]), p.num, loc))
			}
			if !m.at(i+1).isNum() && prev.w != "of" && m.at(i-2).w != "of" {
				first := dateOf(today, time.Month(monthNums[t.w]), 1, loc)
				if first.Month() == today.Month() {
					first = today // "in march", said in March: the rest of it
				}
				addSpan(first, time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, loc))
			}
		case t.w == "ordinal" && t.num >= 1 && t.num <= 31 && monthNums[prev.w] == 0 && m.at(i+1).w != "of":
			d := time.Date(today.Year(), today.Month(), t.num, 0, 0, 0, 0, loc)
			if d.Before(today) {
				d = time.Date(today.Year(), today.Month()+1, t.num, 0, 0, 0, 0, loc)
			}
			days = append(days, d)
		case t.w == "or" || t.w == "through" || t.w == "thru" || t.w == "to" && len(days) > 0:
			if len(days) > 0 {
				span = true
			}
		case (t.raw == "start" || t.raw == "beginning" || t.raw == "early" || t.raw == "mid" || t.raw == "middle") && m.at(i+1).w == "of" || (t.raw == "early" || t.raw == "mid") && monthNums[m.at(i+1).w] > 0:
			j := i + 1
			if m.at(j).w == "of" {
				j++
			}
			if m.at(j).w == "the" {
				j++
			}
			if mo := monthNums[m.at(j).w]; mo > 0 {
				first := dateOf(today, time.Month(mo), 1, loc)
				if t.raw == "mid" || t.raw == "middle" {
					addSpan(first.AddDate(0, 0, 9), first.AddDate(0, 0, 19))
				} else {
					addSpan(first, first.AddDate(0, 0, 9))
				}
			}
		case t.w == "end" && m.at(i+1).w == "of":
			j := i + 2
			if m.at(j).w == "the" {
				j++
			}
			switch what := m.at(j).w; {
			case what == "day":
				w.lo, qualified = max(w.lo, 900), true // "end of the day": from 3 PM
			case monthNums[what] > 0:
				first := dateOf(today, time.Month(monthNums[what]), 1, loc)
				if first.Month() == today.Month() && first.Year() > today.Year() {
					first = time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc)
				}
				last := first.AddDate(0, 1, -1)
				addSpan(last.AddDate(0, 0, -9), last)
			}
		case t.w == "anytime" || t.w == "whenever":
			qualified = true
		case t.w == "asap" || t.w == "soonest":
			w.fromNow = true
		case t.w == "later" && (m.at(i+1).w == "today" || prev.w == "today"):
			w.fromNow = true
		}
	}
	// Parts of the day.
	for i, t := range m.toks {
		p := partOfDay[t.w]
		if p == nil || (t.w == "am" || t.w == "pm") && (m.at(i-1).isNum() || m.at(i-1).hh >= 0) {
			continue
		}
		if t.w == "morning" && m.at(i-1).w == "good" {
			continue // a greeting
		}
		lo, hi := p[0], p[1]
		switch prev := m.at(i - 1).w; {
		case prev == "early" && t.w == "morning":
			hi = 600
		case prev == "early":
			hi = lo + 180
		case prev == "late":
			lo = hi - 120
		case t.w == "first" || t.w == "thing":
			if !(m.at(i-1).w == "first" && t.w == "thing") {
				continue
			}
		}
		w.lo, w.hi, qualified = max(w.lo, lo), min(w.hi, hi), true
		if w.lo >= w.hi {
			w.lo, w.hi = lo, hi
		}
	}
	// Stated times and what qualifies them.
	for i := 0; i < len(m.toks); i++ {
		mins, explicit, ok := m.timeAt(i)
		if !ok {
			continue
		}
		prep := m.at(i - 1).w
		negated := m.within(max(0, i-4), min(3, i), negations)
		switch {
		case prep == "between" || prep == "from" || m.at(i+1).w == "num" && !m.timeBound(i) || m.at(i+1).w == "and" || m.at(i+1).w == "to":
			j := i + 1
			if w := m.at(j).w; w == "and" || w == "to" || w == "before" {
				j++
			}
			end, endExplicit, okEnd := m.timeAt(j)
			if e := m.at(j); !okEnd && e.isNum() && e.w == "num" && e.num >= 1 && e.num <= 23 {
				end, endExplicit, okEnd = e.num*60, e.num > 12, true // "between 1 and 3"
			}
			if !okEnd {
				if prep == "from" {
					w.lo, qualified = inferHalf(mins, explicit), true
				}
				continue
			}
			a, b := inferRange(mins, explicit, end, endExplicit)
			w.lo, w.hi, qualified = a, b, true
			i = j
		case prep == "after" || prep == "past" || prep == "since":
			if negated {
				w.hi, qualified = inferHalf(mins, explicit), true
			} else {
				w.lo, qualified = inferHalf(mins, explicit), true
			}
		case prep == "before" || prep == "by":
			if negated {
				w.lo, qualified = inferHalf(mins, explicit), true
			} else {
				w.hi, qualified = inferHalf(mins, explicit), true
			}
		case prep == "than" && (m.at(i-2).w == "earlier" || m.at(i-2).w == "sooner"):
			w.lo, qualified = inferHalf(mins, explicit), true
		case prep == "than" && m.at(i-2).w == "later":
			w.hi, qualified = inferHalf(mins, explicit), true
		case prep == "around":
			t := inferHalf(mins, explicit)
			w.lo, w.hi, qualified = max(0, t-60), min(1440, t+60), true
		default: // "at 3", "3pm", "12:30", "noon"
			t := inferHalf(mins, explicit)
			w.at, w.lo, w.hi = t, t, min(1440, t+60)
			if !explicit && mins < 12*60 && mins >= 60 {
				w.alt = mins // the other reading of "at 2": 2 AM against 2 PM
				if t == mins {
					w.alt = mins + 720
				}
			}
		}
	}
	if w.lo >= w.hi {
		w.lo, w.hi = 0, 1440
	}
	w.days = len(days) > 0
	if w.days {
		w.d0, w.d1 = days[len(days)-1], days[len(days)-1]
		if span {
			w.d0, w.d1 = days[0], days[0]
			for _, d := range days {
				if d.Before(w.d0) {
					w.d0 = d
				}
				if d.After(w.d1) {
					w.d1 = d
				}
			}
		}
	}
	has := w.days || w.at >= 0 || qualified || w.fromNow || w.weekdays != 0
	w.exact = has && !qualified && !w.fromNow && w.weekdays == 0 && (!span || w.d0.Equal(w.d1))
	return w, has
}

// timeAt reads a time of day at token i: "12:30", "3pm", "3 pm", "noon", or a bare
// number after a time preposition ("at 3", "after 930"). explicit says AM or PM was given
// (or the hour says it: 13:00, noon).
func (m *message) timeAt(i int) (mins int, explicit, ok bool) {
	t := m.at(i)
	next := m.at(i + 1)
	ampm := func(h, mi int) (int, bool, bool) {
		switch next.w {
		case "am":
			if h == 12 {
				h = 0
			}
			return h*60 + mi, true, h <= 12
		case "pm":
			if h < 12 {
				h += 12
			}
			return h*60 + mi, true, h < 24
		}
		return h*60 + mi, h == 0 || h > 12, h <= 23
	}
	switch {
	case t.w == "noon":
		return 720, true, true
	case t.hh >= 0:
		return ampm(t.hh, t.mm)
	case t.isNum() && t.w == "num":
		n := t.num
		h, mi := n, 0
		if n >= 100 {
			h, mi = n/100, n%100
			if mi > 59 {
				return 0, false, false
			}
		}
		if h > 23 {
			return 0, false, false
		}
		if m.at(i-1).w == "dollars" || next.w == "dollars" {
			return 0, false, false
		}
		if next.w == "am" || next.w == "pm" || next.w == "oclock" || timePreps[m.at(i-1).w] || m.nearTo(i) || (dayWords[m.at(i-1).w] || namedDays[next.w] && !next.brk) && n >= 1 && n <= 12 ||
			m.clockDigits(i) || m.approxTime(i) || m.rangeEnd(i) {
			// "1230 works", "the 9 tmr", "afternoon like 3", "between 10 and 2"
			return ampm(h, mi)
		}
		// the first of a range "1-3pm": read when the next number is a time
		if m.at(i+1).isNum() && (m.at(i+2).w == "am" || m.at(i+2).w == "pm") {
			return h*60 + mi, false, true
		}
	case t.isNum() && (next.w == "am" || next.w == "pm" || next.w == "oclock") && t.num <= 12:
		return ampm(t.num, 0) // "two pm"
	}
	return 0, false, false
}

// clockDigits says the number at i is a clock time written without its colon, said as a
// choice or alone: "1230 works", "930?"; not a price ("for 120") or a phone number.
func (m *message) clockDigits(i int) bool {
	t, next := m.at(i), m.at(i+1)
	if t.num < 100 || len(t.raw) < 3 || t.raw[0] == '0' || t.num%100 > 59 || t.num%5 != 0 || t.num/100 > 12 {
		return false
	}
	return choosing[next.w] && !next.brk || len(m.content) == 1 && t.num%100 != 0
}

// nearTo says the number at i follows "closer to", "close to" or "near to": "can he come
// closer to 4".
func (m *message) nearTo(i int) bool {
	return m.at(i-1).w == "to" && nearWords[m.at(i-2).w]
}

// approxTime says the number at i follows "like" after a day or a part of the day:
// "tomorrow afternoon like 3".
func (m *message) approxTime(i int) bool {
	p := m.at(i - 2)
	return m.at(i-1).raw == "like" && (dayWords[p.w] || partOfDay[p.w] != nil)
}

// rangeEnd says the number at i closes a range whose start is a time: "between 10 and 2",
// "from 9 to 11".
func (m *message) rangeEnd(i int) bool {
	switch m.at(i - 1).w {
	case "and", "to", "or", "through":
	default:
		return false
	}
	start := m.at(i - 2)
	return start.hh >= 0 || start.isNum() && timePreps[m.at(i-3).w]
}

// inferHalf places a time given without AM or PM in the working day: 1 to 6 are
// afternoon, 7 to 11 morning, 12 noon.
func inferHalf(mins int, explicit bool) int {
	if explicit {
		return mins
	}
	h := mins / 60
	if h >= 1 && h <= 6 {
		return mins + 720
	}
	return mins
}

// inferRange places a range such as "between 1 and 3", "8-10am" or "from 11 to 2".
func inferRange(a int, aExplicit bool, b int, bExplicit bool) (int, int) {
	if !bExplicit {
		b = inferHalf(b, false)
	}
	if !aExplicit {
		a = inferHalf(a, false)
		if bExplicit && b >= 720 && a < 720 && a+720 < b {
			a += 720 // "1-3pm"
		}
		if a > b && a >= 720 && a-720 < b {
			a -= 720 // "11-2": 11 AM to 2 PM stays; "8-10pm" was caught above
		}
	}
	if a >= b {
		return 0, 1440
	}
	return a, b
}

// dateOf is the next month/day on or after today (this year or the next).
func dateOf(today time.Time, mo time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(today.Year(), mo, d, 0, 0, 0, 0, loc)
	if t.Before(today) {
		t = time.Date(today.Year()+1, mo, d, 0, 0, 0, 0, loc)
	}
	return t
}

// matches says an option starting at start is the one a stated day or time names.
func (w when) matches(start time.Time, loc *time.Location) bool {
	local := start.In(loc)
	if w.days {
		day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
		if day.Before(w.d0) || day.After(w.d1) {
			return false
		}
	}
	mins := local.Hour()*60 + local.Minute()
	if w.at >= 0 {
		return mins == w.at || mins == w.alt
	}
	if w.weekdays != 0 && w.weekdays&(1<<uint(local.Weekday())) == 0 {
		return false
	}
	return mins >= w.lo && mins < w.hi
}

// toWindow turns what the message said into the window to search, in loc from now.
func (w when) toWindow(loc *time.Location, now time.Time) Window {
	local := now.In(loc)
	out := Window{Lo: w.lo, Hi: w.hi, Weekdays: w.weekdays, From: now}
	if w.days {
		from := wallAt(w.d0, w.lo, loc)
		if from.After(now) {
			out.From = from
		}
		out.To = wallAt(w.d1.AddDate(0, 0, 1), 0, loc)
	} else if w.lo > 0 {
		today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
		if from := wallAt(today, w.lo, loc); from.After(now) {
			out.From = from
		}
	}
	out.Label = w.label(local)
	return out
}

// wallAt is the instant the wall clock of day reads mins (after a spring-forward gap
// when it falls in one).
func wallAt(day time.Time, mins int, loc *time.Location) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), mins/60, mins%60, 0, 0, loc)
}

// label says the window in words for the texts: "Thu Mar 5 after 3 PM".
func (w when) label(today time.Time) string {
	var parts []string
	switch {
	case w.days && w.d0.Equal(w.d1):
		parts = append(parts, w.d0.Format("Mon Jan 2"))
	case w.days:
		parts = append(parts, w.d0.Format("Mon Jan 2")+" to "+w.d1.Format("Mon Jan 2"))
	}
	if w.weekdays != 0 {
		var names []string
		for d := time.Sunday; d <= time.Saturday; d++ {
			if w.weekdays&(1<<uint(d)) != 0 {
				names = append(names, d.String()[:3])
			}
		}
		parts = append(parts, "on "+strings.Join(names, "/"))
	}
	switch {
	case w.lo > 0 && w.hi < 1440:
		parts = append(parts, "between "+clockLabel(w.lo)+" and "+clockLabel(w.hi))
	case w.lo > 0:
		parts = append(parts, "after "+clockLabel(w.lo))
	case w.hi < 1440:
		parts = append(parts, "before "+clockLabel(w.hi))
	}
	if len(parts) == 0 {
		return "then"
	}
	return strings.Join(parts, " ")
}

// clockLabel shows minutes of the day as "3 PM" or "12:30 PM".
func clockLabel(mins int) string {
	h, mi := mins/60, mins%60
	half := "AM"
	if h >= 12 {
		half = "PM"
	}
	if h = h % 12; h == 0 {
		h = 12
	}
	if mi == 0 {
		return fmt.Sprintf("%d %s", h, half)
	}
	return fmt.Sprintf("%d:%02d %s", h, mi, half)
}
