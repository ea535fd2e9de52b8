// Package conversation owns the conversation with a customer phone on one messaging
// endpoint: what the customer's texts mean, what compliance (opt-out, quiet hours,
// cooldown) allows the engine to send, and the texts it sends.
package conversation

import (
	"time"
)

// ReplyKind is what a customer's SMS means to the engine: its intent.
type ReplyKind int

const (
	// ReplyUnknown is a message the engine cannot act on: it is kept, the conversation
	// needs a person, and the business is alerted.
	ReplyUnknown ReplyKind = iota
	// ReplyOptOut revokes consent: a carrier opt-out word as the whole message (STOP,
	// STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, OPT OUT), or a sentence
	// asking not to be texted any more.
	ReplyOptOut
	// ReplyOptIn is START or UNSTOP. YES is also an opt-in word but reads as ReplyConfirm
	// with Reply.OptIn set.
	ReplyOptIn
	// ReplyHelp asks what this is or how it works (HELP, INFO, "who is this?").
	ReplyHelp
	// ReplyReschedule asks to move the booked visit; Reply.Window may narrow the new time.
	ReplyReschedule
	// ReplyCancel asks to cancel the visit (or the hold). A bare CANCEL is ReplyOptOut.
	ReplyCancel
	// ReplyPick chooses an offered option; Reply.Option holds it (1-based).
	ReplyPick
	// ReplyConfirm is the yes family: confirm what the engine last asked.
	ReplyConfirm
	// ReplyMore declines the options or asks for others ("no", "none of those", MORE).
	ReplyMore
	// ReplyWindow asks for times inside a day or time window; Reply.Window holds it.
	ReplyWindow
)

// String names the intent for logs and the ringback_replies_total label (never log the
// message body).
func (k ReplyKind) String() string {
	switch k {
	case ReplyOptOut:
		return "opt_out"
	case ReplyOptIn:
		return "opt_in"
	case ReplyHelp:
		return "help"
	case ReplyReschedule:
		return "reschedule"
	case ReplyCancel:
		return "cancel"
	case ReplyPick:
		return "pick"
	case ReplyConfirm:
		return "confirm"
	case ReplyMore:
		return "more"
	case ReplyWindow:
		return "window"
	}
	return "unknown"
}

// Reply is the meaning of one inbound SMS.
type Reply struct {
	Kind ReplyKind
	// Option is the chosen option (1 to len(Thread.Options)) when Kind is ReplyPick, else 0.
	Option int
	// OptIn is set for the carrier opt-in words START, UNSTOP and YES. YES reads as
	// ReplyConfirm, so this is how Inbound knows that a YES from an opted-out customer
	// re-subscribes them while a "yep" or a bare Y does not.
	OptIn bool
	// Window is the time the customer asked for (ReplyWindow; ReplyReschedule when the
	// message names one), nil otherwise.
	Window *Window
}

// Thread is what the conversation had said when the reply arrived: what Read needs to
// know of it.
type Thread struct {
	// Options are the start times of the numbered options on offer (option i+1 is
	// Options[i]); empty when nothing is on offer.
	Options []time.Time
	// Booked says the customer has a booked visit the reply may be about.
	Booked bool
}

// Read says what a customer's SMS means, given what the thread offered, in the business's
// zone loc at now. It is pure and deterministic: the same arguments give the same Reply.
//
// The message is normalised first (case; Unicode quotes, dashes, spaces and full-width
// forms; emoji such as 👍 in any skin tone, ✅ and keycap digits like 2️⃣; number words,
// ordinals and common misspellings; filler such as "please", "ok so", "thanks"), then
// read in this precedence:
//
//  1. opt-out: a carrier opt-out word as the whole message, whatever its case,
//     punctuation, repeats or hyphens, or a sentence meaning "stop messaging me"
//     ("stop texting me", "remove me", "wrong number"). An ambiguous "stop" counts as
//     one (the safe side); "stop by tomorrow" or "don't stop by before 10" do not;
//  2. opt-in (START, UNSTOP) and help;
//  3. about a visit: cancel ("cancel my appointment", X; a bare CANCEL is an opt-out),
//     and with a booked visit, reschedule ("can we move it", R);
//  4. pick: an offered option by number, word, ordinal or its day and time;
//  5. confirm: the yes family;
//  6. a day or time window ("thursday after 3"), more specific than 7;
//  7. more: a decline or a request for other times;
//  8. anything else: unknown.
//
// A message with words the engine does not understand alongside the ones it does is
// unknown unless the understood ones clearly dominate: when in doubt a person reads it.
func Read(body string, th Thread, loc *time.Location, now time.Time) Reply {
	if loc == nil {
		loc = time.UTC
	}
	m := normalise(body)
	switch {
	case th.Booked && m.politeCancel():
		// "please cancel" with a visit booked calls the visit off (after the one
		// question); the bare word stays the carrier's opt-out.
		return Reply{Kind: ReplyCancel}
	case m.optOut():
		return Reply{Kind: ReplyOptOut}
	case m.optIn():
		return Reply{Kind: ReplyOptIn, OptIn: true}
	case m.help():
		return Reply{Kind: ReplyHelp}
	case m.cancel():
		return Reply{Kind: ReplyCancel}
	}
	w, hasWindow := m.window(loc, now)
	var win *Window
	if hasWindow {
		ww := w.toWindow(loc, now)
		win = &ww
	}
	reschedule := m.reschedule()
	if reschedule && th.Booked {
		return Reply{Kind: ReplyReschedule, Window: win}
	}
	if th.Booked && len(th.Options) == 0 && hasWindow && !m.confirm() && m.understood(windowWords) {
		// A day or time from a customer with a visit booked: a new time for it.
		return Reply{Kind: ReplyReschedule, Window: win}
	}
	if n := m.pick(th.Options, w, hasWindow, loc); n > 0 {
		return Reply{Kind: ReplyPick, Option: n}
	}
	if n := m.clausePick(th.Options, loc, now); n > 0 {
		return Reply{Kind: ReplyPick, Option: n}
	}
	if n := m.leadingPick(th.Options); n > 0 {
		return Reply{Kind: ReplyPick, Option: n}
	}
	if hasWindow && len(th.Options) > 0 && m.declines(th.Options, w, loc) {
		return Reply{Kind: ReplyMore} // "I can't do tues or wed, what else ya got"
	}
	if m.confirm() {
		return Reply{Kind: ReplyConfirm, OptIn: m.bareYes()}
	}
	if hasWindow && (m.understood(windowWords) || m.clauseWindow()) && !m.asksAbout() {
		return Reply{Kind: ReplyWindow, Window: win}
	}
	if m.more() || reschedule && !hasWindow { // "a different time" with no visit: other times
		return Reply{Kind: ReplyMore}
	}
	return Reply{Kind: ReplyUnknown}
}
