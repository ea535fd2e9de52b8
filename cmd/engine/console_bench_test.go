package main

import (
	"regexp"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ringback/clock"
	"ringback/persistence/pgtest"
)

// inboxConversations is the scale: one tenant with 100,000 conversations.
const inboxConversations = 100_000

var inboxRow = regexp.MustCompile(`<li><a class="row" href="/console/conversations/`)

// BenchmarkConsoleInbox renders the inbox of a tenant with 100,000 conversations
// (pgtest.SeedInbox's mix: 2 % need a person, 20 % booked, 3 % opted out), the way a
// signed-in browser asks for it: GET /console/ with the session cookie, through the
// engine's router and its real handler, over loopback, the whole page read. Each case is
// requested one after another (one person paging), after a few unmeasured requests
// that prepare the statements; the deep pages are reached by following "Older
// conversations" from the first page. Target (the issue): under 50 ms.
func BenchmarkConsoleInbox(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(defaultGCPercent)) // as engine serve runs
	e := newSMSEngine(b, clock.NewFake(monday0600))
	e.apply(plumber)
	t0 := time.Now()
	pgtest.SeedInbox(b, e.pool, pgtest.InboxSeed{TenantID: "acme", Endpoint: business, OwnerPhone: "+15125550111",
		Conversations: inboxConversations, Now: monday0600})
	b.Logf("seeded %d conversations and analyzed in %s", inboxConversations, time.Since(t0).Round(time.Millisecond))
	br := signIn(b, e, "acme", "dana@acme.example")

	for _, tc := range []struct {
		name, filter string
		page         int // 1 is the first page
		rows         int // on that page
	}{
		{"first-page", "", 1, 50},
		{"needs-you", "attention", 1, 50},
		{"booked", "booked", 1, 50},
		{"opted-out", "opted_out", 1, 50},
		{"page-50", "", 50, 50},
		{"needs-you-page-40", "attention", 40, 50}, // its last page: 2,000 conversations
		{"booked-page-50", "booked", 50, 50},
		{"opted-out-page-50", "opted_out", 50, 50},
	} {
		path := inboxPage(b, br, tc.filter, tc.page)
		b.Run(tc.name, func(b *testing.B) {
			get := func() string {
				status, page := br.get(path)
				require.Equal(b, 200, status, "%s: %s", path, page)
				require.Len(b, inboxRow.FindAllStringIndex(page, -1), tc.rows, path)
				return page
			}
			for range 10 { // past Postgres's five custom plans: measure the plan that stays
				get()
			}
			n := max(b.N, 200)
			lat := make([]time.Duration, n)
			var bytes int
			b.ResetTimer()
			for i := range n {
				start := time.Now()
				bytes = len(get())
				lat[i] = time.Since(start)
			}
			b.StopTimer()
			reportLatencies(b, lat)
			b.ReportMetric(float64(bytes), "page-bytes")
		})
	}
}

// inboxPage is the path of the inbox's page-th page of filter, found as a person finds it:
// by following the "Older conversations" link page after page.
func inboxPage(b *testing.B, br *browser, filter string, page int) string {
	b.Helper()
	path := "/console/"
	if filter != "" {
		path += "?filter=" + filter
	}
	for p := 1; p < page; p++ {
		status, html := br.get(path)
		require.Equal(b, 200, status, "%s: %s", path, html)
		m := olderLink.FindStringSubmatch(html)
		require.NotNil(b, m, "page %d of %q links to the next", p, filter)
		path = "/console/?" + m[1]
		require.Contains(b, path, "after=")
	}
	return path
}

// reportLatencies reports the mean as ns/op, and p50, p99 and the maximum in ms.
func reportLatencies(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat)), "ns/op")
	b.ReportMetric(ms(q(0.50)), "p50-ms")
	b.ReportMetric(ms(q(0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.Logf("%d requests: mean %s, p50 %s, p99 %s, max %s", len(lat), (sum / time.Duration(len(lat))).Round(time.Microsecond),
		q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
}
