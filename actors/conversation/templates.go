package conversation

import (
	"fmt"
	"strings"
	"time"

	"ringback/tenant"
)

// StopFooter is the opt-out instruction that ends every first message (Offer, NoSlots)
// and the help text. It is the only place the engine names an opt-out word: no text ever
// asks a customer to reply with one for any other purpose.
const StopFooter = "Reply STOP to opt out"

// DefaultTemplates are the texts a tenant gets for templates it leaves empty. They are
// short (an offer of three options fits in two SMS segments), use only the GSM-7
// alphabet so a segment holds 160 characters rather than 70 (hence "-" and not "–"),
// and never use an opt-out word except in StopFooter.
var DefaultTemplates = tenant.Templates{
	Offer:     "Sorry we missed your call at {{business}}! Open times:\n{{options}}\nReply with a number to pick one, or MORE for other times. " + StopFooter,
	Held:      "{{business}} is holding {{slot}} for you ({{quote}}). Reply YES to confirm.",
	Booked:    "You're booked with {{business}} for {{slot}} ({{quote}}). See you then!",
	Expired:   "Sorry, that time is no longer held. Open times:\n{{options}}\nReply with a number to pick one.",
	NoSlots:   "{{business}} has no open times to offer by text right now and will get back to you soon. " + StopFooter,
	Ack:       "Thanks! {{business}} got your message and will get back to you soon.",
	Help:      "{{business}}: reply with an option number to pick a time, YES to confirm it, or MORE for other times. " + StopFooter,
	OptOut:    "You're unsubscribed from {{business}} messages. Reply START to resubscribe.",
	OptIn:     "You're resubscribed to {{business}} messages. Reply HELP for help. " + StopFooter,
	Cancelled: "Your appointment with {{business}} on {{slot}} was cancelled.",
}

// Texts renders the SMS texts of one endpoint: the tenant's templates with the endpoint's
// auto_reply in place of Offer when set, each empty field falling back to
// DefaultTemplates. Times are shown in the tenant's zone.
type Texts struct {
	t        tenant.Templates
	business string
	loc      *time.Location
}

// NewTexts builds an endpoint's Texts. A nil loc means UTC.
func NewTexts(business string, loc *time.Location, tenantTemplates tenant.Templates, endpointAutoReply string) Texts {
	if loc == nil {
		loc = time.UTC
	}
	t := DefaultTemplates
	pick := func(dst *string, override string) {
		if override != "" {
			*dst = override
		}
	}
	pick(&t.Offer, tenantTemplates.Offer)
	pick(&t.Offer, endpointAutoReply)
	pick(&t.Held, tenantTemplates.Held)
	pick(&t.Booked, tenantTemplates.Booked)
	pick(&t.Expired, tenantTemplates.Expired)
	pick(&t.NoSlots, tenantTemplates.NoSlots)
	pick(&t.Ack, tenantTemplates.Ack)
	pick(&t.Help, tenantTemplates.Help)
	pick(&t.OptOut, tenantTemplates.OptOut)
	pick(&t.OptIn, tenantTemplates.OptIn)
	pick(&t.Cancelled, tenantTemplates.Cancelled)
	return Texts{t: t, business: business, loc: loc}
}

// Option is one offered slot.
type Option struct {
	Start      time.Time
	QuoteMinor int64  // in minor units (cents)
	Currency   string // ISO 4217
}

// Offer is the auto-reply to a missed call: options numbered from 1, one a line, as
// "1) Mon Jan 7, 9:00 AM - $165.00". Whatever the template, the text contains the options
// (appended when the template has no {{options}}) and ends with StopFooter (appended
// when missing), as the contract requires of the first message. With no options to offer
// send NoSlots instead.
func (t Texts) Offer(options []Option) string {
	text := t.withOptions(t.t.Offer, options)
	if !endsWithFooter(text) {
		text = joinLines(text, StopFooter)
	}
	return text
}

// Held answers an option number: the slot is held; it asks "Reply YES to confirm".
func (t Texts) Held(o Option) string {
	return t.render(t.t.Held, t.slotValues(o))
}

// Booked confirms the appointment, in local time.
func (t Texts) Booked(o Option) string {
	return t.render(t.t.Booked, t.slotValues(o))
}

// Cancelled tells the customer the appointment was cancelled.
func (t Texts) Cancelled(o Option) string {
	return t.render(t.t.Cancelled, t.slotValues(o))
}

// Expired answers a YES whose hold ran out or was lost: never "booked", fresh options
// instead (appended when the template has no {{options}}).
func (t Texts) Expired(options []Option) string {
	return t.withOptions(t.t.Expired, options)
}

