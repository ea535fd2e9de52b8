package conversation

import (
	"time"

	"ringback/clock"
	"ringback/tenant"
)

// Policy is what an endpoint's config says about sending.
type Policy struct {
	// Location is the tenant's zone, in which quiet hours are read; nil means UTC.
	Location *time.Location
	// QuietStart and QuietEnd are local wall-clock minutes after midnight (0 to 1439).
	// The window is [QuietStart, QuietEnd) and wraps midnight when QuietEnd < QuietStart
	// (21:00–08:00). Both are -1 when the endpoint has no quiet hours.
	QuietStart, QuietEnd int
	// Cooldown is auto_reply_cooldown: at most one auto-reply per caller in this window.
	// Zero means no cooldown.
	Cooldown time.Duration
}

// noQuiet is QuietStart and QuietEnd when there are no quiet hours.
const noQuiet = -1

// PolicyFor builds an endpoint's Policy. The config is expected to be validated; quiet
// hours that are nevertheless malformed, or empty (start equal to end), count as no
// quiet hours rather than blocking every auto-reply.
func PolicyFor(loc *time.Location, ep tenant.Endpoint, p tenant.Policies) Policy {
	pol := Policy{Location: loc, QuietStart: noQuiet, QuietEnd: noQuiet, Cooldown: p.AutoReplyCooldown.Std()}
	if q := ep.QuietHours; q != nil {
		start, errStart := tenant.ParseClock(q.Start)
		end, errEnd := tenant.ParseClock(q.End)
		if errStart == nil && errEnd == nil && start != end {
			pol.QuietStart, pol.QuietEnd = start, end
		}
	}
	return pol
}

func (p Policy) hasQuiet() bool {
	return p.QuietStart >= 0 && p.QuietEnd >= 0 && p.QuietStart != p.QuietEnd
}

func (p Policy) location() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// Caller is what the endpoint remembers of one customer phone.
type Caller struct {
	OptedOut bool
	// OptOutConfirmed says the one confirmation of the current opt-out is owed or sent:
	// Inbound sets it with OptedOut, and clears it on opt-in so that a later opt-out is
	// confirmed again.
	OptOutConfirmed bool
	// LastAutoReply is when the last auto-reply was sent; zero if never.
	LastAutoReply time.Time
}

// Verdict is AutoReply's decision.
type Verdict int

const (
	// Send the auto-reply now.
	Send Verdict = iota
	// SuppressOptedOut: the caller opted out; send nothing, not even later.
	SuppressOptedOut
	// SuppressCooldown: the caller got an auto-reply inside the cooldown; send nothing.
	SuppressCooldown
	// DeferQuietHours: decide again at the instant AutoReply returns (quiet hours end).
	DeferQuietHours
)

// String names the verdict for logs and metrics labels.
func (v Verdict) String() string {
	switch v {
	case Send:
		return "send"
	case SuppressOptedOut:
		return "opted_out"
	case SuppressCooldown:
		return "cooldown"
	case DeferQuietHours:
		return "quiet_hours"
	}
	return "unknown"
}

// AutoReply decides whether a missed call gets an auto-reply now. The checks run in this
// order and the first that applies wins: opted out, cooldown, quiet hours.
//
// The cooldown window is half-open: an auto-reply exactly Cooldown after the last one is
// allowed, one a nanosecond earlier is suppressed. A LastAutoReply after now (a clock
// step backwards) also suppresses, since the promise is at most one auto-reply per window.
// A zero Cooldown never suppresses.
//
// For DeferQuietHours it also returns when quiet hours end (QuietEnds). That is when the
// caller should call AutoReply again, with the Caller state of that moment: the customer
// may have opted out, or been answered, in the meantime. The time is the zero Time for
// the other verdicts.
func AutoReply(p Policy, c Caller, now time.Time) (Verdict, time.Time) {
	switch {
	case c.OptedOut:
		return SuppressOptedOut, time.Time{}
	case p.Cooldown > 0 && !c.LastAutoReply.IsZero() && now.Sub(c.LastAutoReply) < p.Cooldown:
		return SuppressCooldown, time.Time{}
	case InQuiet(p, now):
		return DeferQuietHours, QuietEnds(p, now)
	}
	return Send, time.Time{}
}

