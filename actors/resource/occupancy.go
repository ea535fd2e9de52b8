package resource

import (
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
)

// occupancy indexes a resource's live claims by start time, so checking one interval costs
// a binary search rather than a scan of every claim (a busy resource holds thousands).
type occupancy struct {
	list   []*entry      // sorted by Start, then ID
	maxLen time.Duration // longest claim ever indexed: bounds the backward scan
}

func entryLess(a, b *entry) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	return slices.Compare(a.ID[:], b.ID[:])
}

func (o *occupancy) add(e *entry) {
	i, _ := slices.BinarySearchFunc(o.list, e, entryLess)
	o.list = slices.Insert(o.list, i, e)
	o.maxLen = max(o.maxLen, e.End.Sub(e.Start))
}

func (o *occupancy) remove(e *entry) {
	if i, ok := slices.BinarySearchFunc(o.list, e, entryLess); ok {
		o.list = slices.Delete(o.list, i, i+1)
	}
}

// overlapping calls fn for each claim overlapping [start, end), in start order, until fn
// returns false.
func (o *occupancy) overlapping(start, end time.Time, fn func(*entry) bool) {
	// Claims starting at or after end cannot overlap; a claim starting before start-maxLen
	// ends before start.
	from := sort.Search(len(o.list), func(i int) bool { return !o.list[i].Start.Before(start.Add(-o.maxLen)) })
	for _, e := range o.list[from:] {
		if !e.Start.Before(end) {
			return
		}
		if e.End.After(start) && !fn(e) {
			return
		}
	}
}

// overlaps reports whether a claim other than except overlaps [start, end).
func (o *occupancy) overlaps(start, end time.Time, except uuid.UUID) bool {
	found := false
	o.overlapping(start, end, func(e *entry) bool {
		found = e.ID != except
		return !found
	})
	return found
}

// intervals lists the claims overlapping [start, end) as intervals.
func (o *occupancy) intervals(start, end time.Time) []Interval {
	var out []Interval
	o.overlapping(start, end, func(e *entry) bool {
		out = append(out, e.Interval())
		return true
	})
	return out
}
