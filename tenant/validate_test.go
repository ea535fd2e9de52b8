package tenant

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zone checks must not depend on the test host's tz database

	"github.com/stretchr/testify/require"
)

// validTestConfig is a tenant that passes every rule while exercising most of them: two
// endpoints, two services, a resource with a calendar and an overnight shift, a resource
// without hours, both providers, and a credential sent back redacted.
func validTestConfig() *Config {
	return &Config{
		ID:       "acme-plumbing",
		Name:     "Acme Plumbing",
		Timezone: "America/Chicago",
		Endpoints: []Endpoint{
			{
				Number:         "+15125550100",
				DefaultService: "drain-cleaning",
				PBXSecret:      "pbx-secret-0123456789",
				AutoReply:      "Sorry we missed your call at {{business}}! {{options}}",
				QuietHours:     &QuietHours{Start: "21:00", End: "08:00"},
				SendRate:       1,
			},
			{Number: "+15125550123", DefaultService: "water-heater"},
		},
		Services: []Service{
			{
				ID:       "drain-cleaning",
				Name:     "Drain cleaning",
				Duration: Duration(90 * time.Minute),
				Price:    Price{Base: 120, PerHour: 60, Currency: "USD"},
			},
			{
				ID:       "water-heater",
				Name:     "Water heater install",
				Duration: Duration(3 * time.Hour),
				Price:    Price{Base: 499.99, Currency: "USD"},
			},
		},
		Resources: []Resource{
			{
				ID:       "tech-mike",
				Name:     "Mike",
				Services: []string{"drain-cleaning", "water-heater"},
				Hours: map[string][]string{
					"mon": {"08:00-12:00", "13:00-17:00"},
					"fri": {"08:00-12:00", "22:00-02:00"},
					"sat": {"09:00-13:00"},
				},
				Calendar: &CalendarRef{Connection: "acme-google", CalendarID: "mike@acme.example"},
			},
			{ID: "van-1", Name: "Van 1", Services: []string{"drain-cleaning"}},
		},
		Policies: DefaultPolicies,
		Templates: Templates{
			Offer: "{{business}}: {{options}} Reply STOP to opt out",
			Held:  "Holding {{slot}} ({{quote}}). Reply YES to confirm.",
		},
		BookingAPIKey: "bk_test_0123456789abcdef",
		Connections: []Connection{
			{ID: "acme-google", Provider: "google", Credentials: map[string]string{"refresh_token": "google-refresh", "access_token": "ya29.token"}},
			{ID: "acme-jobber", Provider: "jobber", Credentials: map[string]string{"refresh_token": Redacted}},
		},
	}
}

// extraService is a valid service to append when a case needs a third one.
func extraService(id string) Service {
	return Service{ID: id, Name: "Extra", Duration: Duration(time.Hour), Price: Price{Base: 10, Currency: "USD"}}
}

// validationFields returns the field paths of a Validate result, nil when it passed.
func validationFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.NotEmpty(t, verr.Errors)
	var fields []string
	for _, fe := range verr.Errors {
		require.NotEmpty(t, fe.Message, "field %s", fe.Field)
		fields = append(fields, fe.Field)
	}
	return fields
}

func TestValidateBaseConfigIsValid(t *testing.T) {
	t.Parallel()
	c := validTestConfig()
	require.NoError(t, c.Validate())
	c.Normalize()
	require.NoError(t, c.Validate())
}

