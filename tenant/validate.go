package tenant

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Providers a Connection may name.
const (
	ProviderGoogle = "google"
	ProviderJobber = "jobber"
)

// Credential keys a Connection may hold.
const (
	CredentialRefreshToken = "refresh_token"
	CredentialAccessToken  = "access_token"
)

// Limits of the validation rules.
const (
	maxNameRunes     = 200
	maxTemplateRunes = 1000
	minSecretLen     = 16
	maxSendRate      = 100 // messages per second
	maxOfferCount    = 9   // offers are answered with a single digit
	maxReminders     = 5
	// maxAmount bounds a price (major units) so that Quote stays far from int64 overflow.
	maxAmount = 1_000_000_000
	oneDay    = 24 * time.Hour
)

// Normalize tidies what people write by hand: it trims spaces around ids, names, the
// time zone, phone numbers, references and currency codes, and fills policies left at
// zero from DefaultPolicies. It never reorders anything, so field paths in Validate's
// errors point at what was written. Secrets and template texts are left as they are.
// Normalize is idempotent.
func (c *Config) Normalize() {
	c.ID = strings.TrimSpace(c.ID)
	c.Name = strings.TrimSpace(c.Name)
	c.Timezone = strings.TrimSpace(c.Timezone)
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		e.Number = strings.TrimSpace(e.Number)
		e.DefaultService = strings.TrimSpace(e.DefaultService)
		if q := e.QuietHours; q != nil {
			q.Start = strings.TrimSpace(q.Start)
			q.End = strings.TrimSpace(q.End)
		}
	}
	for i := range c.Services {
		s := &c.Services[i]
		s.ID = strings.TrimSpace(s.ID)
		s.Name = strings.TrimSpace(s.Name)
		s.Price.Currency = strings.TrimSpace(s.Price.Currency)
	}
	for i := range c.Resources {
		r := &c.Resources[i]
		r.ID = strings.TrimSpace(r.ID)
		r.Name = strings.TrimSpace(r.Name)
		for j := range r.Services {
			r.Services[j] = strings.TrimSpace(r.Services[j])
		}
		if cal := r.Calendar; cal != nil {
			cal.Connection = strings.TrimSpace(cal.Connection)
			cal.CalendarID = strings.TrimSpace(cal.CalendarID)
		}
	}
	for i := range c.Connections {
		conn := &c.Connections[i]
		conn.ID = strings.TrimSpace(conn.ID)
		conn.Provider = strings.TrimSpace(conn.Provider)
	}
	c.Policies = c.Policies.withDefaults(DefaultPolicies)
}

// withDefaults fills from d the zero fields of p that cannot be zero. MinNotice and
// AutoReplyCooldown may be zero: their defaults are set when a config is parsed.
func (p Policies) withDefaults(d Policies) Policies {
	fill := func(v *Duration, def Duration) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&p.HoldTTL, d.HoldTTL)
	fill(&p.SlotStep, d.SlotStep)
	fill(&p.Horizon, d.Horizon)
	fill(&p.CalendarRefresh, d.CalendarRefresh)
	fill(&p.CalendarStaleAfter, d.CalendarStaleAfter)
	if p.OfferCount == 0 {
		p.OfferCount = d.OfferCount
	}
	fill(&p.UnconfirmedAfter, d.UnconfirmedAfter)
	if p.Reminders == nil {
		p.Reminders = d.Reminders
	}
	p.Reminders = slices.Clone(p.Reminders) // never DefaultPolicies' own array
	return p
}

