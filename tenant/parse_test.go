package tenant

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// contractExample is the tenant example of /work/shared/contract.md, verbatim, "…"
// placeholders included.
const contractExample = `id: acme-plumbing                 # [a-z0-9-]{2,63}; the tenant_id
name: Acme Plumbing
timezone: America/Chicago         # IANA; all local times below are in it
endpoints:                        # messaging endpoints: the business numbers
  - number: "+15125550100"        # E.164; unique across all tenants
    default_service: drain-cleaning
    pbx_secret: "…"               # optional: HMAC key for /webhooks/pbx/missed-call
    auto_reply: "Sorry we missed your call at {{business}}! …"   # optional template
    quiet_hours: { start: "21:00", end: "08:00" }               # optional
services:
  - id: drain-cleaning
    name: Drain cleaning
    duration: 90m
    price: { base: 120, per_hour: 60, currency: USD }            # quote rules
resources:                        # bookable: technicians, vans, rooms
  - id: tech-mike
    name: Mike
    services: [drain-cleaning]
    hours:                        # weekly template, local time
      mon: ["08:00-12:00", "13:00-17:00"]
      tue: ["08:00-17:00"]
    calendar: { connection: acme-google, calendar_id: "mike@acme.example" }   # optional
policies:
  hold_ttl: 10m                   # life of a reservation made by SMS or API
  slot_step: 30m
  min_notice: 2h
  horizon: 14d
  offer_count: 3
  auto_reply_cooldown: 24h        # at most one auto-reply per caller per endpoint in this window
  calendar_refresh: 1m            # busy times from connected calendars are at most this old when slots are offered
  calendar_stale_after: 15m       # a resource whose calendar could not be read for this long offers no slots
booking_api_key: "…"              # bearer key for /api/v1/tenants/{tenant}; stored hashed
connections:                      # vendor accounts, credentials encrypted at rest; a jobber
                                  # connection receives every appointment of the tenant, a google
                                  # one serves the resources whose ` + "`calendar`" + ` names it
  - id: acme-google
    provider: google
    credentials: { refresh_token: "…" }
  - id: acme-jobber
    provider: jobber
    credentials: { refresh_token: "…" }
`

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

// parseErrors returns the errors of a Parse or ParseAll failure.
func parseErrors(t *testing.T, err error) []FieldError {
	t.Helper()
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.NotEmpty(t, verr.Errors)
	return verr.Errors
}

func TestAcmeExample(t *testing.T) {
	t.Parallel()
	got, err := Parse(readTestdata(t, "acme.yaml"))
	require.NoError(t, err)
	got.Normalize()
	require.NoError(t, got.Validate())

	require.Equal(t, "acme-plumbing", got.ID)
	require.Equal(t, Duration(90*time.Minute), got.Services[0].Duration)
	require.Equal(t, Price{Base: 120, PerHour: 60, Currency: "USD"}, got.Services[0].Price)
	require.Equal(t, &QuietHours{Start: "21:00", End: "08:00"}, got.Endpoints[0].QuietHours)
	require.Equal(t, Duration(14*24*time.Hour), got.Policies.Horizon)

	week := got.Resources[0].Weekly()
	for day := time.Monday; day <= time.Friday; day++ {
		require.Equal(t, []ClockRange{{480, 720}, {780, 1020}}, week[day], "%s", day)
	}
	require.Equal(t, []ClockRange{{540, 780}}, week[time.Saturday])
	require.Empty(t, week[time.Sunday])
}

func TestParseYAMLAndJSONAgree(t *testing.T) {
	t.Parallel()
	fromYAML, err := Parse(readTestdata(t, "acme.yaml"))
	require.NoError(t, err)
	fromJSON, err := Parse(readTestdata(t, "acme.json"))
	require.NoError(t, err)
	require.Equal(t, fromYAML, fromJSON)
}

// The contract's example is well formed; only its "…" placeholders break rules.
func TestParseContractExample(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(contractExample))
	require.NoError(t, err)
	require.Equal(t, []string{"drain-cleaning"}, c.Resources[0].Services)
	require.Equal(t, []string{"08:00-17:00"}, c.Resources[0].Hours["tue"])
	c.Normalize()
	got := validationFields(t, c.Validate())
	require.Equal(t, []string{"endpoints[0].pbx_secret", "booking_api_key"}, got)
}

