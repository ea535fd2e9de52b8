package tenant

import "github.com/nyaruka/phonenumbers"

// PhoneProblem says what is wrong with a phone number that must be E.164, valid and
// written in its canonical form, or "" when nothing is.
func PhoneProblem(number string) string {
	if number == "" {
		return "required"
	}
	if !isE164(number) {
		return "must be an E.164 number such as +15125550100"
	}
	n, err := phonenumbers.Parse(number, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "is not a valid phone number"
	}
	// "+43012000" (a national trunk 0 kept after the country code) is valid and the same
	// number as "+4312000", but carriers send only the latter: accepting both would let
	// one number have two spellings that never match.
	if canonical := phonenumbers.Format(n, phonenumbers.E164); canonical != number {
		return "is not in canonical E.164 form: write it as " + canonical
	}
	return ""
}

// MaskPhone is how a phone number may appear in logs and errors: the country/area prefix
// and the last four digits (+15125550100 → +1512***0100), enough to tell numbers apart,
// not to dial one. Anything shorter than ten characters is masked whole.
func MaskPhone(n string) string {
	if len(n) < 10 {
		return "***"
	}
	return n[:5] + "***" + n[len(n)-4:]
}