// Validate checks every rule of a tenant configuration and returns nil or a
// *ValidationError listing all problems, in the order of the fields. Call it after
// Normalize: it does not trim, and zero policies are errors rather than defaults.
//
// Secrets equal to Redacted (a pbx_secret, the booking_api_key, a credential) pass, and
// so does a connection whose credentials are left out: both mean "keep the stored ones",
// which the store substitutes (and refuses when there is nothing stored). Rules that need
// the database (a number unique across tenants) belong to the store as well.
func (c *Config) Validate() error {
	var errs errorList

	checkTenantID(&errs, "id", c.ID)
	checkName(&errs, "name", c.Name)
	checkTimezone(&errs, "timezone", c.Timezone)

	// References are checked against every id present, valid or not, so that one bad id
	// is reported once rather than again at each place that names it.
	services := make(map[string]bool, len(c.Services))
	for _, s := range c.Services {
		services[s.ID] = true
	}
	providers := make(map[string]string, len(c.Connections))
	for _, conn := range c.Connections {
		if _, ok := providers[conn.ID]; !ok {
			providers[conn.ID] = conn.Provider
		}
	}

	c.checkEndpoints(&errs, services)
	c.checkServices(&errs)
	c.checkResources(&errs, services, providers)
	c.Policies.check(&errs, "policies")
	c.Templates.check(&errs, "templates")
	checkBookingAPIKey(&errs, "booking_api_key", c.BookingAPIKey)
	c.checkConnections(&errs)

	return errs.err()
}

func (c *Config) checkEndpoints(errs *errorList, services map[string]bool) {
	seen := make(map[string]int, len(c.Endpoints))
	for i, e := range c.Endpoints {
		p := indexPath("endpoints", i)

		if checkPhoneNumber(errs, joinPath(p, "number"), e.Number) {
			if first, dup := seen[e.Number]; dup {
				errs.add(joinPath(p, "number"), "duplicate of endpoints[%d]", first)
			} else {
				seen[e.Number] = i
			}
		}

		switch {
		case e.DefaultService == "":
			errs.add(joinPath(p, "default_service"), "required")
		case !services[e.DefaultService]:
			errs.add(joinPath(p, "default_service"), "unknown service %q", e.DefaultService)
		}

		if e.PBXSecret != "" && e.PBXSecret != Redacted && utf8.RuneCountInString(e.PBXSecret) < minSecretLen {
			errs.add(joinPath(p, "pbx_secret"), "must be at least %d characters", minSecretLen)
		}

		checkTemplate(errs, joinPath(p, "auto_reply"), e.AutoReply)

		if q := e.QuietHours; q != nil {
			qp := joinPath(p, "quiet_hours")
			start, startOK := checkClock(errs, joinPath(qp, "start"), q.Start)
			end, endOK := checkClock(errs, joinPath(qp, "end"), q.End)
			if startOK && endOK && start == end {
				errs.add(joinPath(qp, "end"), "must differ from start")
			}
		}

		if e.OwnerPhone != "" && checkPhoneNumber(errs, joinPath(p, "owner_phone"), e.OwnerPhone) && e.OwnerPhone == e.Number {
			errs.add(joinPath(p, "owner_phone"), "must differ from the endpoint's own number")
		}

		if !(e.SendRate >= 0 && e.SendRate <= maxSendRate) {
			errs.add(joinPath(p, "send_rate"), "must be between 0 (the default of 1) and %d messages per second", maxSendRate)
		}
	}
}

func (c *Config) checkServices(errs *errorList) {
	if len(c.Services) == 0 && (len(c.Endpoints) > 0 || len(c.Resources) > 0) {
		errs.add("services", "at least one service is required")
	}
	seen := make(map[string]int, len(c.Services))
	for i, s := range c.Services {
		p := indexPath("services", i)
		checkItemID(errs, joinPath(p, "id"), s.ID, "services", seen, i)
		checkName(errs, joinPath(p, "name"), s.Name)

		d := s.Duration.Std()
		switch {
		case d <= 0:
			errs.add(joinPath(p, "duration"), "must be positive")
		case d > oneDay:
			errs.add(joinPath(p, "duration"), "must be at most %s", Duration(oneDay))
		case d%time.Minute != 0:
			errs.add(joinPath(p, "duration"), "must be a whole number of minutes")
		}

		pp := joinPath(p, "price")
		checkAmount(errs, joinPath(pp, "base"), s.Price.Base)
		checkAmount(errs, joinPath(pp, "per_hour"), s.Price.PerHour)
		switch cur := s.Price.Currency; {
		case cur == "":
			errs.add(joinPath(pp, "currency"), "required")
		case !isCurrencyCode(cur):
			errs.add(joinPath(pp, "currency"), "must be a three-letter ISO 4217 code in capitals, such as USD")
		}
	}
}

