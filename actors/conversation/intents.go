package conversation

import (
	"strings"
	"time"
)

// The intents of Read, each a predicate over a normalised message. The word lists below
// are canonical words (see canon): a predicate never sees a misspelling or an emoji.

// optOutWords are the carrier opt-out words; as the whole message (repeated, hyphenated,
// spelt letter by letter) each revokes consent.
var optOutWords = []string{"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}

// optOut reports a revocation of consent, on the safe side when in doubt.
func (m *message) optOut() bool {
	// The whole message is an opt-out word, maybe repeated or spelt out: "STOP STOP",
	// "opt-out", "un-subscribe", "s t o p", "cancel please".
	var raw, canonical strings.Builder
	for _, i := range m.content {
		t := m.toks[i]
		raw.WriteString(t.raw)
		if t.w == "msgverb" || t.w == "" {
			canonical.WriteString(t.raw)
		} else {
			canonical.WriteString(t.w)
		}
	}
	for _, s := range []string{raw.String(), canonical.String()} {
		for _, w := range optOutWords {
			if s != "" && len(s)%len(w) == 0 && strings.Repeat(w, len(s)/len(w)) == s {
				return true
			}
		}
	}
	// A stop word with only emphasis: "stop it", "STOP NOW", "stop this already".
	stops, other := 0, 0
	for _, i := range m.content {
		switch w := m.toks[i].w; {
		case w == "stop" || w == "quit" || w == "unsubscribe" || w == "revoke" || w == "stopall":
			stops++
		case !emphasis[w]:
			other++
		}
	}
	if stops > 0 && other == 0 {
		return true
	}
	for i, t := range m.toks {
		next := m.at(i + 1)
		if t.raw == "opt" && (next.raw == "out" || m.at(i+2).raw == "out") {
			return true // "opt out", "opt me out"
		}
		switch t.w {
		case "unsubscribe", "revoke", "stopall", "spam":
			return true
		case "optout":
			return true
		case "stop", "quit", "cease":
			// "stop texting me", "quit messaging", "stop sending me these"
			if m.withinClause(i+1, 4, messaging) {
				return true
			}
			if t.w == "stop" && !m.visitStop(i) {
				return true
			}
		case "end", "cancel":
			// "end these texts", "cancel the messages"
			if m.withinClause(i+1, 4, messagingNoCall) {
				return true
			}
		case "dont", "never":
			// "don't text me", "do not contact me", "I do not want to receive these
			// messages", "please not send me message anymore"; not "I don't understand
			// this message".
			if m.negatedMessaging(i + 1) {
				return true
			}
		case "no":
			if messaging[next.w] || next.w == "more" && m.within(i+2, 2, messaging) {
				return true
			}
		case "remove":
			if next.w == "me" || next.w == "from" || (next.w == "my" || next.w == "this") && m.within(i+2, 2, numberWord) {
				return true
			}
		case "take":
			if (next.w == "me" || m.within(i+1, 2, numberWord)) && m.within(i+2, 3, map[string]bool{"off": true}) {
				return true
			}
		case "leave":
			if next.w == "me" && m.at(i+2).w == "alone" {
				return true
			}
		case "lose", "delete", "forget", "erase":
			if m.within(i+1, 3, numberWord) {
				return true
			}
		case "wrong":
			if numberWord[next.w] || next.w == "person" || next.w == "phone" || len(m.content) == 1 {
				return true
			}
		case "not":
			if next.w == "interested" && !m.hasWhen() || m.negatedMessaging(i+1) {
				return true
			}
		case "go", "get", "fuck", "piss", "f":
			if next.w == "away" || next.w == "lost" || next.w == "off" && t.w != "go" && t.w != "get" {
				return true
			}
		}
	}
	return false
}

// negatedMessaging says the words from i, after a negation, reach a messaging word
// through words that only carry it ("want to receive these", "ever", "send me").
func (m *message) negatedMessaging(i int) bool {
	for j := i; j < len(m.toks) && j < i+6; j++ {
		t := m.toks[j]
		if j > i && t.brk {
			return false
		}
		switch {
		case messagingNoCall[t.w] || t.w == "send":
			return true
		case !negationCarriers[t.w]:
			return false
		}
	}
	return false
}

// visitStop says the stop at i is about the visit, not the messages: "stop by tomorrow",
// "can you stop at 3", "don't stop by before 10", "it won't stop leaking".
func (m *message) visitStop(i int) bool {
	next, prev := m.at(i+1), m.at(i-1)
	if stopVisit[next.w] || stopNegated[prev.w] || next.hh >= 0 || next.isNum() || whenWords[next.w] {
		return true
	}
	return strings.HasSuffix(next.raw, "ing") && !messaging[next.w]
}

// hasWhen says the message names a day, a time or a number.
func (m *message) hasWhen() bool {
	for _, t := range m.toks {
		if t.isNum() || t.hh >= 0 || t.mo > 0 || t.ord != 0 || dayWords[t.w] || partOfDay[t.w] != nil {
			return true
		}
	}
	return false
}

// optIn is START or UNSTOP as the message.
func (m *message) optIn() bool {
	starts := 0
	for _, w := range m.contentWords() {
		switch w {
		case "start", "unstop", "resubscribe", "subscribe":
			starts++
		case "again", "me", "back", "up", "msgverb", "i", "id", "would", "like", "want", "the", "you", "can", "please", "resume", "send", "to":
		default:
			return false
		}
	}
	return starts > 0
}

// help asks what this is or how it works.
func (m *message) help() bool {
	c := m.contentWords()
	if len(c) == 0 {
		return m.question && len(m.toks) == 0 // "?" or "??" alone; not "hello?"
	}
	helpWords := 0
	for _, w := range c {
		if w == "help" || w == "info" {
			helpWords++
		}
	}
	if helpWords > 0 {
		rest := 0
		for _, w := range c {
			if w != "help" && w != "info" && !helpContext[w] {
				rest++
			}
		}
		if rest == 0 && len(c) <= 7 || len(c) <= 2 {
			return true // "help", "HELP me understand this"
		}
	}
	raw := make([]string, len(m.content))
	for k, i := range m.content {
		raw[k] = m.toks[i].raw
	}
	if helpPhrases[strings.Join(c, " ")] || helpPhrases[strings.Join(raw, " ")] {
		return true
	}
	// "how does this work??", "what am i supposed to text back", "how do i pick a time":
	// a short question about the texts themselves, not about a visit.
	joined := strings.Join(raw, " ") + " "
	for _, p := range helpPrefixes {
		if strings.HasPrefix(joined, p+" ") && len(c) <= 8 && !m.hasWhen() && !m.has(visitWords) {
			return true
		}
	}
	return false
}

// cancel asks to cancel the visit: X, or a sentence with "cancel" in it (the bare word is
// an opt-out, read before), "call it off", "don't need you anymore".
func (m *message) cancel() bool {
	c := m.contentWords()
	if len(c) > 0 {
		xs := 0
		for _, i := range m.content {
			if m.toks[i].raw == "x" {
				xs++
			}
		}
		if xs == len(c) {
			return true
		}
		if first := m.content[0]; m.toks[first].raw == "x" && first+1 < len(m.toks) && m.toks[first+1].brk {
			return true // "X - sorry, out of town"
		}
	}
	if m.has(cancelPolicy) {
		return false // "is there a cancellation fee if …": a question for a person
	}
	for i, t := range m.toks {
		switch t.w {
		case "cancel":
			if len(c) > 1 {
				return true
			}
		case "call":
			if m.at(i+1).w == "off" || m.at(i+1).w == "it" && m.at(i+2).w == "off" {
				return true
			}
		case "need":
			if p := m.at(i - 1).w; (p == "dont" || p == "longer" || p == "not" || p == "no") && m.withinClause(i+1, 3, notNeeded) {
				return true
			}
		}
	}
	return false
}

// reschedule asks to move a visit: R, "reschedule", "can we move it", "a different day",
// "I can't make it", "something came up", "… instead".
func (m *message) reschedule() bool {
	c := m.contentWords()
	if len(c) == 1 && m.toks[m.content[0]].raw == "r" {
		return true
	}
	for i, t := range m.toks {
		switch t.w {
		case "reschedule", "postpone":
			return true
		case "instead":
			if m.hasWhen() { // "can we do thursday instead"; "mike instead of …" is not a move
				return true
			}
		case "later":
			if m.at(i-1).w != "or" {
				return true
			}
		case "move":
			if m.within(i+1, 4, moveObjects) {
				return true
			}
		case "other", "new":
			if m.within(i+1, 2, timeNouns) {
				return true
			}
		case "cant", "wont":
			if m.at(i+1).w == "make" || m.at(i+1).w == "do" && m.within(i+2, 2, moveObjects) {
				return true
			}
		case "can":
			if m.at(i+1).w == "not" && m.at(i+2).w == "make" {
				return true
			}
		case "came":
			if m.at(i+1).w == "up" {
				return true
			}
		}
	}
	return false
}

// pick returns the option the message chooses (1-based), 0 for none: a number, number
// word or ordinal ("option 2", "the second one", "two", "2️⃣"), or a stated day or time
// that matches exactly one option ("12:30 works", "the 1pm one", "wednesday").
func (m *message) pick(options []time.Time, w when, hasWhen bool, loc *time.Location) int {
	if len(options) == 0 {
		return 0
	}
	choice, choices := 0, 0
	note := func(n int) {
		if n != choice {
			choice = n
			choices++
		}
	}
	for i, t := range m.toks {
		prev, next := m.at(i-1), m.at(i+1)
		switch {
		case t.ord != 0 && (t.w != "first" || next.w != "thing"):
			// "the second one", "2nd works", "take the last"; not "the price first"
			if pickAfterOrdinal[next.w] || pickBeforeOrdinal[prev.w] || next.w == "" && (len(m.content) <= 2 || prev.w == "") {
				n := t.ord
				if n < 0 {
					n = len(options)
				}
				if t.w == "ordinal" && n > len(options) {
					continue // "the 12th": a date
				}
				note(n)
			}
		case t.w == "middle" && len(options) == 3:
			note(2)
		case t.w == "asap" && t.raw != "asap":
			note(1) // "the earliest", "soonest one"
		case t.raw == "one":
			if len(m.content) == 1 || optionWords[prev.w] {
				note(1)
			}
		case t.isNum() && !m.timeBound(i) && prev.w != "not" && t.num != 0:
			note(t.num) // "1 not 2": the 2 is not a choice
		}
	}
	if choices == 1 && choice >= 1 && m.clauseUnderstood(m.choiceAt(), pickWords) {
		if choice > len(options) {
			return 0
		}
		return choice
	}
	if choices > 0 || !hasWhen {
		return 0
	}
	// A stated day or time that is one option's ("12:30 works", "wednesday"), or a part
	// of the day that holds one option, said as a choice ("the morning one", "wed
	// afternoon works").
	exact := w.exact
	if !exact && (w.at >= 0 || w.lo > 0 || w.hi < 1440 || w.days) && !w.fromNow && m.has(choosing) {
		exact = true
	}
	if !exact {
		return 0
	}
	match := 0
	for k, start := range options {
		if w.matches(start, loc) {
			if match != 0 {
				return 0
			}
			match = k + 1
		}
	}
	if match != 0 && m.clauseUnderstood(m.whenAt(), pickWords) {
		return match
	}
	return 0
}

// choiceAt is the index of the first token that can name an option, for clauseUnderstood.
func (m *message) choiceAt() int {
	for i, t := range m.toks {
		if t.isNum() || t.ord != 0 || t.w == "one" || t.w == "asap" || t.w == "middle" {
			return i
		}
	}
	return -1
}

// whenAt is the index of the first token naming a day or time.
func (m *message) whenAt() int {
	for i, t := range m.toks {
		if t.isNum() || t.hh >= 0 || dayWords[t.w] || partOfDay[t.w] != nil || t.w == "noon" {
			return i
		}
	}
	return -1
}

// timeBound says the number at i is part of a time ("at 2", "3pm", "after 5") or a
// date, not an option number.
func (m *message) timeBound(i int) bool {
	prev, next := m.at(i-1), m.at(i+1)
	return timePreps[prev.w] || dayWords[prev.w] || weekdayOf[next.w] > 0 || next.w == "am" || next.w == "pm" || next.w == "oclock" || next.w == "ish" ||
		monthNums[prev.w] > 0 || monthNums[next.w] > 0 || next.w == "minutes" || next.w == "hours" || next.w == "days" ||
		next.w == "dollars" || prev.w == "dollars"
}

// confirm is the yes family, alone or with words that only strengthen it ("yes please",
// "sounds good", "ok book it", 👍). A question ("ok?" after other words) is not a yes.
func (m *message) confirm() bool {
	strong, first := 0, -1
	seeYou := m.seq("see", "you")
	whyNot := m.seq("why", "not")
	if seeYou {
		strong++ // "see you then", "we will see you tuesday"
	}
	all := true
	for _, i := range m.content {
		w := m.toks[i].w
		switch {
		case yesWords[w] || w == "lock" && m.at(i+1).w == "it" || w == "go" && (m.at(i+1).w == "ahead" || m.at(i+1).w == "for"):
			strong++
			if first < 0 {
				first = i
			}
		case confirmWords[w], seeYou && whenWords[w], whyNot && (w == "why" || w == "not"):
		default:
			all = false
		}
	}
	if strong == 0 || m.question && len(m.content) > 1 {
		return false
	}
	// "Yes. My husband will be home to let you in.": a yes, and a note for the business.
	return all || first >= 0 && m.clauseUnderstood(first, confirmWords) && m.clauseYes(first)
}

// clauseYes says the clause of token i is only a yes and its company, nothing else.
func (m *message) clauseYes(i int) bool {
	lo, hi := i, i+1
	for lo > 0 && !m.toks[lo].brk {
		lo--
	}
	for hi < len(m.toks) && !m.toks[hi].brk {
		hi++
	}
	for _, t := range m.toks[lo:hi] {
		if !yesWords[t.w] && !confirmWords[t.w] && !filler[t.w] && t.w != "lock" && t.w != "go" {
			return false
		}
	}
	return true
}

// bareYes is YES as the whole message (repeats aside): the carrier opt-in word.
func (m *message) bareYes() bool {
	for _, i := range m.content {
		if m.toks[i].raw != "yes" {
			return false
		}
	}
	return len(m.content) > 0
}

// more declines the options or asks for others: "no", "none of those", "other times".
func (m *message) more() bool {
	found := false
	for i, t := range m.toks {
		switch t.w {
		case "no", "none", "other", "next", "later", "more", "else", "neither", "busy", "besides", "except":
			found = true
		case "not", "cant", "dont":
			if m.within(i+1, 2, declined) {
				found = true
			}
		}
	}
	return found && m.understood(moreWords)
}
