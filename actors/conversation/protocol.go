// Package conversation owns the conversation with a customer phone on one messaging
// endpoint: what the customer's texts mean, what compliance (opt-out, quiet hours,
// cooldown) allows the engine to send, and the texts it sends.
package conversation

import "strings"

// ReplyKind is what a customer's SMS means to the engine.
type ReplyKind int

const (
	// ReplyOther is anything else: the message is kept for the business and gets at most
	// one short acknowledgement.
	ReplyOther ReplyKind = iota
	// ReplyOptOut is a carrier opt-out word: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
	// REVOKE, OPTOUT or OPT OUT.
	ReplyOptOut
	// ReplyOptIn is START or UNSTOP. YES is also an opt-in word but parses as ReplyConfirm
	// with Reply.OptIn set.
	ReplyOptIn
	// ReplyHelp is HELP or INFO.
	ReplyHelp
	// ReplyConfirm is YES or Y: confirm the held slot.
	ReplyConfirm
	// ReplyMore is MORE: list the next options.
	ReplyMore
	// ReplyOption is a bare option number; Reply.Option holds it (1-based).
	ReplyOption
)

// String names the kind for logs and metrics labels (never log the message body).
func (k ReplyKind) String() string {
	switch k {
	case ReplyOther:
		return "other"
	case ReplyOptOut:
		return "opt_out"
	case ReplyOptIn:
		return "opt_in"
	case ReplyHelp:
		return "help"
	case ReplyConfirm:
		return "confirm"
	case ReplyMore:
		return "more"
	case ReplyOption:
		return "option"
	}
	return "unknown"
}

// Reply is the meaning of one inbound SMS.
type Reply struct {
	Kind ReplyKind
	// Option is the chosen option (1 to 99) when Kind is ReplyOption, else 0.
	Option int
	// OptIn is set for the carrier opt-in words START, UNSTOP and YES. YES parses as
	// ReplyConfirm, so this is how the caller (Inbound) knows that a YES from an
	// opted-out customer re-subscribes them while a bare Y does not.
	OptIn bool
}

// MaxOption is the largest option number ParseReply accepts. Offers list a handful of
// options; a longer number is more likely a street number or a price than a choice.
const MaxOption = 99

// keyword is the meaning of a keyword message, given upper-cased with its inner
// whitespace collapsed to single spaces.
func keyword(msg string) (Reply, bool) {
	switch msg {
	case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT":
		return Reply{Kind: ReplyOptOut}, true
	case "START", "UNSTOP":
		return Reply{Kind: ReplyOptIn, OptIn: true}, true
	case "YES":
		return Reply{Kind: ReplyConfirm, OptIn: true}, true
	case "Y":
		return Reply{Kind: ReplyConfirm}, true
	case "HELP", "INFO":
		return Reply{Kind: ReplyHelp}, true
	case "MORE":
		return Reply{Kind: ReplyMore}, true
	}
	return Reply{}, false
}

const (
	// keywordTrail is the punctuation ignored after a keyword ("Stop!", "yes.", "help?").
	keywordTrail = ".,!?;:)"
	// optionTrail is the punctuation ignored after an option number ("2.", "2)", "2!").
	// It is narrower than keywordTrail: "2?" or "2," reads as a question or the start of
	// a sentence, not a choice.
	optionTrail = ".!)"
)

// ParseReply reads what a customer's SMS means. A keyword or option counts only when it
// is the whole message:
//
//   - case is ignored, and so are leading and trailing whitespace (Unicode spaces such as
//     a no-break space included), trailing punctuation
//     (any of . , ! ? ; : ) after a keyword), and the amount of whitespace between the
//     words of OPT OUT ("opt   out"); OPTOUT is accepted too;
//   - an option is an optional "#", one or two digits and optionally trailing . ! or ),
//     with a value from 1 to MaxOption ("2", "#2", "2.", "2)", "02"); 0, 100 and -1 are
//     ReplyOther;
//   - only ASCII letters and digits match: full-width forms, other scripts and Unicode
//     case folds such as "ſtop" (long s) are ReplyOther, as is invalid UTF-8;
//   - anything more ("STOP IT", "please stop", "stopp", "2 please") is ReplyOther.
//
// YES parses as ReplyConfirm with OptIn set: the caller treats it as an opt-in when the
// customer is opted out (the contract lets START, UNSTOP or YES re-subscribe) and as a
// confirmation otherwise. Y is a confirmation only.
func ParseReply(body string) Reply {
	msg := strings.Join(strings.Fields(body), " ")
	for i := range len(msg) {
		if msg[i] >= 0x80 {
			return Reply{}
		}
	}

	word := strings.TrimRight(msg, keywordTrail+" ")
	if r, ok := keyword(strings.ToUpper(word)); ok {
		return r
	}

	digits := strings.TrimPrefix(strings.TrimRight(msg, optionTrail+" "), "#")
	if n, ok := optionNumber(digits); ok {
		return Reply{Kind: ReplyOption, Option: n}
	}
	return Reply{}
}

// optionNumber reads one or two ASCII digits as a number from 1 to MaxOption.
func optionNumber(s string) (int, bool) {
	if len(s) == 0 || len(s) > 2 {
		return 0, false
	}
	n := 0
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= 1 && n <= MaxOption
}

// IsOptOut reports whether body is an opt-out request (see ParseReply).
func IsOptOut(body string) bool {
	return ParseReply(body).Kind == ReplyOptOut
}