func (c *Config) checkResources(errs *errorList, services map[string]bool, providers map[string]string) {
	seen := make(map[string]int, len(c.Resources))
	for i, r := range c.Resources {
		p := indexPath("resources", i)
		checkItemID(errs, joinPath(p, "id"), r.ID, "resources", seen, i)
		checkName(errs, joinPath(p, "name"), r.Name)

		if len(r.Services) == 0 {
			errs.add(joinPath(p, "services"), "at least one service is required")
		}
		listed := make(map[string]int, len(r.Services))
		for j, id := range r.Services {
			f := indexPath(joinPath(p, "services"), j)
			first, dup := listed[id]
			switch {
			case id == "":
				errs.add(f, "required")
			case !services[id]:
				errs.add(f, "unknown service %q", id)
			case dup:
				errs.add(f, "duplicate of %s", indexPath(joinPath(p, "services"), first))
			default:
				listed[id] = j
			}
		}

		_, hourErrs := ParseWeekly(r.Hours)
		errs.addAll(p, hourErrs)

		if cal := r.Calendar; cal != nil {
			cp := joinPath(p, "calendar")
			provider, known := providers[cal.Connection]
			switch {
			case cal.Connection == "":
				errs.add(joinPath(cp, "connection"), "required")
			case !known:
				errs.add(joinPath(cp, "connection"), "unknown connection %q", cal.Connection)
			case provider != ProviderGoogle:
				errs.add(joinPath(cp, "connection"), "connection %q is not a %s connection", cal.Connection, ProviderGoogle)
			}
			switch id := cal.CalendarID; {
			case id == "":
				errs.add(joinPath(cp, "calendar_id"), "required")
			case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
				// Stored as text and sent to the vendor in a URL: U+0000 cannot be stored.
				errs.add(joinPath(cp, "calendar_id"), "must be valid UTF-8 without control characters")
			}
		}
	}
}

func (p Policies) check(errs *errorList, path string) {
	between := func(field string, v Duration, lo, hi time.Duration) bool {
		if v.Std() < lo || v.Std() > hi {
			errs.add(joinPath(path, field), "must be between %s and %s", Duration(lo), Duration(hi))
			return false
		}
		return true
	}

	between("hold_ttl", p.HoldTTL, time.Minute, oneDay)
	if between("slot_step", p.SlotStep, 5*time.Minute, oneDay) && p.SlotStep.Std()%time.Minute != 0 {
		errs.add(joinPath(path, "slot_step"), "must be a whole number of minutes")
	}
	between("min_notice", p.MinNotice, 0, 30*oneDay)
	if between("horizon", p.Horizon, time.Hour, 365*oneDay) && p.Horizon <= p.MinNotice {
		errs.add(joinPath(path, "horizon"), "must be longer than min_notice (%s)", p.MinNotice)
	}
	if p.OfferCount < 1 || p.OfferCount > maxOfferCount {
		errs.add(joinPath(path, "offer_count"), "must be between 1 and %d", maxOfferCount)
	}
	between("auto_reply_cooldown", p.AutoReplyCooldown, 0, 30*oneDay)
	between("calendar_refresh", p.CalendarRefresh, 10*time.Second, oneDay)
	if p.CalendarStaleAfter < p.CalendarRefresh {
		errs.add(joinPath(path, "calendar_stale_after"), "must be at least calendar_refresh (%s)", p.CalendarRefresh)
	}
	if len(p.Reminders) > maxReminders {
		errs.add(joinPath(path, "reminders"), "at most %d reminders", maxReminders)
	}
	for i, r := range p.Reminders {
		field := fmt.Sprintf("reminders[%d]", i)
		if between(field, r, 15*time.Minute, 14*oneDay) && slices.Contains(p.Reminders[:i], r) {
			errs.add(joinPath(path, field), "repeats an earlier reminder (%s)", r)
		}
	}
	between("unconfirmed_after", p.UnconfirmedAfter, 0, 7*oneDay)
}

func (t Templates) check(errs *errorList, path string) {
	for _, f := range []struct{ name, text string }{
		{"offer", t.Offer},
		{"held", t.Held},
		{"booked", t.Booked},
		{"expired", t.Expired},
		{"no_slots", t.NoSlots},
		{"ack", t.Ack},
		{"help", t.Help},
		{"opt_out", t.OptOut},
		{"opt_in", t.OptIn},
		{"cancelled", t.Cancelled},
	} {
		checkTemplate(errs, joinPath(path, f.name), f.text)
	}
}

