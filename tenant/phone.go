package tenant

import "github.com/nyaruka/phonenumbers"

// PhoneProblem says what is wrong with a phone number that must be E.164 and valid, or ""
// when nothing is.
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
	return ""
}
