package conversation

import (
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/stretchr/testify/require"

	"ringback/tenant"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// utc reads an RFC 3339 instant such as "2026-03-08T07:00:00Z".
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return ts
}

func quiet(loc *time.Location, start, end string) Policy {
	return PolicyFor(loc, tenant.Endpoint{QuietHours: &tenant.QuietHours{Start: start, End: end}}, tenant.Policies{})
}

func TestPolicyFor(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	cases := []struct {
		name  string
		quiet *tenant.QuietHours
		want  Policy
	}{
		{"no quiet hours", nil, Policy{Location: ny, QuietStart: -1, QuietEnd: -1, Cooldown: 24 * time.Hour}},
		{"wraps midnight", &tenant.QuietHours{Start: "21:00", End: "08:00"}, Policy{Location: ny, QuietStart: 1260, QuietEnd: 480, Cooldown: 24 * time.Hour}},
		{"same day", &tenant.QuietHours{Start: "12:00", End: "13:30"}, Policy{Location: ny, QuietStart: 720, QuietEnd: 810, Cooldown: 24 * time.Hour}},
		{"malformed counts as none", &tenant.QuietHours{Start: "9pm", End: "08:00"}, Policy{Location: ny, QuietStart: -1, QuietEnd: -1, Cooldown: 24 * time.Hour}},
		{"empty window counts as none", &tenant.QuietHours{Start: "08:00", End: "08:00"}, Policy{Location: ny, QuietStart: -1, QuietEnd: -1, Cooldown: 24 * time.Hour}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := PolicyFor(ny, tenant.Endpoint{Number: "+15125550100", QuietHours: tc.quiet}, tenant.DefaultPolicies)
			require.Equal(t, tc.want, got)
		})
	}

	t.Run("zero cooldown", func(t *testing.T) {
		t.Parallel()
		got := PolicyFor(ny, tenant.Endpoint{}, tenant.Policies{AutoReplyCooldown: 0})
		require.Zero(t, got.Cooldown)
	})
}

func TestAutoReply(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	p := quiet(ny, "21:00", "08:00")
	p.Cooldown = 24 * time.Hour
	noCooldown := p
	noCooldown.Cooldown = 0

	noon := utc(t, "2026-01-15T17:00:00Z")  // 12:00 EST
	night := utc(t, "2026-01-16T04:00:00Z") // 23:00 EST
	nextMorning := utc(t, "2026-01-16T13:00:00Z")

	cases := []struct {
		name   string
		policy Policy
		caller Caller
		now    time.Time
		want   Verdict
		wantAt time.Time
	}{
		{"first call", p, Caller{}, noon, Send, time.Time{}},
		{"opted out", p, Caller{OptedOut: true, OptOutConfirmed: true}, noon, SuppressOptedOut, time.Time{}},
		{"opted out wins over quiet hours", p, Caller{OptedOut: true}, night, SuppressOptedOut, time.Time{}},
		{"inside cooldown", p, Caller{LastAutoReply: noon.Add(-time.Hour)}, noon, SuppressCooldown, time.Time{}},
		{"a nanosecond before the cooldown ends", p, Caller{LastAutoReply: noon.Add(-24*time.Hour + time.Nanosecond)}, noon, SuppressCooldown, time.Time{}},
		{"exactly at the cooldown", p, Caller{LastAutoReply: noon.Add(-24 * time.Hour)}, noon, Send, time.Time{}},
		{"after the cooldown", p, Caller{LastAutoReply: noon.Add(-25 * time.Hour)}, noon, Send, time.Time{}},
		{"last reply in the future", p, Caller{LastAutoReply: noon.Add(time.Minute)}, noon, SuppressCooldown, time.Time{}},
		{"zero cooldown", noCooldown, Caller{LastAutoReply: noon.Add(-time.Second)}, noon, Send, time.Time{}},
		{"cooldown wins over quiet hours", p, Caller{LastAutoReply: night.Add(-time.Hour)}, night, SuppressCooldown, time.Time{}},
		{"quiet hours", p, Caller{}, night, DeferQuietHours, nextMorning},
		{"quiet hours after the cooldown", p, Caller{LastAutoReply: night.Add(-48 * time.Hour)}, night, DeferQuietHours, nextMorning},
		{"no quiet hours", PolicyFor(ny, tenant.Endpoint{}, tenant.DefaultPolicies), Caller{}, night, Send, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, gotAt := AutoReply(tc.policy, tc.caller, tc.now)
			require.Equal(t, tc.want, got, "verdict: got %v, want %v", got, tc.want)
			require.True(t, tc.wantAt.Equal(gotAt), "send at: got %v, want %v", gotAt, tc.wantAt)
		})
	}

	t.Run("deferred reply is sent at the end of quiet hours", func(t *testing.T) {
		t.Parallel()
		verdict, at := AutoReply(p, Caller{}, night)
		require.Equal(t, DeferQuietHours, verdict)
		got, _ := AutoReply(p, Caller{}, at)
		require.Equal(t, Send, got)
	})
}

