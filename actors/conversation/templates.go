package conversation

import (
	"fmt"
	"strings"
	"time"

	"ringback/clock"
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
	Held:      "{{business}} is holding {{slot}} for you ({{quote}}). Reply YES to confirm, or MORE for other times.",
	Booked:    "You're booked with {{business}} for {{slot}} ({{quote}}). See you then! Reply R for a new time, or X if you can't make it.",
	Expired:   "Sorry, that time is no longer held. Open times:\n{{options}}\nReply with a number to pick one, or MORE for other times.",
	NoSlots:   "{{business}} has no open times to offer by text right now; a person will text you back soon. " + StopFooter,
	Ack:       "Thanks! A person at {{business}} will read your message and text you back here soon.",
	Help:      "{{business}}: reply with an option number (or a day and time, like \"thursday after 3\") to pick a time, YES to confirm it, or MORE for other times. " + StopFooter,
	OptOut:    "You're unsubscribed from {{business}} messages. Reply START to resubscribe.",
	OptIn:     "You're resubscribed to {{business}} messages. Reply HELP for help. " + StopFooter,
	Cancelled: "Your appointment with {{business}} on {{slot}} is cancelled. Text us any time to book again.",
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

// The texts below are the engine's own (a tenant's templates do not replace them). Each
// says what the customer can do next; none names an opt-out word.

// Options lists open times outside a first message: after "yes" with nothing held, or
// when a customer asks for times again.
func (t Texts) Options(options []Option) string {
	return t.render("Open times at {{business}}:\n{{options}}\nReply with a number to pick one, or MORE for other times.",
		map[string]string{"options": t.optionList(options)})
}

// PickWhich answers a yes while options are on offer and none is held.
func (t Texts) PickWhich(options []Option) string {
	return t.render("Which time would you like? Reply with its number:\n{{options}}\nor MORE for other times.",
		map[string]string{"options": t.optionList(options)})
}

// WindowOptions lists the open times inside the window the customer asked for.
func (t Texts) WindowOptions(label string, options []Option) string {
	return t.render("Open times {{window}}:\n{{options}}\nReply with a number to pick one, or MORE for other times.",
		map[string]string{"window": label, "options": t.optionList(options)})
}

// WindowNearest says nothing is open in the window and lists the nearest times instead.
func (t Texts) WindowNearest(label string, options []Option) string {
	return t.render("Nothing is open {{window}}. The nearest times are:\n{{options}}\nReply with a number to pick one, or MORE for other times.",
		map[string]string{"window": label, "options": t.optionList(options)})
}

// MoveOptions offers new times for a booked visit, which stays booked meanwhile.
func (t Texts) MoveOptions(visit Option, label string, options []Option) string {
	v := t.slotValues(visit)
	v["options"] = t.optionList(options)
	v["when"] = ""
	if label != "" {
		v["when"] = " " + label
	}
	return t.render("Your visit on {{slot}} stays booked until you confirm a new time. Open times{{when}}:\n{{options}}\nReply with a number to pick one.", v)
}

// MoveNearest is MoveOptions when nothing is open in the window asked for.
func (t Texts) MoveNearest(visit Option, label string, options []Option) string {
	v := t.slotValues(visit)
	v["options"], v["window"] = t.optionList(options), label
	return t.render("Nothing is open {{window}}; your visit on {{slot}} stays booked. The nearest times are:\n{{options}}\nReply with a number to pick one.", v)
}

// MoveNone says there is no other time to move a visit to.
func (t Texts) MoveNone(visit Option) string {
	return t.render("There are no other open times right now, so your visit on {{slot}} stays booked. Reply X if you can't make it.", t.slotValues(visit))
}

// MoveHeld answers the pick of a new time for a booked visit: held, waiting for YES.
func (t Texts) MoveHeld(visit, o Option) string {
	v := t.slotValues(o)
	v["old"] = formatSlot(visit.Start, t.loc)
	return t.render("{{business}} is holding {{slot}} for you ({{quote}}). Reply YES to move your visit from {{old}} to it, or MORE for other times.", v)
}

// Moved confirms a visit moved to its new time.
func (t Texts) Moved(o Option) string {
	return t.render("Done: your visit with {{business}} is moved to {{slot}} ({{quote}}). Reply R for a new time, or X if you can't make it.", t.slotValues(o))
}

// MoveLost says the new time was taken before the customer confirmed it.
func (t Texts) MoveLost(visit Option, options []Option) string {
	v := t.slotValues(visit)
	v["options"] = t.optionList(options)
	return t.render("Sorry, that time was just taken. Your visit on {{slot}} stays booked. Open times:\n{{options}}\nReply with a number to pick one.", v)
}

// CancelAsk is the one question before a visit is cancelled.
func (t Texts) CancelAsk(visit Option) string {
	return t.render("Call off your visit with {{business}} on {{slot}}? Reply YES to call it off, or NO to keep it.", t.slotValues(visit))
}

// StillBooked follows the opt-out confirmation of a customer with a booked visit: the
// visit stands, and how to call it off.
func (t Texts) StillBooked(visit Option) string {
	return t.render("Your visit on {{slot}} is still booked; call {{business}} if you can't make it.", t.slotValues(visit))
}

// Kept answers a no to CancelAsk.
func (t Texts) Kept(visit Option) string {
	return t.render("OK, your visit on {{slot}} stays booked. See you then! Reply R for a new time.", t.slotValues(visit))
}

// Released answers a customer who lets a held time go, or calls off before anything
// was booked.
func (t Texts) Released() string {
	return t.render("OK, nothing is booked with {{business}}. Reply MORE any time for open times.", nil)
}

// NotCancelled says a cancellation could not be made just now and a person will follow up.
func (t Texts) NotCancelled(visit Option) string {
	return t.render("Sorry, we could not call off your visit on {{slot}} just now. A person at {{business}} will text you back soon.", t.slotValues(visit))
}

// alertQuoteRunes bounds how much of the customer's message an owner alert quotes.
const alertQuoteRunes = 120

// OwnerAlert tells the business a customer needs a person: who (masked), what they
// wrote (cut to alertQuoteRunes, on one line) and, when there is a console, the link to
// the conversation.
func (t Texts) OwnerAlert(maskedPhone, body, link string) string {
	q := strings.Join(strings.Fields(strings.ToValidUTF8(body, "?")), " ")
	if r := []rune(q); len(r) > alertQuoteRunes {
		q = string(r[:alertQuoteRunes]) + "..."
	}
	text := t.render("{{business}}: a customer at {{phone}} needs a person. They wrote: \"{{quote}}\"", map[string]string{"phone": maskedPhone, "quote": q})
	if link != "" {
		text += " Answer: " + link
	}
	return text
}

// Reminder reminds the customer of a visit: its local time, who comes and the quote,
// and asks for a confirmation (unless one was given).
func (t Texts) Reminder(visit Option, who string, confirmed bool) string {
	v := t.slotValues(visit)
	v["who"] = ""
	if who != "" {
		v["who"] = " with " + who
	}
	if confirmed {
		return t.render("Reminder: your visit with {{business}} is {{slot}}{{who}} ({{quote}}). See you then! Reply R for a new time.", v)
	}
	return t.render("Reminder: your visit with {{business}} is {{slot}}{{who}} ({{quote}}). Reply Y to confirm or R for a new time.", v)
}

// MovedByBusiness tells the customer the business moved their visit.
func (t Texts) MovedByBusiness(visit Option) string {
	return t.render("{{business}} moved your visit to {{slot}} ({{quote}}). Reply R for a new time, or X if you can't make it.", t.slotValues(visit))
}

// CancelledByBusiness tells the customer the business cancelled their visit.
func (t Texts) CancelledByBusiness(visit Option) string {
	return t.render("{{business}} cancelled your visit on {{slot}}. Text us any time to book again.", t.slotValues(visit))
}

// AttendanceConfirmed thanks a customer who confirmed a reminded visit.
func (t Texts) AttendanceConfirmed(visit Option) string {
	return t.render("Thanks, you're confirmed for {{slot}} with {{business}}. Reply R if you need a new time.", t.slotValues(visit))
}

// UnconfirmedAlert tells the business that a reminded customer has not confirmed.
func (t Texts) UnconfirmedAlert(maskedPhone string, visit Option, who, link string) string {
	v := t.slotValues(visit)
	v["phone"], v["who"] = maskedPhone, ""
	if who != "" {
		v["who"] = " with " + who
	}
	text := t.render("{{business}}: the customer at {{phone}} has not confirmed their visit {{slot}}{{who}}.", v)
	if link != "" {
		text += " Thread: " + link
	}
	return text
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
	same := clock.WallInstants(y, mo, d, local.Hour(), local.Minute(), loc)
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
