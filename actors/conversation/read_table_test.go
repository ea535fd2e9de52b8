package conversation

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// contractOptOutWords are the contract's opt-out words.
var contractOptOutWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}

func TestReadKeywordsAndForms(t *testing.T) {
	t.Parallel()
	loc, now, threads := corpusFixture(t)
	offered, booked := threads["offered"], threads["booked"]
	type testCase struct {
		body string
		th   Thread
		want string
	}
	cases := []testCase{
		{"opt out", offered, "opt_out"},
		{"Opt-Out!", offered, "opt_out"},
		{"OPT   OUT", offered, "opt_out"},
		{"O P T O U T", offered, "opt_out"},
		{"STOP STOP STOP", offered, "opt_out"},
		{"stopp", offered, "opt_out"},
		{"ＳＴＯＰ", offered, "opt_out"}, // full-width: on the safe side
		{"\u3000STOP\u3000", offered, "opt_out"},
		{"stop\u00a0", offered, "opt_out"},
		{"\xff\xfeSTOP", offered, "opt_out"},
		{"STOP🛑", offered, "opt_out"},
		{"CANCEL", booked, "opt_out"}, // a bare CANCEL is an opt-out even with a visit booked
		{"cancel.", booked, "opt_out"},
		{"stop texting me", booked, "opt_out"},
		{"please don’t text me again", offered, "opt_out"},
		{"wrong number", offered, "opt_out"},
		{"stop by tomorrow", offered, "window"},
		{"don't stop by before 10", offered, "window"},
		{"end of the day works", offered, "window"},
		{"my faucet won't stop dripping", offered, "unknown"},

		{"START", offered, "opt_in"},
		{"unstop", offered, "opt_in"},
		{"HELP", offered, "help"},
		{"info?", offered, "help"},
		{"who is this?", offered, "help"},

		{"cancel my appointment", booked, "cancel"},
		{"X", booked, "cancel"},
		{"R", booked, "reschedule"},
		{"can we move it", booked, "reschedule"},
		{"R", offered, "more"}, // no visit to move: other times

		{"2", offered, "pick:2"},
		{"2.", offered, "pick:2"},
		{" #2 ", offered, "pick:2"},
		{"2️⃣", offered, "pick:2"},
		{"３", offered, "pick:3"},
		{"option two", offered, "pick:2"},
		{"the second one", offered, "pick:2"},
		{"2nd", offered, "pick:2"},
		{"I'll take 2", offered, "pick:2"},
		{"the last one", offered, "pick:3"},
		{"12:30 works", offered, "pick:2"},
		{"the 9am one", offered, "pick:1"},
		{"wed at 2", offered, "pick:3"},
		{"4", offered, "unknown"},
		{"2 or 3", offered, "unknown"},
		{"2", booked, "unknown"},
		{"0", offered, "unknown"},
		{"100", offered, "unknown"},

		{"YES", offered, "confirm"},
		{"y", offered, "confirm"},
		{"yep", offered, "confirm"},
		{"👍", offered, "confirm"},
		{"👍🏽", offered, "confirm"},
		{"✅", offered, "confirm"},
		{"yes please book it", offered, "confirm"},
		{"sounds good!", offered, "confirm"},
		{"yes but can you come earlier", offered, "unknown"},

		{"MORE", offered, "more"},
		{"none of those", offered, "more"},
		{"other times?", offered, "more"},
		{"no", offered, "more"},

		{"thursday after 3", offered, "window"},
		{"tomorrow morning", threads["idle"], "window"},
		{"not before 10", offered, "window"},
		{"thursday after 3", booked, "reschedule"}, // a new time for the visit

		// The general rules the unseen corpora taught: a stop clause ends it whatever
		// follows; a negated stop word is no revocation; a price or a phone number is no
		// time; a second clause does not spoil a stated choice.
		{"STOP!! this is the 4th text today", offered, "opt_out"},
		{"im not trying to unsubscribe, i just need other times", offered, "more"},
		{"please don't stop texting me", threads["idle"], "unknown"},
		{"Knock it off", threads["idle"], "opt_out"},
		{"get me off this list", offered, "opt_out"},
		{"stop sign on the corner, 2nd house", booked, "unknown"},
		{"is it $150", offered, "unknown"},
		{"1230 works", offered, "pick:2"},
		{"the 2 o clock one", offered, "pick:3"},
		{"Wednesday 2pm please, my shift ends at noon that day", offered, "pick:3"},
		{"12:30 tomorrow. Can't cancel my morning meeting lol", offered, "pick:2"},
		{"I can't do tues or wed, what else ya got", offered, "more"},
		{"thursday between 10 and 2", offered, "window"},
		{"ok I'll think about it", threads["held"], "unknown"},
		{"Got your text, we'll be home 👍", booked, "confirm"},
		{"ok u can text me again", threads["idle"], "opt_in"},

		{"", offered, "unknown"},
		{"   ", offered, "unknown"},
		{"can you come earlier?", offered, "unknown"},
		{"how much for a water heater", offered, "unknown"},
	}
	for _, w := range contractOptOutWords {
		cases = append(cases, testCase{w, offered, "opt_out"}, testCase{strings.ToLower(w) + ".", booked, "opt_out"},
			testCase{w + "!!", threads["idle"], "opt_out"})
	}
	for _, tc := range cases {
		got := Read(tc.body, tc.th, loc, now)
		require.Equal(t, tc.want, label(got), "Read(%q)", tc.body)
	}
	require.True(t, Read("YES", offered, loc, now).OptIn, "YES is the carrier's opt-in word")
	require.False(t, Read("yep", offered, loc, now).OptIn, "yep is not")
	require.False(t, Read("Y", offered, loc, now).OptIn, "nor a bare Y")
}