func (c *Config) checkConnections(errs *errorList) {
	seen := make(map[string]int, len(c.Connections))
	jobber := -1
	for i, conn := range c.Connections {
		p := indexPath("connections", i)
		checkItemID(errs, joinPath(p, "id"), conn.ID, "connections", seen, i)

		switch conn.Provider {
		case ProviderGoogle:
		case ProviderJobber:
			if jobber >= 0 {
				errs.add(joinPath(p, "provider"), "only one %s connection is allowed (connections[%d] is one)", ProviderJobber, jobber)
			} else {
				jobber = i
			}
		case "":
			errs.add(joinPath(p, "provider"), "required")
		default:
			errs.add(joinPath(p, "provider"), "must be %q or %q", ProviderGoogle, ProviderJobber)
		}

		cp := joinPath(p, "credentials")
		for _, k := range slices.Sorted(maps.Keys(conn.Credentials)) {
			if k != CredentialRefreshToken && k != CredentialAccessToken {
				errs.add(joinPath(cp, k), "unknown credential; want %s or %s", CredentialRefreshToken, CredentialAccessToken)
			}
		}
		// Credentials left out altogether keep the stored ones (the contract allows it
		// and the store resolves it); credentials that are sent must include the
		// refresh token, as a value or as Redacted.
		if len(conn.Credentials) > 0 && conn.Credentials[CredentialRefreshToken] == "" {
			errs.add(joinPath(cp, CredentialRefreshToken), "required")
		}
	}
}

// checkTenantID checks the tenant id: 2 to 63 of [a-z0-9-].
func checkTenantID(errs *errorList, field, id string) {
	if id == "" {
		errs.add(field, "required")
		return
	}
	if !ValidID(id) {
		errs.add(field, `must be 2 to 63 characters of a-z, 0-9 and "-"`)
	}
}

// ValidID reports whether id is a well-formed tenant id (2 to 63 of [a-z0-9-]). No stored
// tenant has any other, so the edge answers "not found" for one without asking Postgres,
// which refuses some strings (invalid UTF-8, U+0000) with an error rather than no rows.
func ValidID(id string) bool {
	ok := len(id) >= 2 && len(id) <= 63
	for i := 0; ok && i < len(id); i++ {
		ok = isLowerAlnum(id[i]) || id[i] == '-'
	}
	return ok
}

// ValidItemID reports whether id is a well-formed id of a service, resource or connection
// (1 to 63 of [a-z0-9_-], starting with a letter or digit); see ValidID.
func ValidItemID(id string) bool {
	ok := len(id) >= 1 && len(id) <= 63 && isLowerAlnum(id[0])
	for j := 1; ok && j < len(id); j++ {
		ok = isLowerAlnum(id[j]) || id[j] == '-' || id[j] == '_'
	}
	return ok
}

// checkItemID checks the id of a service, resource or connection (1 to 63 of
// [a-z0-9_-], starting with a letter or digit) and that it is unique in its list.
func checkItemID(errs *errorList, field, id, list string, seen map[string]int, i int) {
	if id == "" {
		errs.add(field, "required")
		return
	}
	if !ValidItemID(id) {
		errs.add(field, `must be 1 to 63 characters of a-z, 0-9, "_" and "-", starting with a letter or digit`)
	}
	if first, dup := seen[id]; dup {
		errs.add(field, "duplicate id %q (also %s)", id, indexPath(list, first))
		return
	}
	seen[id] = i
}

