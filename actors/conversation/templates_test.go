package conversation

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"
	"unicode"

	"github.com/stretchr/testify/require"

	"ringback/tenant"
)

func TestTextsDefaults(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	texts := NewTexts("Acme Plumbing", ny, tenant.Templates{}, "")
	options := []Option{
		{Start: time.Date(2026, 1, 13, 9, 0, 0, 0, ny), QuoteMinor: 16500, Currency: "USD"},
		{Start: time.Date(2026, 1, 13, 13, 30, 0, 0, ny), QuoteMinor: 16500, Currency: "USD"},
		{Start: time.Date(2026, 1, 14, 8, 0, 0, 0, ny).UTC(), QuoteMinor: 19050, Currency: "USD"}, // shown in the tenant zone
	}
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"offer", texts.Offer(options), "Sorry we missed your call at Acme Plumbing! Open times:\n" +
			"1) Tue Jan 13, 9:00 AM - $165.00\n" +
			"2) Tue Jan 13, 1:30 PM - $165.00\n" +
			"3) Wed Jan 14, 8:00 AM - $190.50\n" +
			"Reply with a number to pick one, or MORE for other times. Reply STOP to opt out"},
		{"held", texts.Held(options[0]), "Acme Plumbing is holding Tue Jan 13, 9:00 AM for you ($165.00). Reply YES to confirm, or MORE for other times."},
		{"booked", texts.Booked(options[2]), "You're booked with Acme Plumbing for Wed Jan 14, 8:00 AM ($190.50). See you then! Reply R for a new time, or X if you can't make it."},
		{"expired", texts.Expired(options[1:2]), "Sorry, that time is no longer held. Open times:\n" +
			"1) Tue Jan 13, 1:30 PM - $165.00\n" +
			"Reply with a number to pick one, or MORE for other times."},
		{"no slots", texts.NoSlots(), "Acme Plumbing has no open times to offer by text right now; a person will text you back soon. Reply STOP to opt out"},
		{"ack", texts.Ack(), "Thanks! A person at Acme Plumbing will read your message and text you back here soon."},
		{"help", texts.Help(), "Acme Plumbing: reply with an option number (or a day and time, like \"thursday after 3\") to pick a time, YES to confirm it, or MORE for other times. Reply STOP to opt out"},
		{"opt out", texts.OptOut(), "You're unsubscribed from Acme Plumbing messages. Reply START to resubscribe."},
		{"opt in", texts.OptIn(), "You're resubscribed to Acme Plumbing messages. Reply HELP for help. Reply STOP to opt out"},
		{"cancelled", texts.Cancelled(options[0]), "Your appointment with Acme Plumbing on Tue Jan 13, 9:00 AM is cancelled. Text us any time to book again."},
		{"reminder", texts.Reminder(options[0], "Mike", false), "Reminder: your visit with Acme Plumbing is Tue Jan 13, 9:00 AM with Mike ($165.00). Reply Y to confirm or R for a new time."},
		{"reminder, confirmed", texts.Reminder(options[0], "", true), "Reminder: your visit with Acme Plumbing is Tue Jan 13, 9:00 AM ($165.00). See you then! Reply R for a new time."},
		{"unconfirmed alert", texts.UnconfirmedAlert("+1512***0199", options[0], "Mike", "https://x.example/console/conversations/1"),
			"Acme Plumbing: the customer at +1512***0199 has not confirmed their visit Tue Jan 13, 9:00 AM with Mike. Thread: https://x.example/console/conversations/1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}

// defaultTexts renders every default template of a business with three options.
func defaultTexts(t *testing.T, business string) map[string]string {
	t.Helper()
	la := mustZone(t, "America/Los_Angeles")
	texts := NewTexts(business, la, tenant.Templates{}, "")
	// The longest slot and quote a US tenant shows: "Wed Sep 30, 12:30 PM - $9999.99".
	o := Option{Start: time.Date(2026, 9, 30, 12, 30, 0, 0, la), QuoteMinor: 999999, Currency: "USD"}
	three := []Option{o, o, o}
	return map[string]string{
		"offer": texts.Offer(three), "held": texts.Held(o), "booked": texts.Booked(o),
		"expired": texts.Expired(three), "no_slots": texts.NoSlots(), "ack": texts.Ack(),
		"help": texts.Help(), "opt_out": texts.OptOut(), "opt_in": texts.OptIn(), "cancelled": texts.Cancelled(o),
	}
}

// allTexts are defaultTexts and the engine's own texts, which no template replaces.
func allTexts(t *testing.T, business string) map[string]string {
	t.Helper()
	all := defaultTexts(t, business)
	la := mustZone(t, "America/Los_Angeles")
	texts := NewTexts(business, la, tenant.Templates{}, "")
	o := Option{Start: time.Date(2026, 9, 30, 12, 30, 0, 0, la), QuoteMinor: 999999, Currency: "USD"}
	three := []Option{o, o, o}
	for k, v := range map[string]string{
		// Every one says what to do next; none names an opt-out word.
		"options": texts.Options(three), "pick_which": texts.PickWhich(three),
		"window_options": texts.WindowOptions("Thu Mar 5 after 3 PM", three), "window_nearest": texts.WindowNearest("Sat Mar 7", three),
		"move_options": texts.MoveOptions(o, "Tue Mar 3 after 1 PM", three), "move_nearest": texts.MoveNearest(o, "Sat Mar 7", three),
		"move_none": texts.MoveNone(o), "move_held": texts.MoveHeld(o, o), "moved": texts.Moved(o), "move_lost": texts.MoveLost(o, three),
		"cancel_ask": texts.CancelAsk(o), "kept": texts.Kept(o), "released": texts.Released(), "not_cancelled": texts.NotCancelled(o),
		"still_booked": texts.StillBooked(o),
		"reminder":     texts.Reminder(o, "Maximilian", false), "reminder_confirmed": texts.Reminder(o, "Maximilian", true),
		"attendance_confirmed": texts.AttendanceConfirmed(o),
		"moved_by_business":    texts.MovedByBusiness(o), "cancelled_by_business": texts.CancelledByBusiness(o),
	} {
		all[k] = v
	}
	return all
}

func TestDefaultTemplatesComplete(t *testing.T) {
	t.Parallel()
	v := reflect.ValueOf(DefaultTemplates)
	for i := range v.NumField() {
		require.NotEmpty(t, v.Field(i).String(), "DefaultTemplates.%s", v.Type().Field(i).Name)
	}
	require.Len(t, defaultTexts(t, "Acme"), v.NumField(), "every template has a Texts method")
}

func TestDefaultTextsFitAndUseGSM7(t *testing.T) {
	t.Parallel()
	// GSM 03.38 basic character set: a text of only these is 160 characters a segment,
	// any other character makes the whole text UCS-2 at 70.
	const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	business := "Acme Plumbing & Heating Austin" // 30 characters
	for name, text := range allTexts(t, business) {
		n := len([]rune(text))
		require.LessOrEqual(t, n, 320, "%s is %d characters: %q", name, n, text)
		for _, r := range text {
			require.True(t, strings.ContainsRune(gsm7, r), "%s has %q, not in GSM-7: %q", name, r, text)
		}
	}
}

func TestDefaultTextsAskForNoOptOutWord(t *testing.T) {
	t.Parallel()
	words := func(s string) string {
		f := strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return !unicode.IsLetter(r) })
		return " " + strings.Join(f, " ") + " "
	}
	for name, text := range allTexts(t, "Acme") {
		rest := strings.ReplaceAll(text, StopFooter, "")
		for _, w := range optOutWords {
			require.NotContains(t, words(rest), " "+w+" ", "%s names %s outside the STOP footer: %q", name, w, text)
		}
	}

	texts := NewTexts("Acme", time.UTC, tenant.Templates{}, "")
	require.NotContains(t, texts.OptOut(), "STOP", "the opt-out confirmation asks for nothing but START")
	for name, text := range map[string]string{"offer": texts.Offer(nil), "no_slots": texts.NoSlots(), "help": texts.Help()} {
		require.Contains(t, text, StopFooter, name)
	}
	require.True(t, strings.HasSuffix(texts.Offer(nil), StopFooter))
}