func TestReadOptionNumbers(t *testing.T) {
	t.Parallel()
	loc, now, _ := corpusFixture(t)
	starts := make([]time.Time, 12)
	for i := range starts {
		starts[i] = now.Add(time.Duration(i+1) * 24 * time.Hour)
	}
	th := Thread{Options: starts}
	for n := range 30 {
		want := "unknown"
		if n >= 1 && n <= len(starts) {
			want = "pick:" + strconv.Itoa(n)
		}
		for _, body := range []string{strconv.Itoa(n), "#" + strconv.Itoa(n) + ")", "option " + strconv.Itoa(n)} {
			require.Equal(t, want, label(Read(body, th, loc, now)), "Read(%q)", body)
		}
	}
}

// TestReadWindows checks the instants a window spans, in the business's zone, on a
// week with a DST change (US spring forward: Sunday 2026-03-08).
func TestReadWindows(t *testing.T) {
	t.Parallel()
	loc, now, threads := corpusFixture(t) // Monday 2026-03-02 10:00 CST
	at := func(d, h, mi int) time.Time { return time.Date(2026, 3, d, h, mi, 0, 0, loc) }
	cases := []struct {
		body     string
		in, out  []time.Time
		from, to time.Time // zero: not checked
	}{
		{"thursday after 3", []time.Time{at(5, 15, 0), at(5, 18, 30)}, []time.Time{at(5, 14, 30), at(6, 15, 0), at(12, 16, 0)}, at(5, 15, 0), at(6, 0, 0)},
		{"tomorrow morning", []time.Time{at(3, 8, 0), at(3, 11, 30)}, []time.Time{at(3, 12, 0), at(4, 9, 0)}, at(3, 8, 0), at(4, 0, 0)},
		{"not before 10", []time.Time{at(2, 10, 0), at(9, 15, 0)}, []time.Time{at(3, 9, 30)}, now, time.Time{}},
		{"after 5", []time.Time{at(2, 17, 0), at(10, 19, 0)}, []time.Time{at(3, 16, 30)}, at(2, 17, 0), time.Time{}},
		{"saturday", []time.Time{at(7, 9, 0)}, []time.Time{at(8, 9, 0), at(6, 9, 0)}, at(7, 0, 0), at(8, 0, 0)},
		// Across the spring-forward night: Monday 2026-03-09 is CDT, and "monday after 3"
		// means 15:00 on the wall clock there (20:00 UTC, not 21:00).
		{"next monday after 3", []time.Time{at(9, 15, 0)}, []time.Time{at(9, 14, 0), at(2, 16, 0)}, time.Date(2026, 3, 9, 20, 0, 0, 0, time.UTC), at(10, 0, 0)},
		{"sunday 10am", []time.Time{at(8, 10, 0)}, []time.Time{at(8, 12, 0)}, at(8, 10, 0), at(9, 0, 0)},
		{"next week", []time.Time{at(9, 8, 0), at(15, 20, 0)}, []time.Time{at(8, 12, 0), at(16, 9, 0)}, at(9, 0, 0), at(16, 0, 0)},
		{"between 1 and 3 on friday", []time.Time{at(6, 13, 0), at(6, 14, 30)}, []time.Time{at(6, 15, 0), at(6, 12, 30)}, at(6, 13, 0), at(7, 0, 0)},
		{"3/10", []time.Time{at(10, 9, 0)}, []time.Time{at(11, 9, 0)}, at(10, 0, 0), at(11, 0, 0)},
	}
	for _, tc := range cases {
		r := Read(tc.body, threads["idle"], loc, now)
		require.Equal(t, ReplyWindow, r.Kind, "Read(%q)", tc.body)
		w := r.Window
		require.NotNil(t, w, tc.body)
		for _, in := range tc.in {
			require.True(t, w.Contains(in, loc), "%q should contain %s (window %+v)", tc.body, in, *w)
		}
		for _, out := range tc.out {
			require.False(t, w.Contains(out, loc), "%q should not contain %s (window %+v)", tc.body, out, *w)
		}
		if !tc.from.IsZero() {
			require.True(t, tc.from.Equal(w.From), "%q from: want %s, got %s", tc.body, tc.from, w.From)
		}
		require.True(t, tc.to.Equal(w.To), "%q to: want %s, got %s", tc.body, tc.to, w.To)
		require.NotEmpty(t, w.Label)
	}
	r := Read("thursday after 3", threads["idle"], loc, now)
	require.Equal(t, "Thu Mar 5 after 3 PM", r.Window.Label)
}

