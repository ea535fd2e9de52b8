package conversation

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word of a normalised message.
type token struct {
	raw string // lower case, apostrophes dropped ("don't" → "dont"), full-width folded
	w   string // canonical word: a misspelling, synonym or emoji read as the word it means
	num int    // the value of a number ("2", "two", "12"), -1 when not a number
	// hh:mm of a clock time such as "12:30" (hh -1 when not one); mo/dd of a date "3/10".
	hh, mm int
	mo, dd int
	ord    int  // 1 for "first"/"1st", 2 for "2nd"…, -1 for "last", 0 when not an ordinal
	brk    bool // a clause ends before it: ",", ".", "!", ";", "?" or a new line
}

func (t token) isNum() bool { return t.num >= 0 }

// message is a normalised SMS: its tokens and the content among them (filler dropped).
type message struct {
	toks     []token
	content  []int // indexes into toks of the tokens that are not filler
	question bool  // the text had a question mark
}

// maxReadLen bounds the text Read looks at: an SMS of ten segments. Whatever follows is
// ignored, so reading stays a few microseconds on hostile input.
const maxReadLen = 1600

// normalise reads body into tokens: it folds case and full-width forms, reads emoji that
// mean words (👍 yes, 👎 no, 🛑 stop), drops skin tones, variation selectors and keycap
// marks (2️⃣ is 2), splits digits from the letters after them ("3pm", "2nd"), keeps clock
// times and dates whole ("12:30", "3/10"), and gives every word its canonical form.
func normalise(body string) message {
	if len(body) > maxReadLen {
		body = body[:maxReadLen]
	}
	m := message{toks: make([]token, 0, min(48, len(body)/3+2))}
	var cur []byte
	curDigits, brk := false, false
	emit := func(raw string) {
		m.toks = append(m.toks, token{raw: raw, brk: brk})
		brk = false
	}
	flush := func() {
		if len(cur) > 0 {
			emit(string(cur))
			cur = cur[:0]
		}
		curDigits = false
	}
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRuneInString(body[i:])
		i += size
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			r -= 0xFEE0
		}
		switch {
		case r == utf8.RuneError && size == 1:
			flush()
		case r >= 0xFE00 && r <= 0xFE0F, r == 0x200D, r == 0x20E3, r >= 0x1F3FB && r <= 0x1F3FF:
			// variation selectors, zero-width joiner, keycap, skin tones: marks only
		case r == 0x1F44D, r == 0x1F44C, r == 0x2705, r == 0x2714, r == 0x2611, r == 0x1F197, r == 0x1F4AF:
			flush()
			emit("yes")
		case r == 0x1F44E, r == 0x274C, r == 0x2716, r == 0x1F6AB:
			flush()
			emit("no")
		case r == 0x1F6D1:
			flush()
			emit("stop")
		case r == 0x1F64F:
			flush()
			emit("please")
		case r == '\'' || r == '’' || r == '‘' || r == 'ʼ' || r == '`' || r == '´':
			if curDigits {
				flush()
			} // inside a word it joins: "don't" → "dont"
		case r >= '0' && r <= '9':
			if len(cur) > 0 && !curDigits && !isLetterWord(cur) {
				flush()
			}
			if len(cur) == 0 {
				curDigits = true
			}
			cur = append(cur, byte(r))
		case (r == ':' || r == '.' || r == '/') && curDigits && i < len(body) && body[i] >= '0' && body[i] <= '9' && len(cur) <= 2:
			if r == '.' {
				r = ':'
			}
			cur = append(cur, byte(r))
		case unicode.IsLetter(r):
			if curDigits {
				flush()
			}
			cur = utf8.AppendRune(cur, unicode.ToLower(r))
		case r == '?':
			flush()
			m.question, brk = true, true
		case r == ',' || r == '.' || r == '!' || r == ';' || r == '\n' || r == ':' || (r == '-' || r == '–' || r == '—') && i-size > 0 && body[i-size-1] == ' ':
			flush()
			brk = len(m.toks) > 0
		case r == '@':
			flush()
			emit("at")
		case r == '&' || r == '+':
			flush()
			emit("and")
		case r == '#':
			flush()
			emit("number")
		case r == '$':
			flush()
			emit("dollars") // "$150" is a price, not 1:50
		default: // spaces, punctuation, other symbols and emoji
			flush()
		}
	}
	flush()
	m.canonicalise()
	return m
}

// isLetterWord says cur holds letters (a word that digits may continue: "b4", "gr8").
func isLetterWord(cur []byte) bool {
	return len(cur) > 0 && !(cur[0] >= '0' && cur[0] <= '9')
}