func TestMaySend(t *testing.T) {
	t.Parallel()
	require.True(t, MaySend(Caller{}))
	require.True(t, MaySend(Caller{LastAutoReply: time.Now()}), "cooldown does not apply to replies")
	require.False(t, MaySend(Caller{OptedOut: true}))
	require.False(t, MaySend(Caller{OptedOut: true, OptOutConfirmed: true}))
}

func TestQuietHours(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	// 2026 in New York: clocks spring forward on Mar 8 at 02:00 EST (07:00Z) to 03:00 EDT,
	// and fall back on Nov 1 at 02:00 EDT (06:00Z) to 01:00 EST.
	cases := []struct {
		name       string
		policy     Policy
		now        string
		wantQuiet  bool
		wantEndsAt string
	}{
		{"wrap: before start", quiet(ny, "21:00", "08:00"), "2026-01-16T01:59:00Z", false, "2026-01-16T13:00:00Z"},
		{"wrap: at start", quiet(ny, "21:00", "08:00"), "2026-01-16T02:00:00Z", true, "2026-01-16T13:00:00Z"},
		{"wrap: midnight", quiet(ny, "21:00", "08:00"), "2026-01-16T05:00:00Z", true, "2026-01-16T13:00:00Z"},
		{"wrap: a minute before end", quiet(ny, "21:00", "08:00"), "2026-01-16T12:59:00Z", true, "2026-01-16T13:00:00Z"},
		{"wrap: at end", quiet(ny, "21:00", "08:00"), "2026-01-16T13:00:00Z", false, "2026-01-17T13:00:00Z"},
		{"same day window", quiet(ny, "12:00", "13:00"), "2026-01-15T17:30:00Z", true, "2026-01-15T18:00:00Z"},
		{"same day window: after", quiet(ny, "12:00", "13:00"), "2026-01-15T18:00:00Z", false, "2026-01-16T18:00:00Z"},
		{"same day window: before", quiet(ny, "12:00", "13:00"), "2026-01-15T16:59:00Z", false, "2026-01-15T18:00:00Z"},

		// Spring forward: 02:30 does not exist on Mar 8; quiet hours end when the clock
		// jumps to 03:00 EDT.
		{"end in gap: evening before", quiet(ny, "22:00", "02:30"), "2026-03-08T04:00:00Z", true, "2026-03-08T07:00:00Z"},
		{"end in gap: 01:59 EST", quiet(ny, "22:00", "02:30"), "2026-03-08T06:59:00Z", true, "2026-03-08T07:00:00Z"},
		{"end in gap: 03:00 EDT", quiet(ny, "22:00", "02:30"), "2026-03-08T07:00:00Z", false, "2026-03-09T06:30:00Z"},
		{"start in gap: 01:59 EST", quiet(ny, "02:30", "06:00"), "2026-03-08T06:59:00Z", false, "2026-03-08T10:00:00Z"},
		{"start in gap: 03:00 EDT", quiet(ny, "02:30", "06:00"), "2026-03-08T07:00:00Z", true, "2026-03-08T10:00:00Z"},
		{"short night", quiet(ny, "21:00", "08:00"), "2026-03-08T03:00:00Z", true, "2026-03-08T12:00:00Z"},

		// Fall back: the night is an hour longer and 01:00–02:00 happens twice.
		{"long night", quiet(ny, "21:00", "08:00"), "2026-11-01T02:00:00Z", true, "2026-11-01T13:00:00Z"},
		{"end repeated: before the first 01:30", quiet(ny, "22:00", "01:30"), "2026-11-01T03:00:00Z", true, "2026-11-01T05:30:00Z"},
		{"end repeated: 01:40 EDT", quiet(ny, "22:00", "01:30"), "2026-11-01T05:40:00Z", false, "2026-11-01T06:30:00Z"},
		{"end repeated: 01:10 EST", quiet(ny, "22:00", "01:30"), "2026-11-01T06:10:00Z", true, "2026-11-01T06:30:00Z"},
		{"end repeated: 01:30 EST", quiet(ny, "22:00", "01:30"), "2026-11-01T06:30:00Z", false, "2026-11-02T06:30:00Z"},

		{"nil location is UTC", Policy{QuietStart: 0, QuietEnd: 60}, "2026-01-15T00:30:00Z", true, "2026-01-15T01:00:00Z"},
		{"no quiet hours", Policy{Location: ny, QuietStart: -1, QuietEnd: -1}, "2026-01-16T05:00:00Z", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := utc(t, tc.now)
			require.Equal(t, tc.wantQuiet, InQuiet(tc.policy, now), "InQuiet at %v", now.In(ny))
			var want time.Time
			if tc.wantEndsAt != "" {
				want = utc(t, tc.wantEndsAt)
			}
			got := QuietEnds(tc.policy, now)
			require.True(t, want.Equal(got), "QuietEnds at %v: got %v, want %v", now.In(ny), got, want.In(ny))
		})
	}
}

