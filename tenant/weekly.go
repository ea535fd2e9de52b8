package tenant

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

const (
	minutesPerDay = 24 * 60

	// dayKeysHint lists the keys of Resource.Hours for error messages.
	dayKeysHint = "mon, tue, wed, thu, fri, sat or sun"
)

// dayOfKey maps a key of Resource.Hours to its weekday.
func dayOfKey(key string) (time.Weekday, bool) {
	switch key {
	case "sun":
		return time.Sunday, true
	case "mon":
		return time.Monday, true
	case "tue":
		return time.Tuesday, true
	case "wed":
		return time.Wednesday, true
	case "thu":
		return time.Thursday, true
	case "fri":
		return time.Friday, true
	case "sat":
		return time.Saturday, true
	}
	return 0, false
}

// weekKeys are the keys of Resource.Hours in the order errors are reported: the week as
// a business writes it, Monday first.
func weekKeys() []string {
	return []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
}

// ParseClock reads a local wall-clock time "hh:mm" (00:00 to 23:59, two digits each) as
// minutes after midnight.
func ParseClock(s string) (int, error) {
	return parseClock(s, false)
}

// parseClock is ParseClock that also accepts "24:00" (1440) when endOfDay is set, for the
// end of an opening range.
func parseClock(s string, endOfDay bool) (int, error) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, fmt.Errorf("invalid time %q: want hh:mm such as 08:30", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if endOfDay && h == 24 && m == 0 {
		return minutesPerDay, nil
	}
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("invalid time %q: want hh:mm between 00:00 and 23:59", s)
	}
	return h*60 + m, nil
}

// parseRange reads "hh:mm-hh:mm" (spaces around the times allowed). The end may be
// "24:00"; an end before the start wraps past midnight ("22:00-02:00" is {1320, 1560}).
func parseRange(s string) (ClockRange, error) {
	startText, endText, ok := strings.Cut(s, "-")
	if !ok {
		return ClockRange{}, fmt.Errorf("invalid range %q: want hh:mm-hh:mm such as 08:00-12:00", s)
	}
	start, err := parseClock(strings.TrimSpace(startText), false)
	if err != nil {
		return ClockRange{}, fmt.Errorf("invalid range %q: start: %w", s, err)
	}
	end, err := parseClock(strings.TrimSpace(endText), true)
	if err != nil {
		return ClockRange{}, fmt.Errorf("invalid range %q: end: %w", s, err)
	}
	switch {
	case end == start:
		return ClockRange{}, fmt.Errorf("invalid range %q: start and end are equal", s)
	case end < start:
		end += minutesPerDay
	}
	return ClockRange{Start: start, End: end}, nil
}

// ParseWeekly compiles a resource's opening hours (keys mon..sun, values "hh:mm-hh:mm")
// into a Weekly: ranges sorted by Start within each day, indexed by time.Weekday.
//
// It reports, with paths relative to the resource ("hours.mon[1]", the index being the
// position as written): unknown day keys, malformed ranges, a range with equal start and
// end, and overlaps, both between ranges of one day and with the previous day's range
// that runs past midnight (Saturday's wraps into Sunday, Sunday's into Monday). Ranges
// that merely touch ("08:00-12:00", "12:00-13:00") do not overlap.
//
// Ranges with a problem are left out of the result, so it always satisfies Weekly's
// invariant even for invalid hours; of two overlapping ranges, the one that starts
// later is the one reported and left out. No hours at all yield an empty Weekly.
func ParseWeekly(hours map[string][]string) (Weekly, []FieldError) {
	type entry struct {
		r     ClockRange
		field string
		text  string
	}
	var (
		errs errorList
		days [7][]entry
	)

	var unknown []string
	for key := range hours {
		if _, ok := dayOfKey(key); !ok {
			unknown = append(unknown, key)
		}
	}
	slices.Sort(unknown)
	for _, key := range unknown {
		errs.add(joinPath("hours", key), "unknown day; want %s", dayKeysHint)
	}

	for _, key := range weekKeys() {
		day, _ := dayOfKey(key)
		for i, text := range hours[key] {
			field := indexPath(joinPath("hours", key), i)
			r, err := parseRange(strings.TrimSpace(text))
			if err != nil {
				errs.add(field, "%v", err)
				continue
			}
			days[day] = append(days[day], entry{r: r, field: field, text: text})
		}
	}

	// Overlaps within one day: after sorting, a range overlaps the one kept before it
	// exactly when it starts before that one ends.
	for _, key := range weekKeys() {
		day, _ := dayOfKey(key)
		slices.SortStableFunc(days[day], func(a, b entry) int { return cmp.Compare(a.r.Start, b.r.Start) })
		kept := days[day][:0]
		for _, e := range days[day] {
			if n := len(kept); n > 0 && e.r.Start < kept[n-1].r.End {
				errs.add(e.field, "overlaps %s (%q)", kept[n-1].field, kept[n-1].text)
				continue
			}
			kept = append(kept, e)
		}
		days[day] = kept
	}

	// Overlaps with the previous day's wrapped range. Only the last range of a day can
	// run past midnight (any range after it would overlap it), and its spill
	// [0, End-1440) never reaches a second day because it ends before its own start.
	for _, key := range weekKeys() {
		day, _ := dayOfKey(key)
		prev := days[(day+6)%7]
		if len(prev) == 0 || prev[len(prev)-1].r.End <= minutesPerDay {
			continue
		}
		wrapped := prev[len(prev)-1]
		spillEnd := wrapped.r.End - minutesPerDay
		kept := days[day][:0]
		for _, e := range days[day] {
			if e.r.Start < spillEnd {
				errs.add(e.field, "overlaps %s (%q), which runs past midnight", wrapped.field, wrapped.text)
				continue
			}
			kept = append(kept, e)
		}
		days[day] = kept
	}

	var w Weekly
	for day, entries := range days {
		for _, e := range entries {
			w[day] = append(w[day], e.r)
		}
	}
	return w, errs
}

// Weekly compiles the resource's hours, leaving out any range that Validate would
// refuse. Meant for hours that have been validated.
func (r Resource) Weekly() Weekly {
	w, _ := ParseWeekly(r.Hours)
	return w
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