// NoSlots says there is nothing to offer. It may be the first message to a missed call,
// so it contains StopFooter (appended when missing).
func (t Texts) NoSlots() string {
	return withFooter(t.render(t.t.NoSlots, nil))
}

// Ack is the one short acknowledgement of a message the engine does not understand.
func (t Texts) Ack() string {
	return t.render(t.t.Ack, nil)
}

// Help answers HELP or INFO: it names the business and, as carriers require, says how
// to opt out (StopFooter is appended when missing).
func (t Texts) Help() string {
	return withFooter(t.render(t.t.Help, nil))
}

// OptOut is the one opt-out confirmation. It asks for nothing but START.
func (t Texts) OptOut() string {
	return t.render(t.t.OptOut, nil)
}

// OptIn confirms a re-subscription.
func (t Texts) OptIn() string {
	return t.render(t.t.OptIn, nil)
}

func (t Texts) slotValues(o Option) map[string]string {
	return map[string]string{"slot": formatSlot(o.Start, t.loc), "quote": tenant.FormatMoney(o.QuoteMinor, o.Currency)}
}

// withOptions renders tmpl with {{options}}, and appends the list when tmpl lacks the
// placeholder, before a trailing StopFooter so the footer stays last.
func (t Texts) withOptions(tmpl string, options []Option) string {
	list := t.optionList(options)
	text := t.render(tmpl, map[string]string{"options": list})
	if list == "" || strings.Contains(tmpl, "{{options}}") {
		return text
	}
	if i := footerAt(text); i >= 0 {
		return joinLines(text[:i], list, text[i:])
	}
	return joinLines(text, list)
}

func (t Texts) optionList(options []Option) string {
	lines := make([]string, len(options))
	for i, o := range options {
		lines[i] = fmt.Sprintf("%d) %s - %s", i+1, formatSlot(o.Start, t.loc), tenant.FormatMoney(o.QuoteMinor, o.Currency))
	}
	return strings.Join(lines, "\n")
}

// render replaces {{business}} and the placeholders in values, in one pass so that a
// value containing "{{…}}" is never expanded. A placeholder that is unknown, or has no
// value in this text ({{slot}} in Ack), is left as written: a visible mistake is easier
// to catch than a silently missing word.
func (t Texts) render(tmpl string, values map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(tmpl[i+2:], "}}")
		if j < 0 {
			break
		}
		name := tmpl[i+2 : i+2+j]
		b.WriteString(tmpl[:i])
		if v, ok := values[name]; ok {
			b.WriteString(v)
		} else if name == "business" {
			b.WriteString(t.business)
		} else {
			b.WriteString(tmpl[i : i+2+j+2])
		}
		tmpl = tmpl[i+2+j+2:]
	}
	b.WriteString(tmpl)
	return b.String()
}

// slotLayout is how a slot reads: "Mon Jan 7, 9:00 AM".
const slotLayout = "Mon Jan 2, 3:04 PM"

// formatSlot shows t in loc. On a fall-back day, when the shown wall-clock minute occurs
// twice, it appends the zone abbreviation ("1:30 AM CDT", "1:30 AM CST") so that the two
// are distinguishable, or the numeric offset if both abbreviations are the same.
func formatSlot(t time.Time, loc *time.Location) string {
	local := t.In(loc)
	s := local.Format(slotLayout)
	y, mo, d := local.Date()
	same := wallInstants(y, mo, d, local.Hour(), local.Minute(), loc)
	if len(same) < 2 {
		return s
	}
	abbr, off := local.Zone()
	for _, other := range same {
		if oAbbr, oOff := other.Zone(); oOff != off && oAbbr == abbr {
			return s + " UTC" + local.Format("-07:00")
		}
	}
	return s + " " + abbr
}

// footerAt returns where a trailing StopFooter starts in text (any case, followed only
// by punctuation or whitespace), or -1.
func footerAt(text string) int {
	trimmed := strings.TrimRight(text, " \t\r\n.!")
	i := len(trimmed) - len(StopFooter)
	if i < 0 || !strings.EqualFold(trimmed[i:], StopFooter) {
		return -1
	}
	return i
}

func endsWithFooter(text string) bool { return footerAt(text) >= 0 }

// withFooter appends StopFooter unless text already says "reply STOP" somewhere.
func withFooter(text string) string {
	if strings.Contains(strings.ToUpper(text), "REPLY STOP") {
		return text
	}
	return joinLines(text, StopFooter)
}

// joinLines joins the non-empty parts, each without trailing whitespace, one a line.
func joinLines(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimRight(p, " \t\r\n"); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "\n")
}
