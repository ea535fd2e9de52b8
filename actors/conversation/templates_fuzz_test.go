package conversation

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"ringback/tenant"
)

// FuzzTexts renders any tenant template and business name that validation lets through
// (the engine builds texts from validated configs only). Whatever a tenant writes, the
// contract's promises about the texts hold: the first message lists every option and
// ends with StopFooter; NoSlots and Help say how to opt out; a value (the business name)
// is never expanded as a template; text without placeholders is sent as written; and
// valid UTF-8 in gives valid UTF-8 out (messages are stored as Postgres text).
func FuzzTexts(f *testing.F) {
	f.Add("Acme Plumbing", DefaultTemplates.Offer, int64(1894024800), int64(21000))
	f.Add("Acme {{options}}", "{{business}}: {{options}} reply stop to opt out!!", int64(0), int64(-1))
	f.Add("{{slot}}", "Pick {{options}} {{options}}. Reply STOP to opt out. More text", int64(1), int64(1))
	f.Add("ſtop", "Reply ſTOP to opt out", int64(1894024800), int64(99))
	f.Add("Ünïcödé", "{{unclosed", int64(-62135596800), int64(9223372036854775807))
	f.Add("", "{{quote}}{{slot}}{{options}}{{business}}", int64(253402300799), int64(0))
	f.Add("x", "'); DROP TABLE conversation.messages; --", int64(1894024800), int64(120))
	f.Fuzz(func(t *testing.T, business, tmpl string, unix, quote int64) {
		loc, err := time.LoadLocation("America/Chicago")
		require.NoError(t, err)
		all := tenant.Templates{Offer: tmpl, Held: tmpl, Booked: tmpl, Expired: tmpl, NoSlots: tmpl,
			Ack: tmpl, Help: tmpl, OptOut: tmpl, OptIn: tmpl, Cancelled: tmpl}
		if !validTexts(business, all) {
			return // texts are built from validated configs only
		}
		texts := NewTexts(business, loc, all, "")
		start := time.Unix(unix%(400*365*24*3600), 0)
		opts := []Option{
			{Start: start, QuoteMinor: quote, Currency: "USD"},
			{Start: start.Add(30 * time.Minute), QuoteMinor: quote / 2, Currency: "EUR"},
			{Start: start.Add(90 * time.Minute), QuoteMinor: 0, Currency: "JPY"},
		}
		lines := strings.Split(texts.optionList(opts), "\n")
		require.Len(t, lines, 3)

		offer := texts.Offer(opts)
		require.True(t, endsWithFooter(offer), "offer does not end with %q: %q", StopFooter, offer)
		expired := texts.Expired(opts)
		for _, line := range lines {
			require.Contains(t, offer, line)
			require.Contains(t, expired, line)
		}
		require.True(t, endsWithFooter(texts.Offer(nil)), "an empty offer still ends with the footer")
		for _, s := range []string{texts.NoSlots(), texts.Help()} {
			require.Contains(t, strings.ToUpper(s), "REPLY STOP")
		}

		plain := NewTexts(business, loc, tenant.Templates{Held: "{{business}}", Ack: tmpl}, "")
		require.Equal(t, business, plain.Held(opts[0]), "the business name is a value, never a template")
		if tmpl != "" && !strings.Contains(tmpl, "{{") {
			require.Equal(t, tmpl, plain.Ack(), "text without placeholders is sent as written")
		}

		{
			for _, s := range []string{offer, expired, texts.Held(opts[0]), texts.Booked(opts[1]), texts.Cancelled(opts[2]),
				texts.NoSlots(), texts.Ack(), texts.Help(), texts.OptOut(), texts.OptIn()} {
				require.True(t, utf8.ValidString(s), "invalid UTF-8 out of valid input: %q", s)
			}
		}
	})
}

// validTexts reports whether a tenant named business may use templates: whether
// validation finds nothing wrong with either.
func validTexts(business string, templates tenant.Templates) bool {
	cfg := tenant.Config{ID: "ab", Name: business, Timezone: "UTC", Templates: templates}
	cfg.Normalize()
	if cfg.Name != business {
		return false // the name as written is what a valid config carries
	}
	err := cfg.Validate()
	if err == nil {
		return true
	}
	for _, e := range err.(*tenant.ValidationError).Errors {
		if e.Field == "name" || strings.HasPrefix(e.Field, "templates") {
			return false
		}
	}
	return true
}