func isLowerAlnum(b byte) bool {
	return (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')
}

// checkName checks a display name: present, valid UTF-8, at most 200 characters, no
// control characters (names end up in SMS texts and admin screens).
func checkName(errs *errorList, field, name string) {
	switch {
	case name == "":
		errs.add(field, "required")
	case !utf8.ValidString(name):
		errs.add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(name) > maxNameRunes:
		errs.add(field, "must be at most %d characters", maxNameRunes)
	case strings.ContainsFunc(name, unicode.IsControl):
		errs.add(field, "must not contain control characters")
	}
}

// checkTimezone requires an IANA zone name. "Local" is refused because it means the
// server's zone, which is not the business's and changes with the host. Whether a zone
// loads depends on the host's tz database unless the program embeds time/tzdata.
func checkTimezone(errs *errorList, field, tz string) {
	switch tz {
	case "":
		errs.add(field, "required")
		return
	case "Local":
		errs.add(field, `must be an IANA time zone such as America/Chicago, not "Local"`)
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		errs.add(field, "unknown time zone %q: want an IANA name such as America/Chicago", tz)
	}
}

// checkPhoneNumber requires an E.164 number ("+" and 8 to 15 digits, no leading 0) that
// libphonenumber considers valid. It reports whether the number passed.
func checkPhoneNumber(errs *errorList, field, number string) bool {
	if msg := PhoneProblem(number); msg != "" {
		errs.add(field, "%s", msg)
		return false
	}
	return true
}

func isE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	return ok && len(digits) >= 8 && len(digits) <= 15 && digits[0] != '0' && isDigits(digits)
}

// checkClock checks a quiet-hours time "hh:mm" and returns its minutes.
func checkClock(errs *errorList, field, s string) (int, bool) {
	if s == "" {
		errs.add(field, "required")
		return 0, false
	}
	m, err := ParseClock(s)
	if err != nil {
		errs.add(field, "%v", err)
		return 0, false
	}
	return m, true
}

// checkAmount checks a price amount in major units: not negative, at most two decimals.
// The decimals are counted on the shortest text that reads back as the same float, which
// is the number as written in the config.
func checkAmount(errs *errorList, field string, v float64) {
	switch {
	case math.IsNaN(v) || v < 0:
		errs.add(field, "must not be negative")
	case v > maxAmount:
		errs.add(field, "must be at most %d", maxAmount)
	default:
		text := strconv.FormatFloat(v, 'f', -1, 64)
		if _, frac, ok := strings.Cut(text, "."); ok && len(frac) > 2 {
			errs.add(field, "must have at most 2 decimal places")
		}
	}
}

func isCurrencyCode(s string) bool {
	return len(s) == 3 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

// checkTemplate checks an SMS template: optional, at most 1000 characters, no control
// characters but tabs and line breaks, and only the placeholders {{business}},
// {{options}}, {{slot}} and {{quote}}, written exactly so.
func checkTemplate(errs *errorList, field, text string) {
	switch {
	case text == "":
	case !utf8.ValidString(text):
		errs.add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(text) > maxTemplateRunes:
		errs.add(field, "must be at most %d characters", maxTemplateRunes)
	case strings.ContainsFunc(text, isTemplateControl):
		// Templates are stored in jsonb, which refuses U+0000, and sent as SMS.
		errs.add(field, "must not contain control characters other than tabs and line breaks")
	default:
		if msg := checkPlaceholders(text); msg != "" {
			errs.add(field, "%s", msg)
		}
	}
}

func isTemplateControl(r rune) bool {
	return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
}

// checkPlaceholders returns what is wrong with the {{…}} placeholders of text, or "".
func checkPlaceholders(text string) string {
	var unknown []string
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			break
		}
		rest := text[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return `unclosed "{{"`
		}
		name := rest[:j]
		switch name {
		case "business", "options", "slot", "quote":
		default:
			if p := "{{" + name + "}}"; !slices.Contains(unknown, p) {
				unknown = append(unknown, p)
			}
		}
		text = rest[j+2:]
	}
	if len(unknown) == 0 {
		return ""
	}
	return fmt.Sprintf("unknown placeholder %s; want {{business}}, {{options}}, {{slot}} or {{quote}}",
		strings.Join(unknown, ", "))
}

// checkBookingAPIKey checks the booking API key: optional; at least 16 printable ASCII
// characters without spaces, so it travels unchanged in an Authorization header.
func checkBookingAPIKey(errs *errorList, field, key string) {
	if key == "" || key == Redacted {
		return
	}
	if len(key) < minSecretLen {
		errs.add(field, "must be at least %d characters", minSecretLen)
		return
	}
	for i := range len(key) {
		if key[i] < '!' || key[i] > '~' {
			errs.add(field, "must be printable ASCII without spaces")
			return
		}
	}
}