// canonicalise gives each token its canonical word and value, merges the tokens that
// belong together ("2"+"nd", "9"+"a"+"m", "2"+"morrow", "re"+"schedule") and marks the
// content tokens.
func (m *message) canonicalise() {
	toks := m.toks[:0]
	for _, t := range m.toks {
		brk := t.brk
		t = canonicalToken(t.raw)
		t.brk = brk
		if n := len(toks); n > 0 {
			prev := &toks[n-1]
			switch {
			case prev.isNum() && prev.hh < 0 && (t.raw == "st" || t.raw == "nd" || t.raw == "rd" || t.raw == "th"):
				prev.ord, prev.w = prev.num, "ordinal"
				continue
			case prev.isNum() && (t.raw == "a" || t.raw == "p"):
				t.w = t.raw + "m"
			case t.raw == "am" && !prev.isNum() && prev.hh < 0:
				t.w = "be" // "i am free": the verb, not the morning
			case (prev.w == "am" || prev.w == "pm") && t.raw == "m" && (prev.raw == "a" || prev.raw == "p"):
				continue
			case numberWords[prev.w] >= 1 && numberWords[prev.w] <= 12 && (t.raw == "thirty" || t.raw == "fifteen" || t.raw == "fortyfive"):
				mins := map[string]int{"thirty": 30, "fifteen": 15, "fortyfive": 45}[t.raw]
				*prev = token{raw: prev.raw + " " + t.raw, w: "clock", num: -1, hh: prev.num, mm: mins, brk: prev.brk}
				continue // "twelve thirty"
			case t.isNum() && t.num >= 1 && t.num <= 12 && prev.w == "after" && n > 1 && (toks[n-2].raw == "half" || toks[n-2].raw == "quarter"):
				mins := 30
				if toks[n-2].raw == "quarter" {
					mins = 15
				}
				toks[n-2] = token{raw: toks[n-2].raw + " past " + t.raw, w: "clock", num: -1, hh: t.num, mm: mins, brk: toks[n-2].brk}
				toks = toks[:n-1]
				continue // "half past twelve"
			case prev.raw == "2" && (t.raw == "morrow" || t.raw == "moro" || t.raw == "morow"):
				*prev = token{raw: "tomorrow", w: "tomorrow", num: -1, hh: -1}
				continue
			case prev.raw == "2" && t.raw == "nite":
				*prev = token{raw: "tonight", w: "tonight", num: -1, hh: -1}
				continue
			case prev.raw == "re" && (t.w == "schedule" || t.w == "book"):
				*prev = token{raw: "reschedule", w: "reschedule", num: -1, hh: -1}
				continue
			case prev.w == "after" && (t.w == "noon" || t.w == "lunch"):
				*prev = token{raw: "afternoon", w: "afternoon", num: -1, hh: -1}
				continue
			case prev.raw == "o" && t.raw == "clock":
				*prev = token{raw: "oclock", w: "oclock", num: -1, hh: -1, brk: prev.brk}
				continue // "2 o clock"
			case prev.raw == "any" && (t.raw == "time" || t.raw == "day"):
				*prev = token{raw: "anytime", w: "anytime", num: -1, hh: -1}
				continue
			}
		}
		toks = append(toks, t)
	}
	m.toks = toks
	m.content = m.content[:0]
	for i, t := range m.toks {
		if !filler[t.w] {
			m.content = append(m.content, i)
		}
	}
}

// canonicalToken reads one raw word.
func canonicalToken(raw string) token {
	t := token{raw: raw, w: raw, num: -1, hh: -1}
	if raw == "" {
		return t
	}
	if raw[0] >= '0' && raw[0] <= '9' {
		if i := strings.IndexByte(raw, ':'); i > 0 {
			h, okH := atoi(raw[:i])
			mi, okM := atoi(raw[i+1:])
			if okH && okM && h <= 23 && mi <= 59 && len(raw)-i-1 == 2 {
				t.hh, t.mm, t.w = h, mi, "clock"
			}
			return t
		}
		if i := strings.IndexByte(raw, '/'); i > 0 {
			mo, okM := atoi(raw[:i])
			d, okD := atoi(raw[i+1:])
			if okM && okD && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 {
				t.mo, t.dd, t.w = mo, d, "date"
			}
			return t
		}
		if n, ok := atoi(raw); ok && len(raw) <= 4 {
			t.num, t.w = n, "num"
		}
		return t
	}
	w, ok := canon[raw]
	if !ok {
		if c := collapse(raw, 1); c != raw {
			w, ok = canon[c]
			if !ok && known[c] {
				w, ok = c, true
			}
		}
		if !ok {
			if c := collapse(raw, 2); c != raw {
				w, ok = canon[c]
				if !ok && known[c] {
					w, ok = c, true
				}
			}
		}
	}
	if !ok && len(raw) > 5 && strings.HasSuffix(raw, "ish") {
		// "noonish", "morningish": the time it rounds
		if c, found := canon[raw[:len(raw)-3]]; found && whenWords[c] {
			w, ok = c, true
		}
	}
	if ok {
		t.w = w
	}
	if n, isNum := numberWords[t.w]; isNum {
		t.num = n
	}
	if o, isOrd := ordinals[t.w]; isOrd {
		t.ord = o
	}
	return t
}