// A config survives JSON, the form in which it is stored and served.
func TestParseJSONRoundTrip(t *testing.T) {
	t.Parallel()
	want, err := Parse(readTestdata(t, "acme.yaml"))
	require.NoError(t, err)
	data, err := json.Marshal(want)
	require.NoError(t, err)
	got, err := Parse(data)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		input       string
		wantFields  []string
		wantMessage string // in the first error
	}{
		{"unknown field", "id: a\nservices:\n  - id: x\n    bogus: 1\n", []string{"services[0].bogus"}, "unknown field"},
		{"unknown top-level field", "id: a\ncolour: blue\n", []string{"colour"}, "unknown field"},
		{"field in wrong case", "Name: Acme\n", []string{"Name"}, `did you mean "name"?`},
		{"unknown fields all reported", "bogus: 1\nservices: [{x: 1}]\npolicies: {ttl: 1m}\n",
			[]string{"services[0].x", "policies.ttl", "bogus"}, "unknown field"},
		{"bad duration", "policies:\n  hold_ttl: ten minutes\n", []string{"policies.hold_ttl"}, `invalid duration "ten minutes"`},
		{"negative duration", "services: [{duration: -90m}]\n", []string{"services[0].duration"}, "must not be negative"},
		{"duration as number", "services: [{duration: 90}]\n", []string{"services[0].duration"}, "want a duration"},
		{"number for a string", "endpoints:\n  - number: +15125550100\n", []string{"endpoints[0].number"}, "want a string"},
		{"boolean for a string", "name: yes\n", []string{"name"}, "want a string"},
		{"string for a number", "services: [{price: {base: \"120\"}}]\n", []string{"services[0].price.base"}, "want a number"},
		{"fraction for a whole number", "policies: {offer_count: 2.5}\n", []string{"policies.offer_count"}, "want a whole number"},
		{"string for a list", "resources: [{hours: {mon: \"08:00-12:00\"}}]\n", []string{"resources[0].hours.mon"}, "want a list"},
		{"object for a list", "services: {id: x}\n", []string{"services"}, "want a list"},
		{"list for an object", "policies: [1]\n", []string{"policies"}, "want an object"},
		{"credential not a string", "connections: [{credentials: {refresh_token: 42}}]\n", []string{"connections[0].credentials.refresh_token"}, "want a string"},
		{"top level not an object", "- id: a\n", []string{""}, "want an object"},
		{"JSON unknown field", `{"id": "a", "services": [{"id": "x", "colour": "red"}]}`, []string{"services[0].colour"}, "unknown field"},
		{"JSON bad duration", `{"policies": {"horizon": "two weeks"}}`, []string{"policies.horizon"}, `invalid duration "two weeks"`},
		{"syntax error", "id: a\nname: [Acme\n", []string{""}, "invalid YAML or JSON: line"},
		{"JSON syntax error", `{"id": "a",, }`, []string{""}, "invalid YAML or JSON"},
		{"duplicate key", "id: a\nid: b\n", []string{""}, `key "id" already set`},
		{"empty input", "", []string{""}, "empty document"},
		{"only comments", "# nothing here\n---\n", []string{""}, "empty document"},
		{"two documents", "id: a\n---\nid: b\n", []string{""}, "more than one document"},
		{"too large", "#" + strings.Repeat(" ", MaxConfigSize), []string{""}, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tc.input))
			require.Nil(t, cfg)
			errs := parseErrors(t, err)
			var got []string
			for _, fe := range errs {
				got = append(got, fe.Field)
			}
			require.Equal(t, tc.wantFields, got)
			require.Contains(t, errs[0].Message, tc.wantMessage)
		})
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		input string
		want  *Config
	}{
		{"leading document marker", "---\nid: a\n", &Config{ID: "a"}},
		{"document end marker", "id: a\n...\n", &Config{ID: "a"}},
		{"empty duration keeps the default", "policies:\n  hold_ttl:\n", &Config{}},
		{"null fields", `{"id": "a", "services": null, "policies": null}`, &Config{ID: "a"}},
		{"CRLF line ends", "id: a\r\nname: Acme\r\n", &Config{ID: "a", Name: "Acme"}},
		{"unquoted clock times stay strings", "endpoints: [{quiet_hours: {start: 21:00, end: 08:00}}]\n",
			&Config{Endpoints: []Endpoint{{QuietHours: &QuietHours{Start: "21:00", End: "08:00"}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.want.Policies = DefaultPolicies // what a parsed config leaves out
			got, err := Parse([]byte(tc.input))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseAll(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		input   string
		wantIDs []string
	}{
		{"two documents and empty ones", "---\nid: a\n---\n# nothing\n---\n---\nid: b\n...\n", []string{"a", "b"}},
		{"single document", "id: a\n", []string{"a"}},
		{"single JSON object", `{"id": "a", "name": "A"}`, []string{"a"}},
		{"marker with content", "id: a\n--- {id: b}\n", []string{"a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfgs, err := ParseAll([]byte(tc.input))
			require.NoError(t, err)
			var got []string
			for _, c := range cfgs {
				got = append(got, c.ID)
			}
			require.Equal(t, tc.wantIDs, got)
		})
	}
}

func TestParseAllTenants(t *testing.T) {
	t.Parallel()
	yamlDoc := readTestdata(t, "acme.yaml")
	jsonDoc := readTestdata(t, "acme.json")
	input := bytes.Join([][]byte{yamlDoc, jsonDoc}, []byte("\n---\n"))
	got, err := ParseAll(input)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, got[0], got[1])
}

func TestParseAllErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		input string
		want  []FieldError
	}{
		{
			"index of the document among non-empty ones",
			"---\n# empty\n---\nid: a\n---\nid: b\ntimezone: 5\n",
			[]FieldError{{Field: "[1].timezone", Message: "want a string, got the number 5 (quote it)"}},
		},
		{
			"problems of every document",
			"bogus: 1\n---\nid: b\n---\npolicies: {hold_ttl: soon}\n",
			[]FieldError{
				{Field: "[0].bogus", Message: "unknown field"},
				{Field: "[2].policies.hold_ttl", Message: `invalid duration "soon": want a Go duration such as 90m or 2h, or days such as 14d`},
			},
		},
		{
			"syntax error with the line of the whole input",
			"id: a\n---\nid: b\nname: [Acme\n",
			[]FieldError{{Field: "[1]", Message: "invalid YAML or JSON: line 4: did not find expected ',' or ']'"}},
		},
		{
			"nothing to apply",
			"# no tenants\n---\n",
			[]FieldError{{Message: "no tenant configuration found"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfgs, err := ParseAll([]byte(tc.input))
			require.Nil(t, cfgs)
			require.Equal(t, tc.want, parseErrors(t, err))
		})
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want Duration
		text string // canonical form
	}{
		{"14d", Duration(14 * 24 * time.Hour), "14d"},
		{"336h", Duration(14 * 24 * time.Hour), "14d"},
		{"90m", Duration(90 * time.Minute), "1h30m"},
		{"1h30m", Duration(90 * time.Minute), "1h30m"},
		{"2h", Duration(2 * time.Hour), "2h"},
		{"36h", Duration(36 * time.Hour), "36h"},
		{"10m", Duration(10 * time.Minute), "10m"},
		{"1h0m30s", Duration(time.Hour + 30*time.Second), "1h30s"},
		{"0", 0, "0"},
		{" 15m ", Duration(15 * time.Minute), "15m"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			var got Duration
			require.NoError(t, json.Unmarshal([]byte(`"`+tc.in+`"`), &got))
			require.Equal(t, tc.want, got)

			out, err := json.Marshal(got)
			require.NoError(t, err)
			require.Equal(t, `"`+tc.text+`"`, string(out))

			var again Duration
			require.NoError(t, json.Unmarshal(out, &again))
			require.Equal(t, got, again)
		})
	}
}

func TestDurationThroughParse(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("policies: {horizon: 14d, hold_ttl: 90m, slot_step: 1h30m}\n"))
	require.NoError(t, err)
	out, err := json.Marshal(c.Policies)
	require.NoError(t, err)
	require.JSONEq(t, `{"hold_ttl": "1h30m", "slot_step": "1h30m", "horizon": "14d", "min_notice": "2h",
		"offer_count": 3, "auto_reply_cooldown": "1d", "calendar_refresh": "1m", "calendar_stale_after": "15m",
		"reminders": ["1d", "2h"], "unconfirmed_after": "4h"}`, string(out))

	// A config's own list never writes into the default's (it did once: the decoder
	// reused its backing array).
	c, err = Parse([]byte("policies: {reminders: [3h, 1h]}\n"))
	require.NoError(t, err)
	require.Equal(t, []Duration{Duration(3 * time.Hour), Duration(time.Hour)}, c.Policies.Reminders)
	require.Equal(t, []Duration{Duration(24 * time.Hour), Duration(2 * time.Hour)}, DefaultPolicies.Reminders)

	// An empty list is no reminders, not the default.
	c, err = Parse([]byte("policies: {reminders: []}\n"))
	require.NoError(t, err)
	require.NotNil(t, c.Policies.Reminders)
	require.Empty(t, c.Policies.Reminders)
}

func TestExplicitZeroPoliciesStayZero(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("policies: {min_notice: 0s, auto_reply_cooldown: \"0\"}\n"))
	require.NoError(t, err)
	c.Normalize()
	require.Zero(t, c.Policies.MinNotice)
	require.Zero(t, c.Policies.AutoReplyCooldown)
	require.Equal(t, DefaultPolicies.HoldTTL, c.Policies.HoldTTL, "left out: the default")
}

func TestDurationLongestRoundTrips(t *testing.T) {
	t.Parallel()
	longest := Duration(maxDays * int64(24*time.Hour))
	got, err := ParseDuration(longest.String())
	require.NoError(t, err)
	require.Equal(t, longest, got)

	_, err = ParseDuration("106752d")
	require.Error(t, err)
}

func TestDurationNullKeepsValue(t *testing.T) {
	t.Parallel()
	d := Duration(time.Minute)
	require.NoError(t, json.Unmarshal([]byte("null"), &d))
	require.Equal(t, Duration(time.Minute), d)
}

func TestParseDurationErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "ten minutes", "-5m", "1.5d", "-1d", "14D", "d", "5"} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			_, err := ParseDuration(in)
			require.Error(t, err)
		})
	}
}