func TestReplyKindString(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for k := ReplyUnknown; k <= ReplyWindow; k++ {
		got := k.String()
		require.False(t, seen[got], "duplicate name %q", got)
		seen[got] = true
	}
	require.Len(t, seen, 10)
	require.Equal(t, "unknown", ReplyKind(-1).String())
}

// FuzzRead checks that no body makes Read panic or return a malformed Reply, that it is
// deterministic, and that an opt-out stays an opt-out when shouted and punctuated.
func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		"STOP", "opt  out", "Stop!", "yes", "Y", "help?", "MORE", "#2)", "02", "100", "0", "2️⃣", "👍🏿",
		"STOP IT", "ＳＴＯＰ", "ſtop", "\xff", "", " \u00a0END.\n", "2?", "thursday after 3", "between 11 and 2",
		"half past twelve tuesday", "end of march", "1-3pm", "12:30", "3/10", "the 12th", "next weekend",
	} {
		f.Add(seed)
	}
	loc, now, threads := corpusFixture(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, th := range threads {
			r := Read(body, th, loc, now)
			require.Equal(t, r, Read(body, th, loc, now), "deterministic")
			switch r.Kind {
			case ReplyPick:
				require.True(t, r.Option >= 1 && r.Option <= len(th.Options), "option %d of %d", r.Option, len(th.Options))
			case ReplyWindow:
				require.NotNil(t, r.Window)
				require.True(t, r.Window.Lo >= 0 && r.Window.Lo < r.Window.Hi && r.Window.Hi <= 1440, "%+v", *r.Window)
				require.True(t, r.Window.To.IsZero() || r.Window.From.Before(r.Window.To) || r.Window.From.Equal(r.Window.To), "%+v", *r.Window)
			default:
				require.Zero(t, r.Option)
			}
			if r.OptIn {
				require.Contains(t, []ReplyKind{ReplyOptIn, ReplyConfirm}, r.Kind)
			}
			if r.Kind == ReplyOptOut && len(body) < maxReadLen-3 {
				for _, suffix := range []string{".", "!", "!!", " !", ".)"} {
					shouted := strings.ToUpper(body) + suffix
					require.Equal(t, ReplyOptOut, Read(shouted, th, loc, now).Kind, "%q is an opt-out but %q is not", body, shouted)
				}
			}
		}
	})
}

// BenchmarkRead reads every line of the corpus; ns/op is per message.
func BenchmarkRead(b *testing.B) {
	loc, now, threads := corpusFixture(b)
	lines := readCorpus(b, "testdata/replies.tsv")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := lines[i%len(lines)]
		Read(l.text, threads[l.stage], loc, now)
	}
}
