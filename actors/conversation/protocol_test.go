package conversation

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// optOutWords are the contract's opt-out words.
var optOutWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}

func TestParseReply(t *testing.T) {
	t.Parallel()
	var (
		other  = Reply{}
		optOut = Reply{Kind: ReplyOptOut}
		optIn  = Reply{Kind: ReplyOptIn, OptIn: true}
		yes    = Reply{Kind: ReplyConfirm, OptIn: true}
		y      = Reply{Kind: ReplyConfirm}
		help   = Reply{Kind: ReplyHelp}
		more   = Reply{Kind: ReplyMore}
		option = func(n int) Reply { return Reply{Kind: ReplyOption, Option: n} }
	)
	type testCase struct {
		body string
		want Reply
	}
	cases := []testCase{
		// Every opt-out word, as written and lower-cased with a period, is appended below.
		{"opt out", optOut},
		{"Opt Out!", optOut},
		{"OPT   OUT", optOut},
		{"opt\tout", optOut},
		{"optout", optOut},
		{"Stop!", optOut},
		{"stop.", optOut},
		{"STOP!!!", optOut},
		{"stop?", optOut},
		{"stop :)", optOut},
		{"  Stop \n", optOut},
		{"stop\u00a0", optOut}, // no-break space, as some phones send
		{"\u3000STOP\u3000", optOut},

		{"START", optIn},
		{"start", optIn},
		{"Unstop.", optIn},
		{"YES", yes},
		{"yes", yes},
		{"Yes!!", yes},
		{" YES ", yes},
		{"Y", y},
		{"y.", y},
		{"HELP", help},
		{"help?", help},
		{"Info", help},
		{"MORE", more},
		{"more!", more},

		{"1", option(1)},
		{"2", option(2)},
		{"2.", option(2)},
		{"2)", option(2)},
		{"2!", option(2)},
		{" #2", option(2)},
		{"#2.", option(2)},
		{"02", option(2)},
		{"99", option(99)},
		{"\t3\n", option(3)},

		// Near misses.
		{"", other},
		{"   ", other},
		{"STOP IT", other},
		{"stopp", other},
		{"please stop", other},
		{"stop please", other},
		{"don't stop", other},
		{"OPT-OUT", other},
		{"OPT OUT NOW", other},
		{"O P T O U T", other},
		{"ST OP", other},
		{"!STOP", other},
		{"\"STOP\"", other},
		{"STOP STOP", other},
		{"yess", other},
		{"yeah", other},
		{"Y E S", other},
		{"yes please", other},
		{"no", other},
		{"help me", other},
		{"more times", other},
		{"0", other},
		{"00", other},
		{"100", other},
		{"001", other},
		{"-1", other},
		{"+1", other},
		{"2?", other},
		{"2,", other},
		{"# 2", other},
		{"##2", other},
		{"2 please", other},
		{"1 or 2", other},
		{"1.5", other},
		{"2nd", other},
		{"$165", other},
		{"(2)", other},

		// Other scripts and Unicode look-alikes.
		{"ＳＴＯＰ", other},       // full-width
		{"ſtop", other},       // long s upper-cases to S
		{"STOP\u200b", other}, // zero-width space is not whitespace
		{"СТОП", other},       // Cyrillic
		{"２", other},          // full-width digit
		{"٢", other},          // Arabic-Indic digit
		{"STOP🛑", other},
		{"\xff\xfeSTOP", other},
		{"STOP\xff", other},
		{"\xff", other},
	}
	for _, w := range optOutWords {
		cases = append(cases, testCase{w, optOut}, testCase{strings.ToLower(w) + ".", optOut})
	}
	for _, tc := range cases {
		t.Run(strconv.Quote(tc.body), func(t *testing.T) {
			t.Parallel()
			got := ParseReply(tc.body)
			require.Equal(t, tc.want, got, "ParseReply(%q)", tc.body)
			require.Equal(t, tc.want.Kind == ReplyOptOut, IsOptOut(tc.body))
		})
	}
}

func TestParseReplyOptions(t *testing.T) {
	t.Parallel()
	for n := range 120 {
		want := Reply{}
		if n >= 1 && n <= MaxOption {
			want = Reply{Kind: ReplyOption, Option: n}
		}
		for _, body := range []string{strconv.Itoa(n), "#" + strconv.Itoa(n) + ")"} {
			got := ParseReply(body)
			require.Equal(t, want, got, "ParseReply(%q)", body)
		}
	}
}

func TestReplyKindString(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for k := ReplyOther; k <= ReplyOption; k++ {
		got := k.String()
		require.NotEqual(t, "unknown", got, "kind %d", int(k))
		require.False(t, seen[got], "duplicate name %q", got)
		seen[got] = true
	}
	require.Equal(t, "unknown", ReplyKind(-1).String())
}

// canonical is the shortest message that means r, or "" for ReplyOther.
func canonical(r Reply) string {
	switch r.Kind {
	case ReplyOptOut:
		return "STOP"
	case ReplyOptIn:
		return "START"
	case ReplyHelp:
		return "HELP"
	case ReplyConfirm:
		if r.OptIn {
			return "YES"
		}
		return "Y"
	case ReplyMore:
		return "MORE"
	case ReplyOption:
		return strconv.Itoa(r.Option)
	}
	return ""
}

// FuzzParseReply checks that no body makes ParseReply panic or return a malformed Reply,
// that the canonical message of a parsed reply parses back to the same reply, and that an
// opt-out stays an opt-out when shouted and punctuated.
func FuzzParseReply(f *testing.F) {
	for _, seed := range []string{
		"STOP", "opt  out", "Stop!", "yes", "Y", "help?", "MORE", "#2)", "02", "100", "0",
		"STOP IT", "ＳＴＯＰ", "ſtop", "\xff", "", " \u00a0END.\n", "2?",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := ParseReply(body)
		require.Equal(t, r.Kind == ReplyOptOut, IsOptOut(body))
		switch r.Kind {
		case ReplyOption:
			require.True(t, r.Option >= 1 && r.Option <= MaxOption, "option %d", r.Option)
		case ReplyOther:
			require.Equal(t, Reply{}, r)
			return
		default:
			require.Zero(t, r.Option)
		}
		if r.Kind == ReplyOptIn {
			require.True(t, r.OptIn, "START and UNSTOP are opt-in words")
		}
		if r.OptIn {
			require.Contains(t, []ReplyKind{ReplyOptIn, ReplyConfirm}, r.Kind)
		}

		c := canonical(r)
		got := ParseReply(c)
		require.Equal(t, r, got, "ParseReply(%q) = %+v but its canonical %q parses as %+v", body, r, c, got)
		require.Equal(t, got, ParseReply(canonical(got)))

		if r.Kind == ReplyOptOut {
			for _, suffix := range []string{".", "!", "!!", "?", " !", ".)"} {
				shouted := strings.ToUpper(body) + suffix
				require.True(t, IsOptOut(shouted), "%q is an opt-out but %q is not", body, shouted)
			}
		}
	})
}