func TestTextsOverrides(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	o := Option{Start: time.Date(2026, 1, 13, 9, 0, 0, 0, ny), QuoteMinor: 16500, Currency: "USD"}
	two := []Option{o, {Start: o.Start.Add(time.Hour), QuoteMinor: 9900, Currency: "EUR"}}
	list := "1) Tue Jan 13, 9:00 AM - $165.00\n2) Tue Jan 13, 10:00 AM - 99.00 EUR"

	cases := []struct {
		name      string
		business  string
		templates tenant.Templates
		autoReply string
		render    func(Texts) string
		want      string
	}{
		{
			"tenant offer",
			"Acme", tenant.Templates{Offer: "{{business}} here. Pick:\n{{options}}\nReply STOP to opt out"}, "",
			func(x Texts) string { return x.Offer(two) },
			"Acme here. Pick:\n" + list + "\nReply STOP to opt out",
		},
		{
			"endpoint auto_reply overrides the tenant offer",
			"Acme", tenant.Templates{Offer: "tenant {{options}}"}, "Endpoint {{business}}:\n{{options}}\nReply STOP to opt out.",
			func(x Texts) string { return x.Offer(two) },
			"Endpoint Acme:\n" + list + "\nReply STOP to opt out.",
		},
		{
			"offer without options or footer gets both",
			"Acme", tenant.Templates{}, "Sorry we missed your call at {{business}}!",
			func(x Texts) string { return x.Offer(two) },
			"Sorry we missed your call at Acme!\n" + list + "\n" + StopFooter,
		},
		{
			"options go before a trailing footer",
			"Acme", tenant.Templates{}, "Missed you! reply stop to opt out!",
			func(x Texts) string { return x.Offer(two) },
			"Missed you!\n" + list + "\nreply stop to opt out!",
		},
		{
			"a footer in the middle of an offer is not its end",
			"Acme", tenant.Templates{}, "Reply STOP to opt out. Times:\n{{options}}",
			func(x Texts) string { return x.Offer(two) },
			"Reply STOP to opt out. Times:\n" + list + "\n" + StopFooter,
		},
		{
			"expired without options gets them",
			"Acme", tenant.Templates{Expired: "Too late, sorry."}, "",
			func(x Texts) string { return x.Expired(two[:1]) },
			"Too late, sorry.\n1) Tue Jan 13, 9:00 AM - $165.00",
		},
		{
			"tenant held", "Acme", tenant.Templates{Held: "Holding {{slot}} at {{quote}}, YES?"}, "",
			func(x Texts) string { return x.Held(two[1]) },
			"Holding Tue Jan 13, 10:00 AM at 99.00 EUR, YES?",
		},
		{
			"other fields keep their defaults", "Acme", tenant.Templates{Held: "x"}, "",
			func(x Texts) string { return x.Ack() },
			"Thanks! A person at Acme will read your message and text you back here soon.",
		},
		{
			"help without footer gets it", "Acme", tenant.Templates{Help: "{{business}}: call us at 512-555-0100."}, "",
			func(x Texts) string { return x.Help() },
			"Acme: call us at 512-555-0100.\n" + StopFooter,
		},
		{
			"help with its own STOP wording is left alone", "Acme", tenant.Templates{Help: "{{business}}. Reply STOP to unsubscribe."}, "",
			func(x Texts) string { return x.Help() },
			"Acme. Reply STOP to unsubscribe.",
		},
		{
			"unknown and valueless placeholders stay as written", "Acme", tenant.Templates{Ack: "{{business}} {{name}} {{slot}} {{quote}} {{options}} {{business"}, "",
			func(x Texts) string { return x.Ack() },
			"Acme {{name}} {{slot}} {{quote}} {{options}} {{business",
		},
		{
			"a business name is not expanded", "{{options}} & {{slot}}", tenant.Templates{Booked: "{{business}}: {{slot}}"}, "",
			func(x Texts) string { return x.Booked(o) },
			"{{options}} & {{slot}}: Tue Jan 13, 9:00 AM",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.render(NewTexts(tc.business, ny, tc.templates, tc.autoReply))
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFormatSlot(t *testing.T) {
	t.Parallel()
	chicago := mustZone(t, "America/Chicago")
	moscow := mustZone(t, "Europe/Moscow")
	cases := []struct {
		name string
		at   string
		loc  *time.Location
		want string
	}{
		{"ordinary", "2026-01-07T15:00:00Z", chicago, "Wed Jan 7, 9:00 AM"},
		{"noon", "2026-01-07T18:00:00Z", chicago, "Wed Jan 7, 12:00 PM"},
		{"midnight", "2026-01-07T06:00:00Z", chicago, "Wed Jan 7, 12:00 AM"},
		// Fall back on Nov 1, 2026: 01:00–02:00 happens in CDT, then again in CST.
		{"before the repeated hour", "2026-11-01T05:30:00Z", chicago, "Sun Nov 1, 12:30 AM"},
		{"first 1:30", "2026-11-01T06:30:00Z", chicago, "Sun Nov 1, 1:30 AM CDT"},
		{"second 1:30", "2026-11-01T07:30:00Z", chicago, "Sun Nov 1, 1:30 AM CST"},
		{"first 1:59", "2026-11-01T06:59:00Z", chicago, "Sun Nov 1, 1:59 AM CDT"},
		{"second 1:00", "2026-11-01T07:00:00Z", chicago, "Sun Nov 1, 1:00 AM CST"},
		{"after the repeated hour", "2026-11-01T08:00:00Z", chicago, "Sun Nov 1, 2:00 AM"},
		// Spring forward on Mar 8, 2026: nothing is ambiguous.
		{"before the gap", "2026-03-08T07:59:00Z", chicago, "Sun Mar 8, 1:59 AM"},
		{"after the gap", "2026-03-08T08:00:00Z", chicago, "Sun Mar 8, 3:00 AM"},
		// Moscow fell back from MSK (+04) to MSK (+03) on Oct 26, 2014: same abbreviation.
		{"first 1:30 MSK", "2014-10-25T21:30:00Z", moscow, "Sun Oct 26, 1:30 AM UTC+04:00"},
		{"second 1:30 MSK", "2014-10-25T22:30:00Z", moscow, "Sun Oct 26, 1:30 AM UTC+03:00"},
		{"nil location", "2026-01-07T15:00:00Z", nil, "Wed Jan 7, 3:00 PM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := utc(t, tc.at)
			got := NewTexts("Acme", tc.loc, tenant.Templates{Held: "{{slot}}"}, "").Held(Option{Start: at})
			require.Equal(t, tc.want, got)
		})
	}

	t.Run("two offers in the repeated hour differ", func(t *testing.T) {
		t.Parallel()
		texts := NewTexts("Acme", chicago, tenant.Templates{}, "")
		first, second := utc(t, "2026-11-01T06:30:00Z"), utc(t, "2026-11-01T07:30:00Z")
		got := texts.Offer([]Option{{Start: first, QuoteMinor: 100, Currency: "USD"}, {Start: second, QuoteMinor: 100, Currency: "USD"}})
		require.Contains(t, got, "1) Sun Nov 1, 1:30 AM CDT - $1.00\n2) Sun Nov 1, 1:30 AM CST - $1.00\n")
	})
}

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	cases := []struct {
		minor    int64
		currency string
		want     string
	}{
		{16500, "USD", "$165.00"},
		{16599, "USD", "$165.99"},
		{5, "USD", "$0.05"},
		{0, "USD", "$0.00"},
		{123456789, "USD", "$1234567.89"},
		{-150, "USD", "-$1.50"},
		{16500, "usd", "$165.00"},
		{16500, "EUR", "165.00 EUR"},
		{16505, "GBP", "165.05 GBP"},
		{16500, "", "165.00"},
		{math.MinInt64, "USD", "-$92233720368547758.08"},
		{math.MaxInt64, "EUR", "92233720368547758.07 EUR"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			got := tenant.FormatMoney(tc.minor, tc.currency)
			require.Equal(t, tc.want, got)
		})
	}
}
