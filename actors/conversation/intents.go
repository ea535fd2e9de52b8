package conversation

import (
	"strings"
	"time"
)

// The intents of Read, each a predicate over a normalised message. The word lists below
// are canonical words (see canon): a predicate never sees a misspelling or an emoji.

// optOutWords are the carrier opt-out words; as the whole message (repeated, hyphenated,
// spelt letter by letter) each revokes consent.
var optOutWords = []string{"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "remove"}

// stopWords are the opt-out words that revoke consent as a clause of their own.
var stopWords = []string{"stop", "stopall", "unsubscribe", "quit", "revoke", "optout"}

// optOut reports a revocation of consent, on the safe side when in doubt.
func (m *message) optOut() bool {
	// The whole message is an opt-out word, maybe repeated or spelt out: "STOP STOP",
	// "opt-out", "un-subscribe", "s t o p", "cancel please".
	if m.onlyOptOut(m.content, optOutWords) {
		return true
	}
	// A clause that is a stop word alone, whatever follows it: "STOP!! this is the 4th
	// text today", "Unsubscribe. Who gave you this number". Not "cancel" or "end", which
	// begin sentences about the visit ("Cancel. Found someone else" is the cancel flow's).
	for lo := 0; lo < len(m.toks); {
		hi := lo + 1
		for hi < len(m.toks) && !m.toks[hi].brk {
			hi++
		}
		a, b := 0, 0
		for a < len(m.content) && m.content[a] < lo {
			a++
		}
		for b = a; b < len(m.content) && m.content[b] < hi; b++ {
		}
		if m.onlyOptOut(m.content[a:b], stopWords) {
			return true
		}
		lo = hi
	}
	for i, t := range m.toks {
		next := m.at(i + 1)
		if t.raw == "opt" && (next.raw == "out" || m.at(i+2).raw == "out") {
			return true // "opt out", "opt me out"
		}
		if strings.HasPrefix(t.raw, "harass") && !(m.hasWord("but") && (m.hasWhen() || m.question)) {
			return true // "this is harassment", "quit harassing me"
		}
		switch t.w {
		case "unsubscribe", "revoke", "stopall", "optout":
			// not "im not trying to unsubscribe, i need other times", nor "can I unsubscribe
			// from the email invoices and just get texts": another channel's list
			if !m.negatedBefore(i) && !m.withinClause(i+1, 5, otherChannels) {
				return true
			}
		case "spam":
			// "this is harassment", "stop spamming me"; not "your number shows up as spam
			// on my phone lol but I do need a pest guy, got anything thursday?"
			if !(m.hasWord("but") && (m.hasWhen() || m.question)) {
				return true
			}
		case "ask", "request", "want", "consent", "agree":
			// "I didn't ask for these", "never requested any texts"
			if (m.within(i-2, 2, map[string]bool{"didnt": true, "never": true}) || m.at(i-1).w == "not" && m.at(i-2).w == "did") &&
				m.withinClause(i+1, 4, unasked) && !m.hasWhen() {
				return true
			}
		case "stop", "quit":
			if m.negatedBefore(i) {
				continue // "please don't stop texting me", "not trying to stop anything"
			}
			// "stop texting me", "quit messaging", "stop sending me these", "quit blowing up
			// my phone"; not "stop sign on the corner", "it won't stop leaking".
			if m.withinClause(i+1, 5, messaging) || m.withinClause(i+1, 5, numberWord) && !stopNegated[m.at(i-1).w] && !m.doing(i+1) {
				return true
			}
			if t.w == "stop" && !m.visitStop(i) && !stopNouns[next.w] {
				return true
			}
		case "knock", "cut":
			if next.w == "it" && (m.at(i+2).raw == "off" || m.at(i+2).raw == "out") {
				return true // "knock it off", "cut it out"
			}
		case "off":
			// "take me off your list", "I'd like to be taken off your text list", "get this
			// number off", "i want off this list": off a list of messages.
			if m.withinClause(i+1, 3, lists) || m.within(i-3, 3, offVerbs) && (m.withinClause(i+1, 4, listWords) || m.within(i-2, 2, numberWord)) {
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
			// "no more texts", "I no longer wish to receive these messages"
			if messaging[next.w] || next.w == "more" && m.within(i+2, 2, messaging) || next.w == "longer" && m.negatedMessaging(i+2) {
				return true
			}
		case "remove":
			// "remove me", "remove my number", "please remove it from your texting list"
			if next.w == "me" || next.w == "from" || (next.w == "my" || next.w == "this") && m.within(i+2, 2, numberWord) || m.withinClause(i+1, 6, listWords) {
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
		case "sign", "signed":
			// "I never signed up for this", "didn't sign up for texts"
			if next.raw == "up" && m.within(i-3, 3, negations) {
				return true
			}
		case "wrong":
			// "wrong number", "you have the wrong person"; not "the address you have is the
			// wrong number, it's 1412 not 1214" (a detail corrected, digits follow).
			if (numberWord[next.w] || next.w == "person" || next.w == "phone" || len(m.content) == 1) && !m.corrects(i) {
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

// onlyOptOut says the tokens at idx are one of words, maybe repeated or spelt out
// ("STOP STOP", "opt-out", "s t o p"), or a stop word with only emphasis ("stop it",
// "STOP NOW", "stop this already").
func (m *message) onlyOptOut(idx []int, words []string) bool {
	if len(idx) == 0 {
		return false
	}
	for _, w := range words {
		if m.spells(idx, w, false) || m.spells(idx, w, true) {
			return true
		}
	}
	stops := 0
	for _, i := range idx {
		switch w := m.toks[i].w; {
		case w == "stop" || w == "quit" || w == "unsubscribe" || w == "revoke" || w == "stopall":
			stops++
		case !emphasis[w]:
			return false
		}
	}
	return stops > 0
}

// spells says the tokens at idx, joined, are word once or repeated ("stopstop", "s t o
// p", "opt-out"), read raw or canonical (a misspelt "stp" is "stop"), without building
// the joined string.
func (m *message) spells(idx []int, word string, canonical bool) bool {
	k := 0
	for _, i := range idx {
		t := m.toks[i]
		s := t.raw
		if canonical && t.w != "msgverb" && t.w != "" {
			s = t.w
		}
		for j := 0; j < len(s); j++ {
			if s[j] != word[k%len(word)] {
				return false
			}
			k++
		}
	}
	return k > 0 && k%len(word) == 0
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
		case messagingNoCall[t.w]:
			return true
		case t.w == "send":
			// "don't send me these", "please not send message"; not "dont send mike"
			next := m.at(j + 1)
			return next.w == "" || next.brk || sendObjects[next.w] || messagingNoCall[next.w]
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

// negatedBefore says a negation governs token i through words that only carry it: "I'm
// not trying to unsubscribe", "please don't stop".
func (m *message) negatedBefore(i int) bool {
	for j := i - 1; j >= 0 && j >= i-4; j-- {
		t := m.toks[j]
		switch {
		case negations[t.w] || t.w == "didnt" || t.w == "doesnt":
			return true
		case !negationCarriers[t.w] && !intending[t.w] && !filler[t.w] || m.toks[j+1].brk:
			return false
		}
	}
	return false
}

// corrects says the words after token i give digits: a detail corrected, not a stranger.
func (m *message) corrects(i int) bool {
	for _, t := range m.toks[i+1:] {
		if t.w == "num" && t.num >= 10 {
			return true
		}
	}
	return m.has(addressWords)
}

// hasWhen says the message names a day, a time or a number.
func (m *message) hasWhen() bool {
	for _, t := range m.toks {
		if t.isNum() && t.raw != "one" || t.hh >= 0 || t.mo > 0 || t.ord != 0 || dayWords[t.w] || partOfDay[t.w] != nil {
			return true
		}
	}
	return false
}

// optIn is START or UNSTOP as the message or its first clause ("Start. I want the texts
// again"), or a request to resume the texts ("please resume texting me").
func (m *message) optIn() bool {
	for i, t := range m.toks {
		switch {
		case (t.w == "resume" || t.w == "restart") && m.withinClause(i+1, 3, messagingNoCall):
			return true // "please resume texting me"
		case t.w == "msgverb" && !strings.HasSuffix(t.raw, "ed") && m.withinClause(i+1, 3, againWords) && !m.negatedBefore(i):
			return true // "ok u can text me again", "i want to get texts again"
		case t.w == "sign" && m.within(i+1, 3, backWords) && m.within(i+1, 3, upWords):
			return true // "sign me back up"
		}
	}
	if len(m.content) > 1 && m.at(m.content[0]).w == "start" && m.at(m.content[0]+1).brk {
		return true
	}
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
	// HELP as a clause of its own: "HELP. not sure what to do with this text".
	if first := m.content[0]; (m.toks[first].w == "help" || m.toks[first].w == "info") && m.at(first+1).brk {
		return true
	}
	// "is this a real person or a bot", "am I talking to a robot?"
	if m.has(botWords) && (m.question || m.has(questionWords) || m.at(m.content[0]).w == "is" || m.at(m.content[0]).w == "am") {
		return true
	}
	// Who is texting: "what company is this?", "May I ask what business this is?", "is
	// this the plumber I called?"; not "is this going to be the same guy as last time?".
	for i, t := range m.toks {
		if (t.w == "what" || t.w == "which" || t.w == "who") && m.withinClause(i+1, 2, identityNouns) && m.withinClause(i+1, 4, thisWords) ||
			t.w == "is" && m.at(i+1).w == "this" && (m.at(i+2).w == "the" || m.at(i+2).w == "a") && identityNouns[m.at(i+3).w] {
			return true
		}
	}
	// A question about what to answer or what the texts mean: "what do the numbers
	// mean?", "what happens if I reply R or X?", "im lost, what do you need me to reply".
	if m.has(questionWords) && m.has(replyWords) && !m.hasWhen() && !m.has(visitWords) {
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
		case "cancel", "scrap", "nix", "axe", "scratch":
			// "please cancel", "scrap the appointment"; not "I can't cancel my morning
			// meeting", "don't cancel", "cancel my 3pm meeting so I can be home". A "no"
			// that opens the message is an interjection: "no cancel that hold".
			if negations[m.at(i-1).w] && !(i == 1 && m.at(0).w == "no") || m.at(i-1).w == "cant" || m.at(i-1).w == "wont" || m.otherObject(i+1) {
				continue
			}
			if m.hasWord("instead") && m.hasWhen() {
				return false // "cancel tuesday but can we do thursday instead": a move
			}
			if t.w == "cancel" && len(c) > 1 || m.withinClause(i+1, 3, cancelObjects) {
				return true
			}
		case "call":
			if m.at(i+1).w == "off" || m.at(i+1).w == "it" && m.at(i+2).w == "off" {
				return true
			}
		case "dont", "no":
			// "dont come tmrw", "no need to come anymore": one day at most, no other time
			if j := i + 1; m.at(j).w == "come" || t.w == "no" && m.at(j).w == "need" && m.at(j+2).w == "come" {
				if m.onlyVisitDay() {
					return true
				}
			}
		case "need":
			if p := m.at(i - 1).w; (p == "dont" || p == "longer" || p == "not" || p == "no") && m.withinClause(i+1, 3, notNeeded) {
				return true
			}
		}
	}
	return false
}

// politeCancel is CANCEL said with a courtesy ("pls cancel 🙏", "cancel please"): only
// the word and politeness, once.
func (m *message) politeCancel() bool {
	if len(m.content) != 1 || m.toks[m.content[0]].raw != "cancel" {
		return false
	}
	polite := false
	for _, t := range m.toks {
		if t.w == "please" || t.w == "thanks" {
			polite = true
		}
	}
	return polite
}

// onlyVisitDay says the message names at most one day and no time of day or range:
// "don't come tomorrow" cancels, "don't come before 10" or "not tomorrow, friday" moves.
func (m *message) onlyVisitDay() bool {
	days := 0
	for i, t := range m.toks {
		switch {
		case dayWords[t.w]:
			days++
		case t.isNum() || t.hh >= 0 || partOfDay[t.w] != nil || timePreps[t.w] || t.w == "until" || t.w == "instead":
			return false
		case t.brk && i > 0:
			return false // a second clause: for the reschedule reading or a person
		}
	}
	return days <= 1
}

// otherObject says the words from i name something of the customer's that is not the
// visit: "cancel my morning meeting", "cancel my 2pm class".
func (m *message) otherObject(i int) bool {
	for j := i; j < len(m.toks) && j < i+4; j++ {
		t := m.toks[j]
		if j > i && t.brk {
			return false
		}
		switch {
		case ownObjects[t.w]:
			return true
		case cancelObjects[t.w] || !determiners[t.w] && !whenWords[t.w] && !t.isNum() && t.hh < 0 && partOfDay[t.w] == nil:
			return false
		}
	}
	return false
}

// doing says token i is a verb in -ing other than messaging: "quit answering the phone".
func (m *message) doing(i int) bool {
	t := m.at(i)
	return strings.HasSuffix(t.raw, "ing") && !messaging[t.w] && t.raw != "blowing"
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
		case "dont", "doesnt", "not", "no":
			// "tuesday doesn't work anymore", "that day no longer works for me"
			if m.withinClause(i+1, 2, worksWords) && (m.hasWhen() || m.has(anymoreWords)) {
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
		case t.ord != 0 && (t.w != "first" || next.w != "thing") && !(t.ord < 0 && lastTimes[next.w]):
			// "the second one", "2nd works", "take the last"; not "the price first"
			if pickAfterOrdinal[next.w] || pickBeforeOrdinal[prev.w] || next.w == "" && (len(m.content) <= 2 || prev.w == "") {
				n := t.ord
				if n < 0 {
					n = len(options)
				}
				if t.w == "ordinal" && (n > len(options) || prev.w == "on" || m.at(i-2).w == "on" || monthNums[next.w] > 0 || next.w == "of") {
					continue // "the 12th", "on the 3rd", "3rd of march": a date
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
		case t.isNum() && !m.timeBound(i) && prev.w != "not" && t.num != 0 && !m.withinClause(max(i-2, 0), 2, letGo):
			note(t.num) // "1 not 2", "cancel the 9 and do 12:30 instead": the 2 and the 9 are not choices
		}
	}
	if choices == 1 && choice >= 1 && m.clauseUnderstood(m.choiceAt(), pickWords) {
		if choice > len(options) {
			// Not an option's number: a time of one ("the 9", "the 1230 slot").
			return m.clockPick(m.choiceAt(), options, loc)
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

// clockPick reads the number at i, which is no option's number, as a time on the clock
// ("can we do the 9 instead", "id like the 1230 slot") and returns the one option at that
// time of day, morning or afternoon; 0 when none or several are.
func (m *message) clockPick(i int, options []time.Time, loc *time.Location) int {
	t := m.at(i)
	h, mi := t.num, 0
	if t.num >= 100 {
		h, mi = t.num/100, t.num%100
	}
	if t.raw[0] == '0' || h < 1 || h > 12 || mi > 59 || mi%5 != 0 {
		return 0
	}
	match := 0
	for k, o := range options {
		l := o.In(loc)
		if l.Minute() == mi && (l.Hour() == h%12 || l.Hour() == h%12+12) {
			if match != 0 {
				return 0
			}
			match = k + 1
		}
	}
	return match
}

// clausePick is pick for the first clause naming a day or time, read alone, when the
// message says more in others: "Wednesday 2pm please, my shift ends at noon that day",
// "12:30 tomorrow. Can't cancel my morning meeting".
func (m *message) clausePick(options []time.Time, loc *time.Location, now time.Time) int {
	at := m.whenAt()
	if len(options) == 0 || at < 0 {
		return 0
	}
	clause, lo, hi := m.clauseOf(at)
	if lo == 0 && hi == len(m.toks) || clause.question {
		return 0
	}
	for j := range m.toks {
		if (j < lo || j >= hi) && caveats[m.toks[j].w] {
			return 0
		}
	}
	w, ok := clause.window(loc, now)
	if !ok {
		return 0
	}
	return clause.pick(options, w, true, loc)
}

// leadingPick is an option number said first, alone, before a note or a question for the
// business: "2. Can he also remove the old ceiling fan while he's there?", "2 and have him
// call when he's on the way". Nothing after it may name another time or hedge.
func (m *message) leadingPick(options []time.Time) int {
	if len(m.content) < 2 {
		return 0
	}
	i := m.content[0]
	t, next := m.toks[i], m.at(i+1)
	if !t.isNum() || t.num < 1 || t.num > len(options) || m.timeBound(i) || !(next.brk || next.w == "and") {
		return 0
	}
	for _, u := range m.toks[i+1:] {
		if u.isNum() || u.hh >= 0 || u.ord != 0 || dayWords[u.w] || partOfDay[u.w] != nil || caveats[u.w] || u.w == "or" || refusals[u.w] {
			return 0
		}
	}
	return t.num
}

// clauseWindow says one clause asks for a day or time and the others only tell: "can
// someone come out tonight? pipe burst", "breaker keeps tripping, any chance someone can
// come end of the week".
func (m *message) clauseWindow() bool {
	at := m.whenAt()
	if at < 0 {
		return false
	}
	clause, lo, hi := m.clauseOf(at)
	if lo == 0 && hi == len(m.toks) || !clause.understood(windowWords) || !clause.has(askingFor) {
		return false
	}
	// The other clauses only tell: no other time, no question of their own ("Does the
	// tech text before showing up?"), and nothing after the request that hedges it.
	for j, t := range m.toks {
		if j >= lo && j < hi {
			continue
		}
		opens := j == 0 || t.brk
		if j >= hi && caveats[t.w] || t.isNum() || t.hh >= 0 || dayWords[t.w] || opens && (questionWords[t.w] || requests[t.w]) {
			return false
		}
	}
	return true
}

// asksAbout is a question about what was offered, not a request: "is that 12:30 tuesday
// or wednesday?", "is it the same price tomorrow?".
func (m *message) asksAbout() bool {
	return m.question && len(m.content) > 1 && m.toks[m.content[0]].w == "is" && (m.toks[m.content[1]].w == "that" || m.toks[m.content[1]].w == "it")
}

// declines says a negated day or time covers every option on offer: "I can't do tues or
// wed", "not tuesday".
func (m *message) declines(options []time.Time, w when, loc *time.Location) bool {
	at := m.whenAt()
	if at < 0 || !m.within(at-3, 3, refusals) {
		return false
	}
	for _, o := range options {
		if !w.matches(o, loc) {
			return false
		}
	}
	return true
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
	return timePreps[prev.w] || m.nearTo(i) || dayWords[prev.w] || dayWords[next.w] && !next.brk || m.approxTime(i) || m.rangeEnd(i) || m.clockDigits(i) || next.w == "am" || next.w == "pm" || next.w == "oclock" || next.w == "ish" ||
		monthNums[prev.w] > 0 || monthNums[next.w] > 0 || next.w == "minutes" || next.w == "hours" || next.w == "days" ||
		next.w == "dollars" || prev.w == "dollars"
}

// confirm is the yes family, alone or with words that only strengthen it ("yes please",
// "sounds good", "ok book it", 👍). A question ("ok?" after other words) is not a yes.
func (m *message) confirm() bool {
	strong, first := 0, -1
	seeAt := m.seqAt("see", "you")
	seeYou := seeAt >= 0
	whyNot := m.seq("why", "not")
	if seeYou {
		strong++ // "see you then", "we will see you tuesday"
		first = seeAt
	}
	// Phrases that are a yes ("sounds like a plan", "10-4", "no problem") count as one
	// and their words as a yes's company.
	var inPhrase uint64
	for _, p := range yesPhrases {
		if at := m.seqAt(p...); at >= 0 && at+len(p) <= 64 {
			strong++
			inPhrase |= (1<<len(p) - 1) << at
			if first < 0 || at < first {
				first = at
			}
		}
	}
	all := true
	for _, i := range m.content {
		w := m.toks[i].w
		switch {
		case i < 64 && inPhrase&(1<<i) != 0:
		case yesWords[w] || w == "lock" && m.at(i+1).w == "it" || w == "go" && (m.at(i+1).w == "ahead" || m.at(i+1).w == "for"):
			strong++
			if first < 0 || i < first {
				first = i
			}
		case confirmWords[w], seeYou && whenWords[w], whyNot && (w == "why" || w == "not"),
			dayWords[w] && (m.at(i-1).w == "for" || m.at(i-1).w == "on"): // "yeah we're good for tuesday"
		default:
			all = false
		}
	}
	if strong == 0 || m.question && len(m.content) > 1 {
		return false
	}
	if all || m.framedYes() {
		return true
	}
	// "Yes. My husband will be home to let you in.": a yes, and a note for the business.
	return first >= 0 && m.clauseUnderstood(first, confirmWords) && m.clauseYes(first)
}

// framedYes is a message that opens or closes with a yes and says nothing against it:
// "YES finally someone can come", "Got your text, we'll be home 👍". A question, a
// caveat, a negation, a day or time, a request or hesitation leaves it to the other
// intents or to a person.
func (m *message) framedYes() bool {
	if len(m.content) < 2 || m.question || m.hasWhen() {
		return false
	}
	first, lastAt := m.toks[m.content[0]], m.content[len(m.content)-1]
	switch {
	case framingYes[first.w]:
	case framingYes[m.toks[lastAt].w] && !m.within(lastAt-2, 2, askings):
		// "we'll be home 👍"; not "my dog will be home is that ok"
	default:
		return false
	}
	for i, t := range m.toks {
		switch {
		case caveats[t.w] || yesBlockers[t.w] && !(t.w == "stop" && m.visitStop(i)):
			return false
		case negations[t.w] && !(t.w == "no" && (m.at(i+1).w == "problem" || m.at(i+1).w == "worries")):
			return false
		case t.w == "you" && (requests[m.at(i-1).w] || requests[m.at(i+1).w]):
			return false // "ok can you come earlier"
		}
	}
	return true
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
		if !yesWords[t.w] && !confirmWords[t.w] && !filler[t.w] && t.w != "lock" && t.w != "go" && !(whenWords[t.w] && m.seq("see", "you")) {
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
		case "no", "none", "other", "next", "later", "more", "else", "neither", "busy", "besides", "except", "bad", "terrible", "awful":
			found = true
		case "not", "cant", "dont":
			if m.within(i+1, 2, declined) {
				found = true
			}
		}
	}
	if len(m.content) == 1 && m.toks[m.content[0]].raw == "n" {
		return true // "N": no
	}
	return found && m.understood(moreWords)
}
