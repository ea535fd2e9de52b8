package conversation

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// corpusFixture is the thread every line of testdata/replies.tsv answers (see its header).
func corpusFixture(t testing.TB) (*time.Location, time.Time, map[string]Thread) {
	loc, err := time.LoadLocation("America/Chicago")
	require.NoError(t, err)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, loc)
	options := []time.Time{
		time.Date(2026, 3, 3, 9, 0, 0, 0, loc),
		time.Date(2026, 3, 3, 12, 30, 0, 0, loc),
		time.Date(2026, 3, 4, 14, 0, 0, 0, loc),
	}
	return loc, now, map[string]Thread{
		"offered": {Options: options},
		"held":    {Options: options},
		"booked":  {Booked: true},
		"idle":    {},
	}
}

type corpusLine struct {
	line              int
	stage, want, text string
	falsePositive     bool // an opt-out false positive: must never read as an opt-out
}

func readCorpus(t testing.TB, path string) []corpusLine {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []corpusLine
	fp := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.HasPrefix(l, "# ----") {
			fp = strings.Contains(strings.ToUpper(l), "FALSE POSITIVE")
		}
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, "\t")
		require.Len(t, f, 3, "line %d: stage<TAB>want<TAB>text", n)
		out = append(out, corpusLine{line: n, stage: f[0], want: f[1], text: f[2], falsePositive: fp})
	}
	require.NoError(t, sc.Err())
	return out
}

func label(r Reply) string {
	if r.Kind == ReplyPick {
		return fmt.Sprintf("pick:%d", r.Option)
	}
	return r.Kind.String()
}

// TestCorpus reads every labelled reply of the corpus files and holds the reader to the
// accuracy it promises: every opt-out and every opt-out false positive right, every other
// intent at least 95 %. replies.tsv grew with the reader; the others were written apart
// from it, by other hands who never saw its word lists, and each was first run as an
// unseen check (docs/MESSAGING.md keeps the scores of that first run) before its misses
// taught the reader something general.
func TestCorpus(t *testing.T) {
	total := 0
	for _, file := range []string{"testdata/replies.tsv", "testdata/replies_holdout.tsv", "testdata/replies_probe.tsv", "testdata/replies_probe2.tsv",
		"testdata/replies_probe3.tsv", "testdata/replies_probe4.tsv"} {
		t.Run(file, func(t *testing.T) { total += testCorpus(t, file) })
	}
	require.GreaterOrEqual(t, total, 1800, "the corpus has shrunk")
}

func testCorpus(t *testing.T, file string) int {
	loc, now, threads := corpusFixture(t)
	lines := readCorpus(t, file)
	require.GreaterOrEqual(t, len(lines), 150)
	type score struct{ right, all int }
	scores := map[string]*score{}
	var wrong []string
	for _, l := range lines {
		th, ok := threads[l.stage]
		require.True(t, ok, "line %d: unknown stage %q", l.line, l.stage)
		got := label(Read(l.text, th, loc, now))
		intent, _, _ := strings.Cut(l.want, ":")
		if l.falsePositive {
			intent = "opt_out false positive"
		}
		s := scores[intent]
		if s == nil {
			s = &score{}
			scores[intent] = s
		}
		s.all++
		if got == l.want {
			s.right++
		} else {
			wrong = append(wrong, fmt.Sprintf("line %d [%s] %q: want %s, got %s", l.line, l.stage, l.text, l.want, got))
		}
	}
	names := make([]string, 0, len(scores))
	for k := range scores {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		s := scores[k]
		t.Logf("%-24s %3d/%3d  %5.1f %%", k, s.right, s.all, 100*float64(s.right)/float64(s.all))
	}
	for _, w := range wrong {
		t.Log(w)
	}
	for _, k := range names {
		s := scores[k]
		min := 0.95
		if k == "opt_out" || k == "opt_out false positive" {
			min = 1
		}
		require.GreaterOrEqual(t, float64(s.right)/float64(s.all), min, "accuracy of %s", k)
	}
	return len(lines)
}