// MaySend decides whether a conversational reply (options, hold, booked, help) may be sent
// to c: never to an opted-out number. Quiet hours and cooldown do not apply to replies to
// a customer who just texted us. The compliance texts themselves (the opt-out
// confirmation, HELP while opted out) are decided by Inbound, not by MaySend.
func MaySend(c Caller) bool {
	return !c.OptedOut
}

// InQuiet reports whether now is inside quiet hours, judged by the local wall clock: the
// minute of the day now reads in p.Location. So on a spring-forward day a window that
// starts inside the skipped hour starts when the clock jumps past it, and on a fall-back
// day a repeated wall-clock time is judged the same way both times it occurs.
func InQuiet(p Policy, now time.Time) bool {
	return p.hasQuiet() && clock.InDaily(p.QuietStart, p.QuietEnd, p.location(), now)
}

// QuietEnds returns the first instant strictly after now at which the local wall clock
// reads QuietEnd: the end of the current quiet hours when InQuiet, else of the next ones.
// If QuietEnd does not exist on that day (it falls in a spring-forward gap, such as 02:30
// on a US spring-forward day), the end is the first valid instant after the gap, the
// moment the clock jumps (03:00). If it occurs twice (a fall-back day), each occurrence
// is an end, consistent with InQuiet. It returns the zero Time when p has no quiet hours.
func QuietEnds(p Policy, now time.Time) time.Time {
	if !p.hasQuiet() {
		return time.Time{}
	}
	return clock.NextWall(p.QuietEnd, p.location(), now)
}

// ComplianceAction is the compliance text, if any, that Inbound says to send.
type ComplianceAction int

const (
	// NoCompliance: the message has no compliance meaning; handle it as conversation.
	NoCompliance ComplianceAction = iota
	// ConfirmOptOut: send the one opt-out confirmation.
	ConfirmOptOut
	// AlreadyOptedOut: an opt-out word from an opted-out number; send nothing.
	AlreadyOptedOut
	// ConfirmOptIn: send the opt-in confirmation.
	ConfirmOptIn
	// AnswerHelp: send the help text.
	AnswerHelp
	// IgnoreWhileOptedOut: opted out and not an opt-in or help word; send nothing.
	IgnoreWhileOptedOut
)

// String names the action for logs and metrics labels.
func (a ComplianceAction) String() string {
	switch a {
	case NoCompliance:
		return "none"
	case ConfirmOptOut:
		return "confirm_opt_out"
	case AlreadyOptedOut:
		return "already_opted_out"
	case ConfirmOptIn:
		return "confirm_opt_in"
	case AnswerHelp:
		return "answer_help"
	case IgnoreWhileOptedOut:
		return "ignore_while_opted_out"
	}
	return "unknown"
}

// Inbound applies an inbound message's compliance meaning to c and says which compliance
// text to send, if any:
//
//   - an opt-out word opts c out and asks for the single opt-out confirmation; from an
//     already opted-out number it sends nothing (AlreadyOptedOut), unless that
//     number's confirmation was never recorded (OptOutConfirmed false), which it then gets;
//   - START or UNSTOP (re)subscribes and asks for the opt-in confirmation, also from a
//     subscribed number (it is the carrier's standard keyword reply and harmless);
//   - YES re-subscribes an opted-out number (ConfirmOptIn); while subscribed it is a
//     confirmation (NoCompliance); a bare Y never opts in;
//   - HELP or INFO is always answered, opted out or not: carriers require HELP to work;
//   - anything else from an opted-out number is IgnoreWhileOptedOut; from a subscribed
//     one it is NoCompliance (options, YES, MORE, other) and c is unchanged.
//
// The caller persists the returned Caller in the same transaction as the outbox row of
// the text to send, so a confirmation is sent once even across a crash.
func Inbound(c Caller, r Reply) (Caller, ComplianceAction) {
	switch {
	case r.Kind == ReplyOptOut:
		if c.OptedOut && c.OptOutConfirmed {
			return c, AlreadyOptedOut
		}
		c.OptedOut, c.OptOutConfirmed = true, true
		return c, ConfirmOptOut
	case r.Kind == ReplyHelp:
		return c, AnswerHelp
	case r.Kind == ReplyOptIn, r.OptIn && c.OptedOut:
		c.OptedOut, c.OptOutConfirmed = false, false
		return c, ConfirmOptIn
	case c.OptedOut:
		return c, IgnoreWhileOptedOut
	}
	return c, NoCompliance
}