// TestQuietEndsAcrossTransitions walks through daylight-saving transitions of zones with
// unusual rules and checks QuietEnds against the wall clock and InQuiet: the end is after
// now and not quiet; it is where the wall clock reads QuietEnd, or the transition that
// skips that reading; no earlier minute reads it or skips it; and when now is quiet and
// no transition lies between now and the end, every minute up to the end is quiet.
func TestQuietEndsAcrossTransitions(t *testing.T) {
	t.Parallel()
	zones := []struct {
		name     string
		from, to string // a stretch around a transition
	}{
		{"America/New_York", "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z"},
		{"America/New_York", "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z"},
		{"Australia/Lord_Howe", "2026-04-04T00:00:00Z", "2026-04-06T00:00:00Z"}, // 30-minute shift
		{"Australia/Lord_Howe", "2026-10-03T00:00:00Z", "2026-10-05T00:00:00Z"},
		{"America/Santiago", "2026-04-04T12:00:00Z", "2026-04-06T12:00:00Z"}, // falls back across midnight
		{"America/Santiago", "2026-09-05T12:00:00Z", "2026-09-07T12:00:00Z"}, // springs forward at midnight
	}
	windows := [][2]string{{"21:00", "08:00"}, {"22:00", "02:15"}, {"23:00", "00:30"}, {"01:45", "06:00"}, {"00:00", "23:59"}, {"23:30", "01:30"}}
	wallMinute := func(t time.Time) int { return t.Hour()*60 + t.Minute() }
	for _, z := range zones {
		loc := mustZone(t, z.name)
		from, to := utc(t, z.from), utc(t, z.to)
		for _, w := range windows {
			p := quiet(loc, w[0], w[1])
			for now := from; now.Before(to); now = now.Add(29 * time.Minute) {
				end := QuietEnds(p, now)
				where := func() string {
					return z.name + " " + w[0] + "-" + w[1] + " at " + now.In(loc).String() + ", end " + end.In(loc).String()
				}
				require.True(t, end.After(now), where())
				require.Less(t, end.Sub(now), 26*time.Hour, where())
				require.False(t, InQuiet(p, end), "quiet at its end: %s", where())
				zoneStart, _ := end.In(loc).ZoneBounds()
				require.True(t, wallMinute(end.In(loc)) == p.QuietEnd || zoneStart.Equal(end), "end reads neither QuietEnd nor is a transition: %s", where())

				// Plain ifs rather than require: these loops run millions of times.
				for m := now.Truncate(time.Minute).Add(time.Minute); m.Before(end); m = m.Add(time.Minute) {
					prev, cur := wallMinute(m.Add(-time.Minute).In(loc)), wallMinute(m.In(loc))
					if cur == p.QuietEnd {
						t.Fatalf("%v reads QuietEnd earlier: %s", m.In(loc), where())
					}
					if prev < p.QuietEnd && cur > p.QuietEnd && cur-prev < 180 {
						t.Fatalf("%v skips QuietEnd earlier: %s", m.In(loc), where())
					}
				}

				if _, zoneEnd := now.In(loc).ZoneBounds(); InQuiet(p, now) && (zoneEnd.IsZero() || !zoneEnd.Before(end)) {
					for m := now; m.Before(end); m = m.Add(time.Minute) {
						if !InQuiet(p, m) {
							t.Fatalf("%v is not quiet: %s", m.In(loc), where())
						}
					}
				}
			}
		}
	}
}