func TestValidateRules(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name   string
		mutate func(c *Config)
		want   []string // exact field paths, in order; nil means valid
	}
	cases := []testCase{
		// id
		{"id required", func(c *Config) { c.ID = "" }, []string{"id"}},
		{"id too short", func(c *Config) { c.ID = "a" }, []string{"id"}},
		{"id too long", func(c *Config) { c.ID = strings.Repeat("a", 64) }, []string{"id"}},
		{"id 63 characters", func(c *Config) { c.ID = strings.Repeat("a", 63) }, nil},
		{"id capitals", func(c *Config) { c.ID = "Acme" }, []string{"id"}},
		{"id underscore", func(c *Config) { c.ID = "acme_plumbing" }, []string{"id"}},

		// name
		{"name required", func(c *Config) { c.Name = "" }, []string{"name"}},
		{"name 200 runes", func(c *Config) { c.Name = strings.Repeat("é", 200) }, nil},
		{"name too long", func(c *Config) { c.Name = strings.Repeat("é", 201) }, []string{"name"}},
		{"name invalid UTF-8", func(c *Config) { c.Name = "Acme \xff" }, []string{"name"}},
		{"name control character", func(c *Config) { c.Name = "Acme\nPlumbing" }, []string{"name"}},

		// timezone
		{"timezone required", func(c *Config) { c.Timezone = "" }, []string{"timezone"}},
		{"timezone Local", func(c *Config) { c.Timezone = "Local" }, []string{"timezone"}},
		{"timezone unknown", func(c *Config) { c.Timezone = "Mars/Olympus_Mons" }, []string{"timezone"}},
		{"timezone UTC", func(c *Config) { c.Timezone = "UTC" }, nil},

		// endpoints[].number
		{"number required", func(c *Config) { c.Endpoints[0].Number = "" }, []string{"endpoints[0].number"}},
		{"number without plus", func(c *Config) { c.Endpoints[0].Number = "15125550100" }, []string{"endpoints[0].number"}},
		{"number with spaces", func(c *Config) { c.Endpoints[0].Number = "+1 512 555 0100" }, []string{"endpoints[0].number"}},
		{"number leading zero", func(c *Config) { c.Endpoints[0].Number = "+05125550100" }, []string{"endpoints[0].number"}},
		{"number too short", func(c *Config) { c.Endpoints[0].Number = "+1512555" }, []string{"endpoints[0].number"}},
		{"number too long", func(c *Config) { c.Endpoints[0].Number = "+1512555010012345" }, []string{"endpoints[0].number"}},
		{"number invalid for libphonenumber", func(c *Config) { c.Endpoints[1].Number = "+15555550100" }, []string{"endpoints[1].number"}},
		{"number other country", func(c *Config) { c.Endpoints[1].Number = "+447911123456" }, nil},
		{"number duplicate", func(c *Config) { c.Endpoints[1].Number = "+15125550100" }, []string{"endpoints[1].number"}},

		// endpoints[].default_service
		{"default_service required", func(c *Config) { c.Endpoints[0].DefaultService = "" }, []string{"endpoints[0].default_service"}},
		{"default_service unknown", func(c *Config) { c.Endpoints[1].DefaultService = "roofing" }, []string{"endpoints[1].default_service"}},

		// endpoints[].pbx_secret
		{"pbx_secret too short", func(c *Config) { c.Endpoints[0].PBXSecret = "short" }, []string{"endpoints[0].pbx_secret"}},
		{"pbx_secret redacted", func(c *Config) { c.Endpoints[0].PBXSecret = Redacted }, nil},
		{"pbx_secret absent", func(c *Config) { c.Endpoints[0].PBXSecret = "" }, nil},

		// endpoints[].auto_reply
		{"auto_reply too long", func(c *Config) { c.Endpoints[0].AutoReply = strings.Repeat("x", 1001) }, []string{"endpoints[0].auto_reply"}},
		{"auto_reply 1000 runes", func(c *Config) { c.Endpoints[0].AutoReply = strings.Repeat("é", 1000) }, nil},
		{"auto_reply unknown placeholder", func(c *Config) { c.Endpoints[0].AutoReply = "Hi {{name}}" }, []string{"endpoints[0].auto_reply"}},
		{"auto_reply unclosed placeholder", func(c *Config) { c.Endpoints[0].AutoReply = "Hi {{business" }, []string{"endpoints[0].auto_reply"}},
		{"auto_reply spaced placeholder", func(c *Config) { c.Endpoints[0].AutoReply = "Hi {{ business }}" }, []string{"endpoints[0].auto_reply"}},

		// endpoints[].quiet_hours
		{"quiet_hours start required", func(c *Config) { c.Endpoints[0].QuietHours.Start = "" }, []string{"endpoints[0].quiet_hours.start"}},
		{"quiet_hours end required", func(c *Config) { c.Endpoints[0].QuietHours.End = "" }, []string{"endpoints[0].quiet_hours.end"}},
		{"quiet_hours start malformed", func(c *Config) { c.Endpoints[0].QuietHours.Start = "9pm" }, []string{"endpoints[0].quiet_hours.start"}},
		{"quiet_hours end out of range", func(c *Config) { c.Endpoints[0].QuietHours.End = "24:00" }, []string{"endpoints[0].quiet_hours.end"}},
		{"quiet_hours equal", func(c *Config) { c.Endpoints[0].QuietHours.End = "21:00" }, []string{"endpoints[0].quiet_hours.end"}},
		{"quiet_hours same day", func(c *Config) { c.Endpoints[0].QuietHours = &QuietHours{Start: "12:00", End: "13:30"} }, nil},

		// endpoints[].owner_phone
		{"owner_phone not E.164", func(c *Config) { c.Endpoints[0].OwnerPhone = "512-555-0111" }, []string{"endpoints[0].owner_phone"}},
		{"owner_phone is the endpoint", func(c *Config) { c.Endpoints[0].OwnerPhone = c.Endpoints[0].Number }, []string{"endpoints[0].owner_phone"}},
		{"owner_phone valid", func(c *Config) { c.Endpoints[0].OwnerPhone = "+15125550111" }, nil},
		// endpoints[].send_rate
		{"send_rate negative", func(c *Config) { c.Endpoints[0].SendRate = -1 }, []string{"endpoints[0].send_rate"}},
		{"send_rate too high", func(c *Config) { c.Endpoints[0].SendRate = 100.5 }, []string{"endpoints[0].send_rate"}},
		{"send_rate maximum", func(c *Config) { c.Endpoints[0].SendRate = 100 }, nil},
		{"send_rate fraction", func(c *Config) { c.Endpoints[0].SendRate = 0.5 }, nil},

		// services
		{"services required with endpoints and resources", func(c *Config) { c.Services = nil }, []string{
			"endpoints[0].default_service", "endpoints[1].default_service", "services",
			"resources[0].services[0]", "resources[0].services[1]", "resources[1].services[0]",
		}},
		{"services optional without endpoints or resources", func(c *Config) {
			c.Services, c.Endpoints, c.Resources = nil, nil, nil
		}, nil},
		{"service id required", func(c *Config) { c.Services = append(c.Services, extraService("")) }, []string{"services[2].id"}},
		{"service id pattern", func(c *Config) { c.Services = append(c.Services, extraService("Gas Leak")) }, []string{"services[2].id"}},
		{"service id leading dash", func(c *Config) { c.Services = append(c.Services, extraService("-gas")) }, []string{"services[2].id"}},
		{"service id too long", func(c *Config) { c.Services = append(c.Services, extraService(strings.Repeat("g", 64))) }, []string{"services[2].id"}},
		{"service id underscore", func(c *Config) { c.Services = append(c.Services, extraService("gas_leak")) }, nil},
		{"service id duplicate", func(c *Config) { c.Services = append(c.Services, extraService("water-heater")) }, []string{"services[2].id"}},
		{"service name required", func(c *Config) { c.Services[0].Name = "" }, []string{"services[0].name"}},
		{"service duration zero", func(c *Config) { c.Services[0].Duration = 0 }, []string{"services[0].duration"}},
		{"service duration over a day", func(c *Config) { c.Services[0].Duration = Duration(24*time.Hour + time.Minute) }, []string{"services[0].duration"}},
		{"service duration a day", func(c *Config) { c.Services[0].Duration = Duration(24 * time.Hour) }, nil},
		{"service duration seconds", func(c *Config) { c.Services[0].Duration = Duration(90*time.Minute + 30*time.Second) }, []string{"services[0].duration"}},
		{"price base negative", func(c *Config) { c.Services[0].Price.Base = -1 }, []string{"services[0].price.base"}},
		{"price base three decimals", func(c *Config) { c.Services[0].Price.Base = 10.005 }, []string{"services[0].price.base"}},
		{"price base huge", func(c *Config) { c.Services[0].Price.Base = 2e9 }, []string{"services[0].price.base"}},
		{"price base zero", func(c *Config) { c.Services[0].Price.Base = 0 }, nil},
		{"price per_hour negative", func(c *Config) { c.Services[0].Price.PerHour = -60 }, []string{"services[0].price.per_hour"}},
		{"price per_hour three decimals", func(c *Config) { c.Services[0].Price.PerHour = 12.345 }, []string{"services[0].price.per_hour"}},
		{"price per_hour two decimals", func(c *Config) { c.Services[0].Price.PerHour = 12.34 }, nil},
		{"price currency required", func(c *Config) { c.Services[1].Price.Currency = "" }, []string{"services[1].price.currency"}},
		{"price currency lower case", func(c *Config) { c.Services[1].Price.Currency = "usd" }, []string{"services[1].price.currency"}},
		{"price currency length", func(c *Config) { c.Services[1].Price.Currency = "US" }, []string{"services[1].price.currency"}},

		// resources
		{"resource id pattern", func(c *Config) { c.Resources[1].ID = "Van 1" }, []string{"resources[1].id"}},
		{"resource id duplicate", func(c *Config) { c.Resources[1].ID = "tech-mike" }, []string{"resources[1].id"}},
		{"resource name required", func(c *Config) { c.Resources[1].Name = "" }, []string{"resources[1].name"}},
		{"resource services required", func(c *Config) { c.Resources[1].Services = nil }, []string{"resources[1].services"}},
		{"resource service unknown", func(c *Config) { c.Resources[1].Services = []string{"roofing"} }, []string{"resources[1].services[0]"}},
		{"resource service empty", func(c *Config) { c.Resources[1].Services = []string{""} }, []string{"resources[1].services[0]"}},
		{"resource service duplicate", func(c *Config) {
			c.Resources[0].Services = []string{"water-heater", "drain-cleaning", "water-heater"}
		}, []string{"resources[0].services[2]"}},
		{"resource without hours", func(c *Config) { c.Resources[0].Hours = nil }, nil},
		{"hours unknown day", func(c *Config) { c.Resources[0].Hours["monday"] = []string{"08:00-12:00"} }, []string{"resources[0].hours.monday"}},
		{"hours malformed range", func(c *Config) { c.Resources[0].Hours["mon"][1] = "1pm-5pm" }, []string{"resources[0].hours.mon[1]"}},
		{"hours empty range", func(c *Config) { c.Resources[0].Hours["mon"][1] = "13:00-13:00" }, []string{"resources[0].hours.mon[1]"}},
		{"hours end of day", func(c *Config) { c.Resources[0].Hours["mon"][1] = "13:00-24:00" }, nil},
		{"hours overlap same day", func(c *Config) { c.Resources[0].Hours["mon"][1] = "11:00-17:00" }, []string{"resources[0].hours.mon[1]"}},
		{"hours overlap previous day's wrap", func(c *Config) { c.Resources[0].Hours["sat"] = []string{"01:00-05:00"} }, []string{"resources[0].hours.sat[0]"}},
		{"hours overlap sunday's wrap into monday", func(c *Config) {
			c.Resources[0].Hours["sun"] = []string{"20:00-09:00"}
		}, []string{"resources[0].hours.mon[0]"}},
		{"calendar connection required", func(c *Config) { c.Resources[0].Calendar.Connection = "" }, []string{"resources[0].calendar.connection"}},
		{"calendar connection unknown", func(c *Config) { c.Resources[0].Calendar.Connection = "outlook" }, []string{"resources[0].calendar.connection"}},
		{"calendar connection not google", func(c *Config) { c.Resources[0].Calendar.Connection = "acme-jobber" }, []string{"resources[0].calendar.connection"}},
		{"calendar calendar_id required", func(c *Config) { c.Resources[0].Calendar.CalendarID = "" }, []string{"resources[0].calendar.calendar_id"}},

		// policies
		{"hold_ttl too short", func(c *Config) { c.Policies.HoldTTL = Duration(30 * time.Second) }, []string{"policies.hold_ttl"}},
		{"hold_ttl too long", func(c *Config) { c.Policies.HoldTTL = Duration(25 * time.Hour) }, []string{"policies.hold_ttl"}},
		{"slot_step too short", func(c *Config) { c.Policies.SlotStep = Duration(2 * time.Minute) }, []string{"policies.slot_step"}},
		{"slot_step too long", func(c *Config) { c.Policies.SlotStep = Duration(25 * time.Hour) }, []string{"policies.slot_step"}},
		{"slot_step seconds", func(c *Config) { c.Policies.SlotStep = Duration(7*time.Minute + 30*time.Second) }, []string{"policies.slot_step"}},
		{"min_notice too long", func(c *Config) {
			c.Policies.MinNotice = Duration(31 * 24 * time.Hour)
			c.Policies.Horizon = Duration(60 * 24 * time.Hour)
		}, []string{"policies.min_notice"}},
		{"min_notice zero", func(c *Config) { c.Policies.MinNotice = 0 }, nil},
		{"horizon too short", func(c *Config) { c.Policies.Horizon = Duration(30 * time.Minute); c.Policies.MinNotice = 0 }, []string{"policies.horizon"}},
		{"horizon too long", func(c *Config) { c.Policies.Horizon = Duration(366 * 24 * time.Hour) }, []string{"policies.horizon"}},
		{"horizon not beyond min_notice", func(c *Config) {
			c.Policies.MinNotice = Duration(48 * time.Hour)
			c.Policies.Horizon = Duration(48 * time.Hour)
		}, []string{"policies.horizon"}},
		{"offer_count zero", func(c *Config) { c.Policies.OfferCount = 0 }, []string{"policies.offer_count"}},
		{"offer_count ten", func(c *Config) { c.Policies.OfferCount = 10 }, []string{"policies.offer_count"}},
		{"offer_count nine", func(c *Config) { c.Policies.OfferCount = 9 }, nil},
		{"auto_reply_cooldown too long", func(c *Config) { c.Policies.AutoReplyCooldown = Duration(31 * 24 * time.Hour) }, []string{"policies.auto_reply_cooldown"}},
		{"calendar_refresh too short", func(c *Config) { c.Policies.CalendarRefresh = Duration(5 * time.Second) }, []string{"policies.calendar_refresh"}},
		{"calendar_refresh too long", func(c *Config) {
			c.Policies.CalendarRefresh = Duration(25 * time.Hour)
			c.Policies.CalendarStaleAfter = Duration(48 * time.Hour)
		}, []string{"policies.calendar_refresh"}},
		{"calendar_stale_after below refresh", func(c *Config) { c.Policies.CalendarStaleAfter = Duration(30 * time.Second) }, []string{"policies.calendar_stale_after"}},
		{"a reminder too close to the visit", func(c *Config) { c.Policies.Reminders = []Duration{Duration(5 * time.Minute)} }, []string{"policies.reminders[0]"}},
		{"a reminder too far ahead", func(c *Config) {
			c.Policies.Reminders = []Duration{Duration(2 * time.Hour), Duration(15 * 24 * time.Hour)}
		}, []string{"policies.reminders[1]"}},
		{"a reminder repeated", func(c *Config) {
			c.Policies.Reminders = []Duration{Duration(24 * time.Hour), Duration(2 * time.Hour), Duration(24 * time.Hour)}
		}, []string{"policies.reminders[2]"}},
		{"six reminders", func(c *Config) {
			c.Policies.Reminders = []Duration{Duration(time.Hour), Duration(2 * time.Hour), Duration(3 * time.Hour), Duration(4 * time.Hour), Duration(5 * time.Hour), Duration(6 * time.Hour)}
		}, []string{"policies.reminders"}},
		{"no reminders", func(c *Config) { c.Policies.Reminders = []Duration{} }, nil},
		{"unconfirmed_after too long", func(c *Config) { c.Policies.UnconfirmedAfter = Duration(8 * 24 * time.Hour) }, []string{"policies.unconfirmed_after"}},

		// booking_api_key
		{"booking_api_key too short", func(c *Config) { c.BookingAPIKey = "short-key" }, []string{"booking_api_key"}},
		{"booking_api_key with space", func(c *Config) { c.BookingAPIKey = "bk_test 0123456789abcdef" }, []string{"booking_api_key"}},
		{"booking_api_key not ASCII", func(c *Config) { c.BookingAPIKey = "bk_test_0123456789abcdéf" }, []string{"booking_api_key"}},
		{"booking_api_key redacted", func(c *Config) { c.BookingAPIKey = Redacted }, nil},
		{"booking_api_key absent", func(c *Config) { c.BookingAPIKey = "" }, nil},

		// connections
		{"connection id pattern", func(c *Config) {
			c.Connections[1].ID = "Acme Jobber"
		}, []string{"connections[1].id"}},
		{"connection id duplicate", func(c *Config) { c.Connections[1].ID = "acme-google" }, []string{"connections[1].id"}},
		{"connection provider required", func(c *Config) { c.Connections[1].Provider = "" }, []string{"connections[1].provider"}},
		{"connection provider unknown", func(c *Config) { c.Connections[1].Provider = "outlook" }, []string{"connections[1].provider"}},
		{"connection second jobber", func(c *Config) {
			c.Connections = append(c.Connections, Connection{ID: "acme-jobber-2", Provider: "jobber", Credentials: map[string]string{"refresh_token": "x"}})
		}, []string{"connections[2].provider"}},
		{"connection second google", func(c *Config) {
			c.Connections = append(c.Connections, Connection{ID: "acme-google-2", Provider: "google", Credentials: map[string]string{"refresh_token": "x"}})
		}, nil},
		{"credential unknown key", func(c *Config) { c.Connections[0].Credentials["password"] = "hunter2" }, []string{"connections[0].credentials.password"}},
		{"credential refresh_token required", func(c *Config) {
			c.Connections[0].Credentials = map[string]string{"access_token": "ya29.token"}
		}, []string{"connections[0].credentials.refresh_token"}},
		{"credential refresh_token empty", func(c *Config) { c.Connections[0].Credentials["refresh_token"] = "" }, []string{"connections[0].credentials.refresh_token"}},
		{"credentials left out keep the stored ones", func(c *Config) { c.Connections[1].Credentials = nil }, nil},

		// several independent problems are all reported, in field order
		{"all problems at once", func(c *Config) {
			c.BookingAPIKey = "short"
			c.Policies.OfferCount = 12
			c.Services[0].Price.Currency = "usd"
			c.Timezone = "Local"
			c.ID = ""
			c.Connections[0].Provider = "outlook"
		}, []string{"id", "timezone", "services[0].price.currency", "resources[0].calendar.connection",
			"policies.offer_count", "booking_api_key", "connections[0].provider"}},
	}
	for _, field := range []string{"offer", "held", "booked", "expired", "no_slots", "ack", "help", "opt_out", "opt_in", "cancelled"} {
		set := func(c *Config, text string) { setTemplate(&c.Templates, field, text) }
		cases = append(cases,
			testCase{"template " + field + " placeholders", func(c *Config) {
				set(c, "{{business}} {{options}} {{slot}} {{quote}}")
			}, nil},
			testCase{"template " + field + " unknown placeholder", func(c *Config) {
				set(c, "Hello {{customer}}")
			}, []string{"templates." + field}},
			testCase{"template " + field + " too long", func(c *Config) {
				set(c, strings.Repeat("x", 1001))
			}, []string{"templates." + field}},
		)
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := validTestConfig()
			tc.mutate(c)
			got := validationFields(t, c.Validate())
			require.Equal(t, tc.want, got)
		})
	}
}