// collapse shortens runs of one letter to at most max ("yesss" → "yes", "stoppp" → "stop").
func collapse(s string, max int) string {
	var b []byte
	run := 0
	for i := 0; i < len(s); i++ {
		if i > 0 && s[i] == s[i-1] {
			run++
		} else {
			run = 1
		}
		if run <= max {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// --- the queries the intents are built from ---------------------------------------------

// at returns token i, or the zero token (w "") past either end.
func (m *message) at(i int) token {
	if i < 0 || i >= len(m.toks) {
		return token{num: -1, hh: -1}
	}
	return m.toks[i]
}

// within reports whether one of the n tokens from i has a canonical word in set.
func (m *message) within(i, n int, set map[string]bool) bool {
	if i < 0 {
		n, i = n+i, 0
	}
	for j := i; j < i+n && j < len(m.toks); j++ {
		if set[m.toks[j].w] {
			return true
		}
	}
	return false
}

// withinClause is within, stopping at the end of the clause of token i.
func (m *message) withinClause(i, n int, set map[string]bool) bool {
	for j := i; j < i+n && j < len(m.toks); j++ {
		if m.toks[j].brk {
			return false
		}
		if set[m.toks[j].w] {
			return true
		}
	}
	return false
}

// has reports whether any token has a canonical word in set.
func (m *message) has(set map[string]bool) bool { return m.within(0, len(m.toks), set) }

// hasWord reports whether any token's canonical word is w.
func (m *message) hasWord(w string) bool {
	for _, t := range m.toks {
		if t.w == w {
			return true
		}
	}
	return false
}

// seq reports whether the canonical words ws occur in a row.
func (m *message) seq(ws ...string) bool { return m.seqAt(ws...) >= 0 }

// seqAt is the index where the canonical (or raw) words ws first occur in a row, or -1.
func (m *message) seqAt(ws ...string) int {
	for i := 0; i+len(ws) <= len(m.toks); i++ {
		ok := true
		for j, w := range ws {
			if m.toks[i+j].w != w && m.toks[i+j].raw != w {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// contentWords is the canonical content, for matching whole messages.
func (m *message) contentWords() []string {
	out := make([]string, len(m.content))
	for k, i := range m.content {
		out[k] = m.toks[i].w
	}
	return out
}

// understood reports whether the content is made of words in set (and of numbers, times
// and dates, which the intent reading it has placed), allowing one word in three to be
// one the engine does not know: "mornings are better since i work nights" is a window,
// "my basement is flooding tomorrow" is not.
func (m *message) understood(set map[string]bool) bool {
	known, unknown := m.known(set)
	return known > 0 && unknown*3 <= known
}

// mostlyUnderstood is understood for a message with a clear choice in it ("2 works, my
// husband will be home"): up to about one word in two may be unknown.
func (m *message) mostlyUnderstood(set map[string]bool) bool {
	known, unknown := m.known(set)
	return known > 0 && unknown*2 <= known+1
}

// clauseUnderstood is mostlyUnderstood for the message, or for the clause holding token i
// alone when the other
// clauses are statements (no question in the message): "3 please. Our sink won't stop
// gurgling" picks 3 and keeps the rest for the business.
func (m *message) clauseUnderstood(i int, set map[string]bool) bool {
	if m.mostlyUnderstood(set) {
		return true
	}
	if m.question || i < 0 || i >= len(m.toks) {
		return false
	}
	clause, lo, hi := m.clauseOf(i)
	if lo == 0 && hi == len(m.toks) {
		return false
	}
	for j := range m.toks {
		if (j < lo || j >= hi) && caveats[m.toks[j].w] && !(m.toks[j].w == "instead" && m.at(j+1).w == "of") {
			return false // "yes. but can mike come instead": for a person; not "call instead of texting"
		}
	}
	return clause.mostlyUnderstood(set)
}

// clauseOf is the clause holding token i, [lo, hi) of the message's tokens, as a message.
func (m *message) clauseOf(i int) (clause message, lo, hi int) {
	lo, hi = i, i+1
	for lo > 0 && !m.toks[lo].brk {
		lo--
	}
	for hi < len(m.toks) && !m.toks[hi].brk {
		hi++
	}
	clause = message{toks: m.toks[lo:hi], question: m.question}
	for j, t := range clause.toks {
		if !filler[t.w] {
			clause.content = append(clause.content, j)
		}
	}
	return clause, lo, hi
}

// known counts the content words in set (numbers, times and dates included) and the others.
func (m *message) known(set map[string]bool) (known, unknown int) {
	for _, i := range m.content {
		t := m.toks[i]
		if set[t.w] || t.isNum() || t.hh >= 0 || t.mo > 0 || t.ord != 0 {
			known++
		} else {
			unknown++
		}
	}
	return known, unknown
}