func TestInbound(t *testing.T) {
	t.Parallel()
	last := time.Date(2026, 1, 15, 17, 0, 0, 0, time.UTC)
	var (
		subscribed = Caller{LastAutoReply: last}
		optedOut   = Caller{OptedOut: true, OptOutConfirmed: true, LastAutoReply: last}
		unconfirmd = Caller{OptedOut: true, LastAutoReply: last}
	)
	cases := []struct {
		name       string
		caller     Caller
		body       string
		wantCaller Caller
		want       ComplianceAction
	}{
		{"STOP opts out", subscribed, "STOP", optedOut, ConfirmOptOut},
		{"OPT OUT opts out", subscribed, "opt out", optedOut, ConfirmOptOut},
		{"second STOP sends nothing", optedOut, "stop", optedOut, AlreadyOptedOut},
		{"another opt-out word sends nothing", optedOut, "QUIT", optedOut, AlreadyOptedOut},
		{"STOP from an unconfirmed opt-out is confirmed", unconfirmd, "STOP", optedOut, ConfirmOptOut},
		{"START opts in", optedOut, "START", subscribed, ConfirmOptIn},
		{"UNSTOP opts in", optedOut, "unstop", subscribed, ConfirmOptIn},
		{"YES opts in while opted out", optedOut, "YES", subscribed, ConfirmOptIn},
		{"Y does not opt in", optedOut, "Y", optedOut, IgnoreWhileOptedOut},
		{"HELP while opted out is answered", optedOut, "HELP", optedOut, AnswerHelp},
		{"INFO while opted out is answered", optedOut, "info", optedOut, AnswerHelp},
		{"option while opted out", optedOut, "2", optedOut, IgnoreWhileOptedOut},
		{"MORE while opted out", optedOut, "MORE", optedOut, IgnoreWhileOptedOut},
		{"text while opted out", optedOut, "are you open sunday?", optedOut, IgnoreWhileOptedOut},
		{"START while subscribed is confirmed", subscribed, "START", subscribed, ConfirmOptIn},
		{"HELP while subscribed", subscribed, "HELP", subscribed, AnswerHelp},
		{"YES while subscribed confirms a hold", subscribed, "YES", subscribed, NoCompliance},
		{"Y while subscribed", subscribed, "Y", subscribed, NoCompliance},
		{"option while subscribed", subscribed, "2", subscribed, NoCompliance},
		{"MORE while subscribed", subscribed, "more", subscribed, NoCompliance},
		{"text while subscribed", subscribed, "can you come earlier?", subscribed, NoCompliance},
		{"a sentence revoking consent", subscribed, "please stop calling me", optedOut, ConfirmOptOut},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, gotAction := Inbound(tc.caller, Read(tc.body, Thread{}, nil, time.Time{}))
			require.Equal(t, tc.want, gotAction, "action: got %v, want %v", gotAction, tc.want)
			require.Equal(t, tc.wantCaller, got)
		})
	}

	t.Run("opt out, opt in, opt out again is confirmed twice", func(t *testing.T) {
		t.Parallel()
		c := subscribed
		var got []ComplianceAction
		for _, body := range []string{"STOP", "STOP", "START", "STOP", "END"} {
			var a ComplianceAction
			c, a = Inbound(c, Read(body, Thread{}, nil, time.Time{}))
			got = append(got, a)
		}
		want := []ComplianceAction{ConfirmOptOut, AlreadyOptedOut, ConfirmOptIn, ConfirmOptOut, AlreadyOptedOut}
		require.Equal(t, want, got)
	})
}

func TestEnumStrings(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for v := Send; v <= DeferQuietHours; v++ {
		got := v.String()
		require.NotEqual(t, "unknown", got)
		require.False(t, seen[got], "duplicate %q", got)
		seen[got] = true
	}
	clear(seen)
	for a := NoCompliance; a <= IgnoreWhileOptedOut; a++ {
		got := a.String()
		require.NotEqual(t, "unknown", got)
		require.False(t, seen[got], "duplicate %q", got)
		seen[got] = true
	}
	require.Equal(t, "unknown", Verdict(99).String())
	require.Equal(t, "unknown", ComplianceAction(99).String())
}
