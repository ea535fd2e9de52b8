package tenant

// ClockRange is an opening range in local wall-clock minutes after midnight:
// 0 <= Start < 1440 and Start < End <= 2880. An End past 1440 ends on the next day
// ("22:00-02:00" is {1320, 1560}); "24:00" as an end is 1440.
type ClockRange struct {
	Start, End int
}

// Weekly is a weekly opening template indexed by time.Weekday (Sunday = 0). The ranges of
// one day are sorted by Start and do not overlap each other or the previous day's
// ranges that run past midnight.
type Weekly [7][]ClockRange