// setTemplate sets the template whose JSON name is field.
func setTemplate(tmpl *Templates, field, text string) {
	switch field {
	case "offer":
		tmpl.Offer = text
	case "held":
		tmpl.Held = text
	case "booked":
		tmpl.Booked = text
	case "expired":
		tmpl.Expired = text
	case "no_slots":
		tmpl.NoSlots = text
	case "ack":
		tmpl.Ack = text
	case "help":
		tmpl.Help = text
	case "opt_out":
		tmpl.OptOut = text
	case "opt_in":
		tmpl.OptIn = text
	case "cancelled":
		tmpl.Cancelled = text
	default:
		panic("unknown template " + field)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	t.Parallel()
	c := validTestConfig()
	c.ID = ""
	c.Policies.HoldTTL = Duration(30 * time.Second)
	err := c.Validate()
	require.EqualError(t, err, "id: required; policies.hold_ttl: must be between 1m and 1d")
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	c := validTestConfig()
	c.ID = "  acme-plumbing\t"
	c.Name = " Acme Plumbing "
	c.Timezone = " America/Chicago"
	c.Endpoints[0].Number = " +15125550100 "
	c.Endpoints[0].DefaultService = "drain-cleaning "
	c.Endpoints[0].QuietHours.Start = " 21:00"
	c.Services[0].ID = " drain-cleaning"
	c.Services[0].Price.Currency = "USD "
	c.Resources[0].Services[0] = " drain-cleaning "
	c.Resources[0].Calendar.Connection = " acme-google "
	c.Connections[0].ID = "acme-google "
	c.Connections[0].Provider = " google"
	c.BookingAPIKey = " untouched-secret-value "
	c.Policies = Policies{MinNotice: Duration(time.Hour), OfferCount: 5}

	c.Normalize()

	want := validTestConfig()
	want.BookingAPIKey = " untouched-secret-value "
	want.Policies = DefaultPolicies
	want.Policies.MinNotice = Duration(time.Hour)
	want.Policies.OfferCount = 5
	want.Policies.AutoReplyCooldown = 0 // may be zero: only parsing supplies its default
	require.Equal(t, want, c)

	c.Normalize()
	require.Equal(t, want, c, "Normalize must be idempotent")
}
