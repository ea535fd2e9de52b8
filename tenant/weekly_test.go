package tenant

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseClock(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"00:00", 0, false},
		{"08:30", 510, false},
		{"23:59", 1439, false},
		{"24:00", 0, true},
		{"12:60", 0, true},
		{"8:30", 0, true},
		{"08:30:00", 0, true},
		{"0830", 0, true},
		{"-1:00", 0, true},
		{"", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseClock(tc.in)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseWeekly(t *testing.T) {
	t.Parallel()
	week := func(days map[time.Weekday][]ClockRange) Weekly {
		var w Weekly
		for d, r := range days {
			w[d] = r
		}
		return w
	}
	cases := []struct {
		name       string
		hours      map[string][]string
		want       Weekly
		wantFields []string
	}{
		{"no hours", nil, Weekly{}, nil},
		{
			"sorted by start, Sunday is 0",
			map[string][]string{"mon": {"13:00-17:00", "08:00-12:00"}, "sun": {"10:00-14:00"}},
			week(map[time.Weekday][]ClockRange{time.Monday: {{480, 720}, {780, 1020}}, time.Sunday: {{600, 840}}}),
			nil,
		},
		{
			"touching ranges do not overlap",
			map[string][]string{"tue": {"08:00-12:00", "12:00-13:00"}},
			week(map[time.Weekday][]ClockRange{time.Tuesday: {{480, 720}, {720, 780}}}),
			nil,
		},
		{
			"end of day",
			map[string][]string{"wed": {"18:00-24:00"}, "thu": {"00:00-06:00"}},
			week(map[time.Weekday][]ClockRange{time.Wednesday: {{1080, 1440}}, time.Thursday: {{0, 360}}}),
			nil,
		},
		{
			"wrap past midnight",
			map[string][]string{"fri": {"22:00-02:00"}, "sat": {"02:00-06:00"}},
			week(map[time.Weekday][]ClockRange{time.Friday: {{1320, 1560}}, time.Saturday: {{120, 360}}}),
			nil,
		},
		{
			"midnight end wraps to 24:00",
			map[string][]string{"mon": {"20:00-00:00"}},
			week(map[time.Weekday][]ClockRange{time.Monday: {{1200, 1440}}}),
			nil,
		},
		{
			"spaces around the times",
			map[string][]string{"mon": {" 08:00 - 12:00 "}},
			week(map[time.Weekday][]ClockRange{time.Monday: {{480, 720}}}),
			nil,
		},
		{
			"overlap on the same day",
			map[string][]string{"mon": {"08:00-12:00", "11:00-14:00", "14:00-15:00"}},
			week(map[time.Weekday][]ClockRange{time.Monday: {{480, 720}, {840, 900}}}),
			[]string{"hours.mon[1]"},
		},
		{
			"later start is the one reported",
			map[string][]string{"mon": {"11:00-14:00", "08:00-12:00"}},
			week(map[time.Weekday][]ClockRange{time.Monday: {{480, 720}}}),
			[]string{"hours.mon[0]"},
		},
		{
			"same day overlap with a wrapping range",
			map[string][]string{"mon": {"22:00-02:00", "23:00-23:30"}},
			week(map[time.Weekday][]ClockRange{time.Monday: {{1320, 1560}}}),
			[]string{"hours.mon[1]"},
		},
		{
			"overlap with the previous day's wrap",
			map[string][]string{"fri": {"22:00-02:00"}, "sat": {"01:00-05:00", "09:00-13:00"}},
			week(map[time.Weekday][]ClockRange{time.Friday: {{1320, 1560}}, time.Saturday: {{540, 780}}}),
			[]string{"hours.sat[0]"},
		},
		{
			"sunday wraps into monday",
			map[string][]string{"sun": {"23:00-07:00"}, "mon": {"06:00-10:00"}},
			week(map[time.Weekday][]ClockRange{time.Sunday: {{1380, 1860}}}),
			[]string{"hours.mon[0]"},
		},
		{
			"every problem, invalid ranges left out",
			map[string][]string{
				"mon":     {"08:00-12:00", "9-17", "10:00-10:00", "13:00-25:00"},
				"holiday": {"10:00-12:00"},
				"Tue":     {"10:00-12:00"},
			},
			week(map[time.Weekday][]ClockRange{time.Monday: {{480, 720}}}),
			[]string{"hours.Tue", "hours.holiday", "hours.mon[1]", "hours.mon[2]", "hours.mon[3]"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, errs := ParseWeekly(tc.hours)
			require.Equal(t, tc.want, got)
			var gotFields []string
			for _, fe := range errs {
				require.NotEmpty(t, fe.Message)
				gotFields = append(gotFields, fe.Field)
			}
			require.Equal(t, tc.wantFields, gotFields)
		})
	}
}

func TestParseWeeklyMessages(t *testing.T) {
	t.Parallel()
	_, errs := ParseWeekly(map[string][]string{"fri": {"22:00-02:00"}, "sat": {"01:00-05:00"}})
	require.Equal(t, []FieldError{{
		Field:   "hours.sat[0]",
		Message: `overlaps hours.fri[0] ("22:00-02:00"), which runs past midnight`,
	}}, errs)
}
