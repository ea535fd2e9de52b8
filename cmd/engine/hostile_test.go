package main

// Hostile input, end to end: a whole engine on a real Postgres driven through its public
// HTTP surface with what an attacker, a broken client or a confused vendor sends.
// Every refusal is checked three ways: the status, the problem document (with the field at
// fault where there is one), and that Postgres is exactly as it was (every row of every
// table of the engine's schemas, digested), so a handler that answers 4xx after writing
// half of something fails here.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	"ringback/clock"
	"ringback/comms/twilio"
	"ringback/fakes/jobberfake"
	"ringback/fakes/twiliofake"
	"ringback/persistence/pgtest"
)

const (
	hostilePBXSecret = "pbx-secret-0123456789"
	// secretless is a second business number of the tenant, without a pbx_secret.
	secretless = "+15125550102"
)

// hostileTenant is the plumber with a PBX secret on its number and a second number
// without one.
var hostileTenant = strings.Replace(plumber, "    send_rate: 50\n", "    send_rate: 50\n    pbx_secret: \""+hostilePBXSecret+"\"\n"+
	"  - number: \""+secretless+"\"\n    default_service: drain\n", 1)

// newHostileEngine is newSMSEngine (a fake Twilio behind the real client, signatures
// checked against the engine's own URL) that also verifies Jobber webhooks, with the
// hostile tenant applied.
func newHostileEngine(t *testing.T) *smsEngine {
	t.Helper()
	fake := twiliofake.New(twilioSID, twilioToken)
	t.Cleanup(fake.Close)
	pool := pgtest.Pool(t)
	var handler atomic.Pointer[http.Handler]
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }))
	cfg := Config{AdminToken: adminToken, PublicURL: srv.URL, TwilioAccountSID: twilioSID, TwilioAuthToken: twilioToken,
		TwilioAPIURL: fake.URL(), JobberClientSecret: jobberClientSecret}
	clk := clock.NewFake(monday0600)
	eng, err := assemble(cfg, pool, testBox(t), quietLog(), clk)
	require.NoError(t, err)
	t.Cleanup(eng.stop)
	handler.Store(&eng.handler)
	e := &smsEngine{testEngine: &testEngine{t: t, eng: eng, srv: srv, pool: pool, clock: clk}, twilio: fake}
	e.apply(hostileTenant)
	return e
}

// dbState digests every table of the two domain schemas: its row count and an md5 of its
// rows. Two equal states mean nothing was inserted, updated or deleted anywhere. (The
// analytics schema is left out: a batching writer fills it after the fact, from the
// domain's own events.)
func (e *testEngine) dbState() map[string]string {
	e.t.Helper()
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `SELECT schemaname, tablename FROM pg_catalog.pg_tables
		WHERE schemaname IN ('fulfillment', 'conversation') ORDER BY 1, 2`)
	require.NoError(e.t, err)
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var s [2]string
		return s, r.Scan(&s[0], &s[1])
	})
	require.NoError(e.t, err)
	require.NotEmpty(e.t, tables)
	state := make(map[string]string, len(tables))
	for _, tb := range tables {
		var digest string
		require.NoError(e.t, e.pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')
			FROM %s t`, pgx.Identifier{tb[0], tb[1]}.Sanitize())).Scan(&digest))
		state[tb[0]+"."+tb[1]] = digest
	}
	return state
}

// requireUnchanged fails when Postgres differs from before, naming the tables that changed.
func (e *testEngine) requireUnchanged(before map[string]string, what string) {
	e.t.Helper()
	after := e.dbState()
	var changed []string
	for table, digest := range after {
		if before[table] != digest {
			changed = append(changed, table)
		}
	}
	slices.Sort(changed)
	require.Empty(e.t, changed, "%s changed Postgres", what)
	require.Equal(e.t, len(before), len(after), "%s: tables appeared or disappeared", what)
}

type problemDoc struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// requireProblem checks that r is an RFC 9457 problem with status and, when field is not
// empty, that it names field among the offending ones.
func requireProblem(t *testing.T, r response, status int, field, what string) problemDoc {
	t.Helper()
	require.Equal(t, status, r.status, "%s: %s", what, r.body)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"), "%s", what)
	var p problemDoc
	require.NoError(t, json.Unmarshal(r.body, &p), "%s: %s", what, r.body)
	require.Equal(t, status, p.Status, "%s", what)
	require.True(t, strings.HasPrefix(p.Type, "https://ringback.dev/problems/"), "%s: type %q", what, p.Type)
	if field != "" {
		var fields []string
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
		}
		require.Contains(t, fields, field, "%s: %s", what, r.body)
	}
	return p
}

// send is do with a body reader left as it is: a reader of unknown length goes chunked,
// without Content-Length, so size limits cannot rely on the header.
func (e *testEngine) send(method, path string, body io.Reader, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	require.NoError(e.t, err)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: out}
}

// unsized hides a reader's length from net/http.
type unsized struct{ io.Reader }

func pbxSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func pbxBody(callID, from, to string) []byte {
	b, err := json.Marshal(map[string]string{"call_id": callID, "from": from, "to": to, "ended_at": "2030-01-07T12:00:00Z"})
	if err != nil {
		panic(err)
	}
	return b
}

func holdBody(start time.Time, phone, name string) map[string]any {
	return map[string]any{"service": "drain", "starts_at": start.Format(time.RFC3339), "customer": map[string]string{"phone": phone, "name": name}}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// signedForm is a Twilio webhook body with its signature for path on e.
func (e *smsEngine) signedForm(path string, form url.Values) (string, string) {
	return form.Encode(), "X-Twilio-Signature: " + twilio.Sign(twilioToken, e.srv.URL+path, form)
}

func TestHostileBodiesOverTheLimitAre413AndStoreNothing(t *testing.T) {
	t.Parallel()
	e := newHostileEngine(t)

	// Just under the limit is still served: the limit is the advertised one, not lower.
	// The same config padded with a comment changes nothing.
	padded := hostileTenant + "#" + strings.Repeat("x", (1<<20)-len(hostileTenant)-2) + "\n"
	before := e.dbState()
	r := e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, padded, "Content-Type: application/yaml")
	require.Equal(t, http.StatusOK, r.status, "%.300s", r.body)
	require.Equal(t, false, r.json(t)["changed"])
	e.requireUnchanged(before, "re-applying the padded config")

	smsForm := url.Values{"MessageSid": {"SM00000000000000000000000000000001"}, "From": {customer}, "To": {business},
		"Body": {strings.Repeat("x", 64<<10)}}
	smsBody, smsSig := e.signedForm("/webhooks/twilio/sms", smsForm)
	voiceForm := url.Values{"CallSid": {"CA00000000000000000000000000000001"}, "From": {customer}, "To": {business},
		"CallStatus": {"no-answer"}, "Pad": {strings.Repeat("x", 64<<10)}}
	voiceBody, voiceSig := e.signedForm("/webhooks/twilio/voice", voiceForm)
	pbx := []byte(`{"call_id":"big","from":"` + customer + `","to":"` + business + `","pad":"` + strings.Repeat("x", 64<<10) + `"}`)
	jobberBody := []byte(`{"data":{"webHookEvent":{"topic":"VISIT_UPDATE","appId":"a","accountId":"b","itemId":"c","occurredAt":"2030-01-07T09:00:00Z"}},"pad":"` +
		strings.Repeat("x", 64<<10) + `"}`)
	bigHold := mustJSON(holdBody(at("09:00"), customer, strings.Repeat("n", 1<<20)))

	cases := []struct {
		name, method, path string
		body               []byte
		headers            []string
	}{
		{"tenant config", http.MethodPut, "/admin/v1/tenants/acme", []byte(padded + "#" + strings.Repeat("y", 1024)),
			[]string{"Authorization: Bearer " + adminToken, "Content-Type: application/yaml"}},
		{"reservation", http.MethodPost, "/api/v1/tenants/acme/reservations", bigHold,
			[]string{"Authorization: Bearer " + bookingKey, "Content-Type: application/json"}},
		{"reschedule", http.MethodPost, "/api/v1/tenants/acme/appointments/" + uuid.NewString() + "/reschedule",
			[]byte(`{"starts_at":"2030-01-07T09:00:00Z","pad":"` + strings.Repeat("x", 1<<20) + `"}`),
			[]string{"Authorization: Bearer " + bookingKey, "Content-Type: application/json"}},
		{"twilio sms", http.MethodPost, "/webhooks/twilio/sms", []byte(smsBody), []string{"Content-Type: application/x-www-form-urlencoded", smsSig}},
		{"twilio voice", http.MethodPost, "/webhooks/twilio/voice", []byte(voiceBody), []string{"Content-Type: application/x-www-form-urlencoded", voiceSig}},
		{"pbx", http.MethodPost, "/webhooks/pbx/missed-call", pbx, []string{"Content-Type: application/json", "X-Signature: " + pbxSignature(hostilePBXSecret, pbx)}},
		{"jobber", http.MethodPost, "/webhooks/jobber", jobberBody, []string{"Content-Type: application/json",
			"X-Jobber-Hmac-SHA256: " + jobberfake.SignWebhook(jobberClientSecret, jobberBody)}},
	}
	before = e.dbState()
	for _, c := range cases {
		for _, chunked := range []bool{false, true} {
			what := fmt.Sprintf("%s (chunked %v, %d bytes)", c.name, chunked, len(c.body))
			var body io.Reader = strings.NewReader(string(c.body))
			if chunked {
				body = unsized{body}
			}
			r := e.send(c.method, c.path, body, c.headers...)
			requireProblem(t, r, http.StatusRequestEntityTooLarge, "", what)
			e.requireUnchanged(before, what)
		}
	}
}

func TestHostileContentTypesAre415(t *testing.T) {
	t.Parallel()
	e := newHostileEngine(t)
	holdJSON := string(mustJSON(holdBody(at("09:00"), customer, "Ann")))
	voice := url.Values{"CallSid": {"CA00000000000000000000000000000002"}, "From": {customer}, "To": {business}, "CallStatus": {"busy"}}
	voiceBody, voiceSig := e.signedForm("/webhooks/twilio/voice", voice)
	sms := url.Values{"MessageSid": {"SM00000000000000000000000000000002"}, "From": {customer}, "To": {business}, "Body": {"1"}}
	smsBody, smsSig := e.signedForm("/webhooks/twilio/sms", sms)
	status := url.Values{"MessageSid": {"SM00000000000000000000000000000002"}, "From": {business}, "MessageStatus": {"delivered"}}
	statusBody, statusSig := e.signedForm("/webhooks/twilio/sms-status", status)
	pbx := pbxBody("ct-1", customer, business)
	jobberBody := []byte(`{"data":{"webHookEvent":{"topic":"VISIT_UPDATE","appId":"a","accountId":"b","itemId":"c","occurredAt":"2030-01-07T09:00:00Z"}}}`)
	admin, booking := "Authorization: Bearer "+adminToken, "Authorization: Bearer "+bookingKey

	cases := []struct {
		name, method, path, body string
		types                    []string
		headers                  []string
	}{
		{"tenant config", http.MethodPut, "/admin/v1/tenants/acme", hostileTenant,
			[]string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "text/html"}, []string{admin}},
		{"reservation", http.MethodPost, "/api/v1/tenants/acme/reservations", holdJSON,
			[]string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/yaml"}, []string{booking}},
		{"reschedule", http.MethodPost, "/api/v1/tenants/acme/appointments/" + uuid.NewString() + "/reschedule", `{"starts_at":"2030-01-07T14:00:00Z"}`,
			[]string{"text/plain", "application/x-www-form-urlencoded"}, []string{booking}},
		{"twilio voice", http.MethodPost, "/webhooks/twilio/voice", voiceBody,
			[]string{"application/json", "text/plain", "multipart/form-data; boundary=x", ""}, []string{voiceSig}},
		{"twilio sms", http.MethodPost, "/webhooks/twilio/sms", smsBody, []string{"application/json", "text/xml"}, []string{smsSig}},
		{"twilio sms-status", http.MethodPost, "/webhooks/twilio/sms-status", statusBody, []string{"application/json"}, []string{statusSig}},
		{"pbx", http.MethodPost, "/webhooks/pbx/missed-call", string(pbx),
			[]string{"application/x-www-form-urlencoded", "text/plain", "application/jsonp", ""}, []string{"X-Signature: " + pbxSignature(hostilePBXSecret, pbx)}},
		{"jobber", http.MethodPost, "/webhooks/jobber", string(jobberBody), []string{"text/plain", "application/x-www-form-urlencoded"},
			[]string{"X-Jobber-Hmac-SHA256: " + jobberfake.SignWebhook(jobberClientSecret, jobberBody)}},
	}
	before := e.dbState()
	for _, c := range cases {
		for _, ct := range c.types {
			what := c.name + " as " + ct
			r := e.send(c.method, c.path, strings.NewReader(c.body), append(slices.Clone(c.headers), "Content-Type: "+ct)...)
			requireProblem(t, r, http.StatusUnsupportedMediaType, "", what)
			e.requireUnchanged(before, what)
		}
	}

	// The same bodies with the right types (parameters included, as Twilio sends them)
	// are taken: the refusals above were about the type alone.
	r := e.send(http.MethodPost, "/api/v1/tenants/acme/reservations", strings.NewReader(holdJSON), booking, "Content-Type: application/json; charset=utf-8")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = e.send(http.MethodPost, "/webhooks/twilio/voice", strings.NewReader(voiceBody), voiceSig, "Content-Type: application/x-www-form-urlencoded; charset=UTF-8")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = e.send(http.MethodPost, "/webhooks/pbx/missed-call", strings.NewReader(string(pbx)), "X-Signature: "+pbxSignature(hostilePBXSecret, pbx), "Content-Type: application/json; charset=utf-8")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

func TestHostileInvalidUTF8AndNULAreRefusedNever500(t *testing.T) {
	t.Parallel()
	e := newHostileEngine(t)
	withCal := strings.Replace(hostileTenant, "    name: Mike\n", "    name: Mike\n    calendar: { connection: g, calendar_id: \"mike\\0@acme.example\" }\n", 1) +
		"connections:\n  - { id: g, provider: google, credentials: { refresh_token: rt } }\n"
	type tcase struct {
		name, method, path string
		body               string
		headers            []string
		status             int
		field              string
	}
	admin, booking := "Authorization: Bearer "+adminToken, "Authorization: Bearer "+bookingKey
	yaml := "Content-Type: application/yaml"
	hold := func(name string) string {
		return `{"service":"drain","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"+15125550199","name":"` + name + `"}}`
	}
	cases := []tcase{
		// Booking API.
		{"hold: raw invalid UTF-8", http.MethodPost, "/api/v1/tenants/acme/reservations", hold("Ann\xff"), []string{booking}, 400, ""},
		{"hold: NUL in the name", http.MethodPost, "/api/v1/tenants/acme/reservations", hold(`Ann\u0000`), []string{booking}, 422, "customer.name"},
		{"hold: terminal escape in the name", http.MethodPost, "/api/v1/tenants/acme/reservations", hold(`\u001b[2J`), []string{booking}, 422, "customer.name"},
		{"hold: NUL in the phone", http.MethodPost, "/api/v1/tenants/acme/reservations",
			`{"service":"drain","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"+15125550199\u0000"}}`, []string{booking}, 422, "customer.phone"},
		{"hold: NUL in the service", http.MethodPost, "/api/v1/tenants/acme/reservations",
			`{"service":"drain\u0000","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"+15125550199"}}`, []string{booking}, 422, "service"},
		{"hold: not an object", http.MethodPost, "/api/v1/tenants/acme/reservations", `["drain"]`, []string{booking}, 400, ""},
		{"reschedule: raw invalid UTF-8", http.MethodPost, "/api/v1/tenants/acme/appointments/" + uuid.NewString() + "/reschedule",
			"{\"starts_at\":\"2030-01-07T14:00:00Z\xfe\"}", []string{booking}, 400, ""},
		{"availability: NUL service", http.MethodGet, "/api/v1/tenants/acme/availability?service=%00&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z", "", []string{booking}, 422, "service"},
		{"availability: invalid UTF-8 resource", http.MethodGet, "/api/v1/tenants/acme/availability?service=drain&resource=%FF&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z", "", []string{booking}, 422, "resource_id"},
		{"availability: invalid UTF-8 tenant", http.MethodGet, "/api/v1/tenants/%FF/availability", "", []string{booking}, 401, ""},
		{"reservation: NUL tenant", http.MethodPost, "/api/v1/tenants/ac%00me/reservations", hold("Ann"), []string{booking}, 401, ""},
		// Admin API.
		{"config: raw invalid UTF-8 YAML", http.MethodPut, "/admin/v1/tenants/acme", strings.Replace(hostileTenant, "Acme Plumbing", "Acme \xff", 1), []string{admin, yaml}, 422, ""},
		{"config: raw invalid UTF-8 JSON", http.MethodPut, "/admin/v1/tenants/acme", "{\"id\":\"acme\",\"name\":\"\xff\"}", []string{admin}, 422, ""},
		{"config: NUL in the name", http.MethodPut, "/admin/v1/tenants/acme", strings.Replace(hostileTenant, "name: Acme Plumbing", `name: "Acme\0"`, 1), []string{admin, yaml}, 422, "name"},
		{"config: NUL in a template", http.MethodPut, "/admin/v1/tenants/acme", hostileTenant + "templates: { ack: \"thanks\\0\" }\n", []string{admin, yaml}, 422, "templates.ack"},
		{"config: NUL in the auto-reply", http.MethodPut, "/admin/v1/tenants/acme",
			strings.Replace(hostileTenant, "    send_rate: 50\n", "    send_rate: 50\n    auto_reply: \"hi \\0 {{options}}\"\n", 1), []string{admin, yaml}, 422, "endpoints[0].auto_reply"},
		{"config: NUL in a calendar id", http.MethodPut, "/admin/v1/tenants/acme", withCal, []string{admin, yaml}, 422, "resources[0].calendar.calendar_id"},
		{"config: NUL in the path", http.MethodPut, "/admin/v1/tenants/ac%00me", hostileTenant, []string{admin, yaml}, 422, "id"},
		{"get: invalid UTF-8 tenant", http.MethodGet, "/admin/v1/tenants/%FF", "", []string{admin}, 404, ""},
		{"appointments: NUL tenant", http.MethodGet, "/admin/v1/tenants/a%00/appointments", "", []string{admin}, 404, ""},
		{"conversations: invalid UTF-8 phone", http.MethodGet, "/admin/v1/tenants/acme/conversations?phone=%FF", "", []string{admin}, 422, "phone"},
		{"conversations: NUL phone", http.MethodGet, "/admin/v1/tenants/acme/conversations?phone=%2B1%00", "", []string{admin}, 422, "phone"},
		{"endpoint: NUL number", http.MethodGet, "/admin/v1/endpoints/%2B1512555%000100", "", []string{admin}, 404, ""},
		{"connections: invalid UTF-8 tenant", http.MethodGet, "/admin/v1/tenants/%FF/connections", "", []string{admin}, 404, ""},
		{"resume: invalid UTF-8 connection", http.MethodPost, "/admin/v1/tenants/acme/connections/%FF/resume", "", []string{admin}, 404, ""},
		{"resume: NUL connection", http.MethodPost, "/admin/v1/tenants/acme/connections/g%00/resume", "", []string{admin}, 404, ""},
		{"read-calendars: NUL tenant", http.MethodPost, "/admin/v1/tenants/a%00/connections/g/read-calendars", "", []string{admin}, 404, ""},
	}
	// Vendor webhooks, correctly signed: what they carry is stored, so what Postgres
	// cannot hold is refused (400) rather than failing the store (a 503 the vendor
	// would retry forever, failing the other webhooks of its group commit each time).
	twilioCases := []struct {
		name, path string
		form       url.Values
	}{
		{"sms: NUL in the body", "/webhooks/twilio/sms", url.Values{"MessageSid": {"SM1"}, "From": {customer}, "To": {business}, "Body": {"a\x00b"}}},
		{"sms: invalid UTF-8 body", "/webhooks/twilio/sms", url.Values{"MessageSid": {"SM2"}, "From": {customer}, "To": {business}, "Body": {"a\xffb"}}},
		{"sms: NUL in the sid", "/webhooks/twilio/sms", url.Values{"MessageSid": {"SM\x00"}, "From": {customer}, "To": {business}, "Body": {"hi"}}},
		{"sms: invalid UTF-8 from", "/webhooks/twilio/sms", url.Values{"MessageSid": {"SM3"}, "From": {"+1\xff"}, "To": {business}, "Body": {"hi"}}},
		{"sms: invalid UTF-8 to", "/webhooks/twilio/sms", url.Values{"MessageSid": {"SM4"}, "From": {customer}, "To": {business + "\xff"}, "Body": {"hi"}}},
		{"voice: invalid UTF-8 call sid", "/webhooks/twilio/voice", url.Values{"CallSid": {"CA\xff"}, "From": {customer}, "To": {business}, "CallStatus": {"busy"}}},
		{"voice: NUL in the status", "/webhooks/twilio/voice", url.Values{"CallSid": {"CA5"}, "From": {customer}, "To": {business}, "CallStatus": {"busy\x00"}}},
		{"status: invalid UTF-8 status", "/webhooks/twilio/sms-status", url.Values{"MessageSid": {"SM6"}, "From": {business}, "MessageStatus": {"deliv\xffered"}}},
		{"status: error code beyond a Postgres int", "/webhooks/twilio/sms-status", url.Values{"MessageSid": {"SM7"}, "From": {business}, "MessageStatus": {"failed"}, "ErrorCode": {"3000000000"}}},
	}
	for _, c := range twilioCases {
		body, sig := e.signedForm(c.path, c.form)
		cases = append(cases, tcase{c.name, http.MethodPost, c.path, body, []string{"Content-Type: application/x-www-form-urlencoded", sig}, 400, ""})
	}
	pbx := []byte(`{"call_id":"c\u0000","from":"` + customer + `","to":"` + business + `","ended_at":"2030-01-07T12:00:00Z"}`)
	cases = append(cases, tcase{"pbx: NUL in the call id", http.MethodPost, "/webhooks/pbx/missed-call", string(pbx),
		[]string{"Content-Type: application/json", "X-Signature: " + pbxSignature(hostilePBXSecret, pbx)}, 400, ""})

	before := e.dbState()
	for _, c := range cases {
		r := e.send(c.method, c.path, strings.NewReader(c.body), c.headers...)
		requireProblem(t, r, c.status, c.field, c.name)
		e.requireUnchanged(before, c.name)
	}
	require.Equal(t, float64(len(twilioCases)), testutil.ToFloat64(e.eng.metrics.Webhooks.WithLabelValues("twilio", "inbound-sms", "bad_request"))+
		testutil.ToFloat64(e.eng.metrics.Webhooks.WithLabelValues("twilio", "missed-call", "bad_request"))+
		testutil.ToFloat64(e.eng.metrics.Webhooks.WithLabelValues("twilio", "sms-status", "bad_request")), "each refusal is counted as bad_request")
}

// sqlish are strings that would do damage if any of them reached SQL as text.
var sqlish = []string{
	`'; DROP TABLE fulfillment.claims; --`,
	`Robert'); DROP TABLE conversation.messages;--`,
	`" OR "1"="1`,
	`1; SELECT pg_sleep(30); --`,
	`$1 $$ E'\\x27' ::text; TRUNCATE fulfillment.tenants CASCADE`,
	`\'; DELETE FROM conversation.webhook_envelopes; --`,
}

func TestHostileSQLLookingStringsAreStoredVerbatimOrRefused(t *testing.T) {
	t.Parallel()
	e := newHostileEngine(t)
	ctx := context.Background()
	tablesBefore := e.dbState()

	// A tenant whose every free text is SQL: stored and served back verbatim.
	cfg := strings.NewReplacer(
		"name: Acme Plumbing", "name: "+quoteYAML(sqlish[0]),
		"    name: Drain cleaning", "    name: "+quoteYAML(sqlish[1]),
		"    name: Mike", "    name: "+quoteYAML(sqlish[2]),
	).Replace(hostileTenant) + "templates: { ack: " + quoteYAML(sqlish[3]) + " }\n"
	r := e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, cfg, "Content-Type: application/yaml")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = e.do(http.MethodGet, "/admin/v1/tenants/acme", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status)
	var got struct {
		Name     string `json:"name"`
		Services []struct {
			Name string `json:"name"`
		} `json:"services"`
		Resources []struct {
			Name string `json:"name"`
		} `json:"resources"`
		Templates struct {
			Ack string `json:"ack"`
		} `json:"templates"`
	}
	require.NoError(t, json.Unmarshal(r.body, &got))
	require.Equal(t, sqlish[0], got.Name)
	require.Equal(t, sqlish[1], got.Services[0].Name)
	require.Equal(t, sqlish[2], got.Resources[0].Name)
	require.Equal(t, sqlish[3], got.Templates.Ack)

	// Customer names and idempotency keys are stored verbatim.
	starts := []string{"08:00", "09:30", "13:00", "14:30", "08:00", "09:30"}
	for i, s := range sqlish {
		resource := "mike"
		if i >= 4 {
			resource = "ana"
		}
		body := holdBody(at(starts[i]), customer, s)
		body["resource_id"] = resource
		key := strings.ReplaceAll(s, " ", "_")
		r := e.do(http.MethodPost, "/api/v1/tenants/acme/reservations", bookingKey, body, "Idempotency-Key: "+key)
		require.Equal(t, http.StatusCreated, r.status, "%s: %s", s, r.body)
		id := r.json(t)["id"].(string)
		var name string
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT customer_name FROM fulfillment.claims WHERE id = $1`, id).Scan(&name))
		require.Equal(t, s, name)
		again := e.do(http.MethodPost, "/api/v1/tenants/acme/reservations", bookingKey, body, "Idempotency-Key: "+key)
		require.Equal(t, http.StatusCreated, again.status)
		require.Equal(t, id, again.json(t)["id"], "the key %q names the same hold", key)
	}

	// Ids made of SQL name nothing: refused with the field, or unknown.
	before := e.dbState()
	for _, s := range sqlish {
		body := holdBody(at("15:00"), customer, "Ann")
		body["service"] = s
		requireProblem(t, e.do(http.MethodPost, "/api/v1/tenants/acme/reservations", bookingKey, body), 422, "service", s)
		body = holdBody(at("15:00"), customer, "Ann")
		body["resource_id"] = s
		requireProblem(t, e.do(http.MethodPost, "/api/v1/tenants/acme/reservations", bookingKey, body), 422, "resource_id", s)
		q := url.Values{"service": {s}, "from": {"2030-01-07T00:00:00Z"}, "to": {"2030-01-08T00:00:00Z"}}
		requireProblem(t, e.do(http.MethodGet, "/api/v1/tenants/acme/availability?"+q.Encode(), bookingKey, nil), 422, "service", s)
		requireProblem(t, e.do(http.MethodGet, "/api/v1/tenants/"+url.PathEscape(s)+"/availability", bookingKey, nil), 401, "", s)
		requireProblem(t, e.do(http.MethodGet, "/admin/v1/tenants/"+url.PathEscape(s), adminToken, nil), 404, "", s)
		requireProblem(t, e.do(http.MethodGet, "/admin/v1/endpoints/"+url.PathEscape(s), adminToken, nil), 404, "", s)
		r := e.do(http.MethodGet, "/admin/v1/tenants/acme/conversations?phone="+url.QueryEscape(s), adminToken, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.JSONEq(t, `{"conversations":[]}`, string(r.body))
		requireProblem(t, e.do(http.MethodPost, "/admin/v1/tenants/acme/connections/"+url.PathEscape(s)+"/resume", adminToken, nil), 404, "", s)
	}
	e.requireUnchanged(before, "SQL-looking ids")

	// Texts and message ids from customers and vendors are stored verbatim.
	for i, s := range sqlish {
		sid := fmt.Sprintf("SM%032d%s", i, s)
		r := e.post("/webhooks/twilio/sms", url.Values{"MessageSid": {sid}, "From": {customer}, "To": {business}, "Body": {s}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Equal(t, 1, e.count(`SELECT count(*) FROM conversation.webhook_envelopes WHERE key = $1`, "sms:"+sid))
	}
	e.settle(customer)
	for _, s := range sqlish {
		require.Equal(t, 1, e.count(`SELECT count(*) FROM conversation.messages WHERE direction = 'in' AND body = $1`, s), s)
	}
	r = e.do(http.MethodGet, "/admin/v1/tenants/acme/conversations?phone="+url.QueryEscape(customer), adminToken, nil)
	require.Equal(t, http.StatusOK, r.status)
	for _, s := range sqlish {
		require.Contains(t, string(r.body), string(mustJSON(s)), "the admin API shows the message as sent")
	}

	// Nothing was executed: every table is still there, with what was put in it.
	for table := range tablesBefore {
		require.Contains(t, e.dbState(), table)
	}
	require.Equal(t, 1, e.count(`SELECT count(*) FROM fulfillment.tenants`))
	require.Equal(t, len(sqlish), e.count(`SELECT count(*) FROM fulfillment.claims WHERE status = 'held'`))
	require.Equal(t, len(sqlish), e.count(`SELECT count(*) FROM conversation.messages WHERE direction = 'in'`))
}

// quoteYAML writes s as a YAML double-quoted scalar (JSON strings are YAML).
func quoteYAML(s string) string { return string(mustJSON(s)) }

// badPhones are not E.164 numbers as the engine requires them: "+", country code and
// subscriber digits in ASCII, nothing else, in the canonical form carriers send.
var badPhones = []struct{ name, number string }{
	{"too few digits", "+1512555"},
	{"a letter", "+1512555O199"},
	{"leading 00", "0015125550199"},
	{"no plus", "15125550199"},
	{"spaces", "+1 512 555 0199"},
	{"dashes", "+1-512-555-0199"},
	{"parentheses", "+1(512)5550199"},
	{"extension ;ext=", "+15125550199;ext=12"},
	{"extension x", "+15125550199x12"},
	{"16 digits", "+1512555019912345"},
	{"full-width digits", "+１５１２５５５０１９９"},
	{"Arabic-Indic digits", "+١٥١٢٥٥٥٠١٩٩"},
	{"plus alone", "+"},
	{"empty", ""},
	{"trunk 0 kept", "+43012000"},
	{"unassigned country code", "+2105550199"},
}

func TestHostilePhoneNumbersAreRefusedEverywhere(t *testing.T) {
	t.Parallel()
	e := newHostileEngine(t)
	before := e.dbState()
	for _, p := range badPhones {
		what := fmt.Sprintf("%s %q", p.name, p.number)

		r := e.do(http.MethodPost, "/api/v1/tenants/acme/reservations", bookingKey, holdBody(at("09:00"), p.number, "Ann"))
		requireProblem(t, r, 422, "customer.phone", "booking: "+what)

		cfg := strings.Replace(hostileTenant, `number: "`+business+`"`, "number: "+quoteYAML(p.number), 1)
		r = e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, cfg, "Content-Type: application/yaml")
		requireProblem(t, r, 422, "endpoints[0].number", "tenant endpoint: "+what)

		for _, body := range [][]byte{pbxBody("pbx-"+p.name, p.number, business), pbxBody("pbx-"+p.name, customer, p.number)} {
			r = e.do(http.MethodPost, "/webhooks/pbx/missed-call", "", body, "X-Signature: "+pbxSignature(hostilePBXSecret, body))
			requireProblem(t, r, 400, "", "pbx: "+what)
		}

		// Twilio decides who called; a business number that is not one is nobody's.
		if p.number != "" {
			r = e.post("/webhooks/twilio/voice", url.Values{"CallSid": {"CA-" + p.name}, "From": {customer}, "To": {p.number}, "CallStatus": {"busy"}})
			requireProblem(t, r, 404, "", "twilio to: "+what)
			requireProblem(t, e.do(http.MethodGet, "/admin/v1/endpoints/"+url.PathEscape(p.number), adminToken, nil), 404, "", "endpoint lookup: "+what)
		}
		e.requireUnchanged(before, what)
	}
	// A trailing newline is not trimmed off a customer's phone.
	requireProblem(t, e.do(http.MethodPost, "/api/v1/tenants/acme/reservations", bookingKey, holdBody(at("09:00"), customer+"\n", "Ann")), 422, "customer.phone", "newline")
	e.requireUnchanged(before, "a phone with a newline")

	// A carrier may well report a caller the engine cannot text ("anonymous", a short
	// code): the webhook is taken (Twilio must not retry it) and nothing is said or kept
	// about that caller.
	for _, p := range append(badPhones, struct{ name, number string }{"anonymous", "anonymous"}) {
		if p.number == "" {
			continue
		}
		r := e.post("/webhooks/twilio/voice", url.Values{"CallSid": {"CA-from-" + p.name}, "From": {p.number}, "To": {business}, "CallStatus": {"no-answer"}})
		require.Equal(t, http.StatusOK, r.status, "%s: %s", p.name, r.body)
		r = e.post("/webhooks/twilio/sms", url.Values{"MessageSid": {"SM-from-" + p.name}, "From": {p.number}, "To": {business}, "Body": {"1"}})
		require.Equal(t, http.StatusOK, r.status, "%s: %s", p.name, r.body)
	}
	require.Empty(t, e.eng.directory.Live(conversation.Kind), "no conversation was started")
	require.Zero(t, e.count(`SELECT count(*) FROM conversation.conversations`))
	require.Zero(t, e.count(`SELECT count(*) FROM conversation.messages`))
	require.Zero(t, e.count(`SELECT count(*) FROM conversation.deliveries`))
	require.Zero(t, e.count(`SELECT count(*) FROM conversation.webhook_envelopes WHERE processed_at IS NULL`), "handled, so never replayed")
	require.Empty(t, e.twilio.Messages())

	// The right number works on the same routes.
	require.Equal(t, http.StatusCreated, e.do(http.MethodPost, "/api/v1/tenants/acme/reservations", bookingKey, holdBody(at("09:00"), customer, "Ann")).status)
}

func TestHostileForgedSignaturesStoreNothing(t *testing.T) {
	t.Parallel()
	e := newHostileEngine(t)
	forms := map[string]url.Values{
		"/webhooks/twilio/voice":      {"CallSid": {"CA00000000000000000000000000000009"}, "From": {customer}, "To": {business}, "CallStatus": {"no-answer"}},
		"/webhooks/twilio/sms":        {"MessageSid": {"SM00000000000000000000000000000009"}, "From": {customer}, "To": {business}, "Body": {"1"}},
		"/webhooks/twilio/sms-status": {"MessageSid": {"SM00000000000000000000000000000009"}, "From": {business}, "MessageStatus": {"delivered"}},
	}
	before := e.dbState()
	forged := 0
	for _, path := range slices.Sorted(maps.Keys(forms)) {
		form := forms[path]
		tampered := url.Values{}
		for k, v := range form {
			tampered[k] = slices.Clone(v)
		}
		tampered.Set("From", "+15125550177")
		otherPath := "/webhooks/twilio/sms"
		if path == otherPath {
			otherPath = "/webhooks/twilio/voice"
		}
		for _, c := range []struct{ name, sig string }{
			{"no signature", ""},
			{"garbage", "forged"},
			{"signed with the sandbox token", twilio.Sign("sandbox", e.srv.URL+path, form)},
			{"signed with another token", twilio.Sign("another-token", e.srv.URL+path, form)},
			{"signed for another host", twilio.Sign(twilioToken, "https://evil.example"+path, form)},
			{"signed for another route", twilio.Sign(twilioToken, e.srv.URL+otherPath, form)},
			{"signed over other fields", twilio.Sign(twilioToken, e.srv.URL+path, tampered)},
		} {
			what := path + ": " + c.name
			r := e.do(http.MethodPost, path, "", form.Encode(), "Content-Type: application/x-www-form-urlencoded", "X-Twilio-Signature: "+c.sig)
			requireProblem(t, r, http.StatusForbidden, "", what)
			e.requireUnchanged(before, what)
			forged++
		}
	}
	bad := 0.0
	for _, kind := range []string{"missed-call", "inbound-sms", "sms-status"} {
		bad += testutil.ToFloat64(e.eng.metrics.Webhooks.WithLabelValues("twilio", kind, "bad_signature"))
	}
	require.Equal(t, float64(forged), bad, "every forgery is counted")

	body := pbxBody("pbx-forged", customer, business)
	secretlessBody := pbxBody("pbx-forged-2", customer, secretless)
	mac := hmac.New(sha256.New, []byte(hostilePBXSecret))
	mac.Write(body)
	for _, c := range []struct {
		name string
		body []byte
		sig  string
	}{
		{"no signature", body, ""},
		{"short", body, "sha256=00"},
		{"not hex", body, "sha256=zz"},
		{"no scheme", body, hex.EncodeToString(mac.Sum(nil))},
		{"another scheme", body, "sha1=" + hex.EncodeToString(mac.Sum(nil))},
		{"base64 instead of hex", body, "sha256=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))},
		{"another secret", body, pbxSignature("another-secret-0123456789", body)},
		{"over another body", body, pbxSignature(hostilePBXSecret, pbxBody("pbx-other", customer, business))},
		{"another endpoint's secret", secretlessBody, pbxSignature(hostilePBXSecret, secretlessBody)},
		{"empty key for an endpoint without a secret", secretlessBody, pbxSignature("", secretlessBody)},
	} {
		r := e.do(http.MethodPost, "/webhooks/pbx/missed-call", "", c.body, "X-Signature: "+c.sig)
		requireProblem(t, r, http.StatusForbidden, "", "pbx: "+c.name)
		e.requireUnchanged(before, "pbx: "+c.name)
	}

	jobberBody := []byte(`{"data":{"webHookEvent":{"topic":"VISIT_UPDATE","appId":"a","accountId":"b","itemId":"c","occurredAt":"2030-01-07T09:00:00Z"}}}`)
	jmac := hmac.New(sha256.New, []byte(jobberClientSecret))
	jmac.Write(jobberBody)
	sum := jmac.Sum(nil)
	for _, c := range []struct{ name, sig string }{
		{"no signature", ""},
		{"another secret", jobberfake.SignWebhook("another-secret", jobberBody)},
		{"the sandbox secret", jobberfake.SignWebhook(sandboxClientSecret, jobberBody)},
		{"not base64", "not base64!"},
		{"hex instead of base64", hex.EncodeToString(sum)},
		{"truncated", base64.StdEncoding.EncodeToString(sum[:16])},
		{"over another body", jobberfake.SignWebhook(jobberClientSecret, append(slices.Clone(jobberBody), ' '))},
	} {
		r := e.do(http.MethodPost, "/webhooks/jobber", "", jobberBody, "X-Jobber-Hmac-SHA256: "+c.sig)
		requireProblem(t, r, http.StatusForbidden, "", "jobber: "+c.name)
		e.requireUnchanged(before, "jobber: "+c.name)
	}

	// Without a Jobber client secret every Jobber webhook is refused, even one "signed"
	// with the empty key.
	closed := newTestEngine(t)
	before = closed.dbState()
	r := closed.do(http.MethodPost, "/webhooks/jobber", "", jobberBody, "X-Jobber-Hmac-SHA256: "+jobberfake.SignWebhook("", jobberBody))
	requireProblem(t, r, http.StatusForbidden, "", "jobber without a secret")
	closed.requireUnchanged(before, "jobber without a secret")

	// The genuine articles are taken.
	require.Equal(t, http.StatusOK, e.post("/webhooks/twilio/voice", forms["/webhooks/twilio/voice"]).status)
	require.Equal(t, http.StatusOK, e.do(http.MethodPost, "/webhooks/pbx/missed-call", "", body, "X-Signature: "+pbxSignature(hostilePBXSecret, body)).status)
	r = e.do(http.MethodPost, "/webhooks/jobber", "", jobberBody, "X-Jobber-Hmac-SHA256: "+jobberfake.SignWebhook(jobberClientSecret, jobberBody))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

// concurrently sends n copies of one request at once and returns the answers.
func concurrently(n int, send func() response) []response {
	out := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = send()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func TestHostileReplayedWebhooksHaveOneEffect(t *testing.T) {
	t.Parallel()
	e := newHostileEngine(t)
	const copies = 8
	caller, pbxCaller, texter := "+15125550161", "+15125550162", "+15125550163"

	cases := []struct {
		name, key string
		send      func() response
	}{
		{"twilio voice", "voice:CA00000000000000000000000000000077:busy", func() response {
			return e.post("/webhooks/twilio/voice", url.Values{"CallSid": {"CA00000000000000000000000000000077"}, "From": {caller}, "To": {business}, "CallStatus": {"busy"}})
		}},
		{"twilio sms", "sms:SM00000000000000000000000000000077", func() response {
			return e.post("/webhooks/twilio/sms", url.Values{"MessageSid": {"SM00000000000000000000000000000077"}, "From": {texter}, "To": {business}, "Body": {"HELP"}})
		}},
		{"twilio receipt", "status:SM00000000000000000000000000000078:delivered", func() response {
			return e.post("/webhooks/twilio/sms-status", url.Values{"MessageSid": {"SM00000000000000000000000000000078"}, "From": {business}, "MessageStatus": {"delivered"}})
		}},
		{"pbx", "pbx:pbx-77", func() response {
			b := pbxBody("pbx-77", pbxCaller, business)
			return e.do(http.MethodPost, "/webhooks/pbx/missed-call", "", b, "X-Signature: "+pbxSignature(hostilePBXSecret, b))
		}},
	}
	for _, c := range cases {
		// Sequential redeliveries, then a burst of them at once (they can share a group
		// commit, where the same key twice must still be stored once).
		for range 2 {
			require.Equal(t, http.StatusOK, c.send().status, c.name)
		}
		for _, r := range concurrently(copies, c.send) {
			require.Equal(t, http.StatusOK, r.status, "%s: %s", c.name, r.body)
		}
		require.Equal(t, 1, e.count(`SELECT count(*) FROM conversation.webhook_envelopes WHERE key = $1`, c.key), c.name)
	}
	for _, phone := range []string{caller, pbxCaller, texter} {
		e.settle(phone)
	}
	// One auto-reply per missed call, one answer to the text, one conversation each.
	require.Len(t, e.texts(caller), 1)
	require.Len(t, e.texts(pbxCaller), 1)
	require.Len(t, e.texts(texter), 1)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM conversation.messages m JOIN conversation.conversations c ON c.id = m.conversation_id
		WHERE c.customer_phone = $1 AND m.direction = 'in'`, texter))
	require.Equal(t, 3, e.count(`SELECT count(*) FROM conversation.conversations`))
	dups := 0.0
	for _, k := range []struct{ source, kind string }{{"twilio", "missed-call"}, {"twilio", "inbound-sms"}, {"twilio", "sms-status"}, {"pbx", "missed-call"}} {
		dups += testutil.ToFloat64(e.eng.metrics.Webhooks.WithLabelValues(k.source, k.kind, "duplicate"))
	}
	require.Equal(t, float64(len(cases)*(copies+1)), dups, "every redelivery is counted as a duplicate")
}

func TestHostileReplayedJobberWebhooksHaveOneEffect(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	body := w.jobber.WebhookPayload("VISIT_UPDATE", "no-such-visit", at("09:05"))
	sig := jobberfake.SignWebhook(jobberClientSecret, body)
	results := map[string]int{}
	for _, r := range append(concurrently(8, func() response {
		return w.do(http.MethodPost, "/webhooks/jobber", "", body, "X-Jobber-Hmac-SHA256: "+sig)
	}), w.do(http.MethodPost, "/webhooks/jobber", "", body, "X-Jobber-Hmac-SHA256: "+sig)) {
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		results[r.json(t)["status"].(string)]++
	}
	require.Equal(t, map[string]int{"accepted": 1, "duplicate": 8}, results)
	require.Equal(t, 1, w.count(`SELECT count(*) FROM fulfillment.vendor_webhooks`))
}

// routeTemplates are the (method, path template) pairs the engine serves under prefix,
// read from its router, so a route added later is covered without editing this test.
func routeTemplates(t *testing.T, h http.Handler, prefix string) [][2]string {
	t.Helper()
	router, ok := h.(*mux.Router)
	require.True(t, ok, "the engine's handler is the gorilla router")
	var out [][2]string
	require.NoError(t, router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(tmpl, prefix) {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a subrouter's prefix, not a route
		}
		for _, m := range methods {
			out = append(out, [2]string{m, tmpl})
		}
		return nil
	}))
	return out
}

var pathVar = regexp.MustCompile(`\{([a-z_]+)(:[^}]*)?\}`)

// fill replaces a template's {vars} with values.
func fill(t *testing.T, tmpl string, values map[string]string) string {
	t.Helper()
	return pathVar.ReplaceAllStringFunc(tmpl, func(v string) string {
		name := pathVar.FindStringSubmatch(v)[1]
		val, ok := values[name]
		require.True(t, ok, "no value for {%s} in %s", name, tmpl)
		return url.PathEscape(val)
	})
}

// otherPlumber is a second tenant with its own number, key and resource ids.
const otherKey = "other-booking-key-0123456789"

var otherPlumber = strings.NewReplacer("id: acme", "id: other", "Acme Plumbing", "Other Plumbing", business, "+15125550101",
	bookingKey, otherKey, "id: mike", "id: otto", "name: Mike", "name: Otto", "id: ana", "id: olga", "name: Ana", "name: Olga").Replace(plumber)

func TestHostileTenantIsolationOnEveryBookingRoute(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)
	e.apply(otherPlumber)

	// acme has a live hold and a booked appointment.
	r := e.hold("acme", "mike", at("09:00"), customer)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	holdID := r.json(t)["id"].(string)
	r = e.hold("acme", "mike", at("13:00"), "+15125550198")
	require.Equal(t, http.StatusCreated, r.status)
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+r.json(t)["id"].(string)+"/confirm", bookingKey, nil)
	require.Equal(t, http.StatusCreated, r.status)
	apptID := r.json(t)["appointment"].(map[string]any)["id"].(string)
	e.flush()

	routes := routeTemplates(t, e.eng.handler, "/api/v1/")
	require.GreaterOrEqual(t, len(routes), 6, "the booking routes: %v", routes)
	// Whatever acme's ids or data might leak through.
	acmeData := []string{holdID, apptID, "mike", "Mike", "ana", "Acme", customer, "+15125550198"}
	bodyFor := func(tmpl string) any {
		switch {
		case strings.HasSuffix(tmpl, "/reservations"):
			return map[string]any{"service": "drain", "starts_at": at("10:30").Format(time.RFC3339), "customer": map[string]string{"phone": customer}}
		case strings.HasSuffix(tmpl, "/reschedule"):
			return map[string]string{"starts_at": at("15:00").Format(time.RFC3339)}
		}
		return nil
	}
	query := "?service=drain&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z"

	before := e.dbState()
	for _, rt := range routes {
		method, tmpl := rt[0], rt[1]
		id := holdID
		if strings.Contains(tmpl, "/appointments/") {
			id = apptID
		}
		for _, c := range []struct {
			name, tenant, key string
			status            int
		}{
			{"acme's key on other", "other", bookingKey, http.StatusUnauthorized},
			{"no key", "other", "", http.StatusUnauthorized},
			{"acme's key as Basic", "other", "", http.StatusUnauthorized},
			{"acme's key on an unknown tenant", "nobody", bookingKey, http.StatusUnauthorized},
			{"acme's key on a look-alike tenant", "ACME", bookingKey, http.StatusUnauthorized},
			{"the admin token", "acme", adminToken, http.StatusUnauthorized},
		} {
			path := fill(t, tmpl, map[string]string{"tenant": c.tenant, "id": id}) + query
			headers := []string{}
			if c.name == "acme's key as Basic" {
				headers = append(headers, "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("acme:"+bookingKey)))
			}
			what := method + " " + tmpl + ": " + c.name
			r := e.do(method, path, c.key, bodyFor(tmpl), headers...)
			requireProblem(t, r, c.status, "", what)
			require.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer", what)
			for _, d := range acmeData {
				require.NotContains(t, string(r.body), d, "%s leaks acme's data", what)
			}
		}
		// other's own key with acme's ids: those ids name nothing of other's.
		if strings.Contains(tmpl, "{id}") {
			what := method + " " + tmpl + ": acme's id under other"
			r := e.do(method, fill(t, tmpl, map[string]string{"tenant": "other", "id": id}), otherKey, bodyFor(tmpl))
			requireProblem(t, r, http.StatusNotFound, "", what)
			for _, d := range acmeData {
				require.NotContains(t, string(r.body), d, "%s leaks acme's data", what)
			}
		}
	}
	// other's key does not reach acme's resources through its own routes either.
	r = e.do(http.MethodGet, "/api/v1/tenants/other/availability"+query+"&resource=mike", otherKey, nil)
	requireProblem(t, r, 422, "resource_id", "acme's resource under other")
	r = e.do(http.MethodGet, "/api/v1/tenants/other/availability"+query, otherKey, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.body), `"mike"`)
	require.NotContains(t, string(r.body), `"ana"`)
	e.requireUnchanged(before, "another tenant's requests")

	var holdStatus, apptStatus string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.claims WHERE id = $1`, holdID).Scan(&holdStatus))
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.appointments WHERE id = $1`, apptID).Scan(&apptStatus))
	require.Equal(t, "held", holdStatus)
	require.Equal(t, "booked", apptStatus)
}

func TestHostileConversationsStayWithTheirTenant(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.apply(otherPlumber)
	r := e.post("/webhooks/twilio/voice", url.Values{"CallSid": {"CA00000000000000000000000000000088"}, "From": {customer}, "To": {"+15125550101"}, "CallStatus": {"busy"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	_, err := e.eng.directory.Request(context.Background(), conversation.Kind, conversation.Identity("+15125550101", customer), &conversation.FlushRequest{}, 10*time.Second)
	require.NoError(t, err)

	for _, path := range []string{"/admin/v1/tenants/acme/conversations", "/admin/v1/tenants/acme/conversations?phone=" + url.QueryEscape(customer)} {
		r = e.do(http.MethodGet, path, adminToken, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.JSONEq(t, `{"conversations":[]}`, string(r.body), "acme sees nothing of other's caller")
	}
	r = e.do(http.MethodGet, "/admin/v1/tenants/other/conversations", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.json(t)["conversations"], 1)
}

func TestHostileAdminRoutesNeedTheToken(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)
	routes := routeTemplates(t, e.eng.handler, "/admin/v1/")
	var listed []string
	for _, rt := range routes {
		listed = append(listed, rt[0]+" "+rt[1])
	}
	for _, want := range []string{
		"PUT /admin/v1/tenants/{tenant}",
		"GET /admin/v1/tenants/{tenant}",
		"GET /admin/v1/tenants/{tenant}/appointments",
		"GET /admin/v1/tenants/{tenant}/conversations",
		"GET /admin/v1/endpoints/{number}",
		"GET /admin/v1/tenants/{tenant}/connections",
		"POST /admin/v1/tenants/{tenant}/connections/{connection}/resume",
		"POST /admin/v1/tenants/{tenant}/connections/{connection}/read-calendars",
	} {
		require.Contains(t, listed, want, "the walk finds every admin route")
	}
	values := map[string]string{"tenant": "acme", "number": business, "connection": "acme-google", "id": "6f1c1d2e-0000-4000-8000-000000000001"}
	// Whatever the admin API would show of acme.
	secrets := []string{"Acme Plumbing", "America/Chicago", "mike", "drain"}

	closed, err := assemble(Config{PublicURL: "http://ringback.test"}, e.pool, testBox(t), quietLog(), clock.NewFake(monday0600))
	require.NoError(t, err)
	defer closed.stop()

	before := e.dbState()
	for _, rt := range routes {
		method, path := rt[0], fill(t, rt[1], values)
		// A PUT that got through would rename the tenant; the one with the token
		// re-applies the same config, which changes nothing.
		var body, authorized any
		if method == http.MethodPut {
			body, authorized = strings.ReplaceAll(plumber, "Acme Plumbing", "Pwned Plumbing"), plumber
		}
		for _, c := range []struct {
			name    string
			headers []string
		}{
			{"no token", nil},
			{"a wrong token", []string{"Authorization: Bearer " + adminToken + "x"}},
			{"a prefix of the token", []string{"Authorization: Bearer " + adminToken[:len(adminToken)-1]}},
			{"the token as Basic", []string{"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+adminToken))}},
			{"the token without a scheme", []string{"Authorization: " + adminToken}},
			{"the token in another header", []string{"X-Admin-Token: " + adminToken}},
			{"a booking key", []string{"Authorization: Bearer " + bookingKey}},
			{"an empty bearer", []string{"Authorization: Bearer "}},
		} {
			what := method + " " + rt[1] + " with " + c.name
			r := e.do(method, path, "", body, c.headers...)
			requireProblem(t, r, http.StatusUnauthorized, "", what)
			require.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer", what)
			for _, s := range secrets {
				require.NotContains(t, string(r.body), s, "%s leaks tenant data", what)
			}
		}
		// The token in the query string is not a token.
		r := e.do(method, path+"?token="+adminToken+"&access_token="+adminToken, "", body)
		requireProblem(t, r, http.StatusUnauthorized, "", method+" "+rt[1]+" with the token in the query")
		e.requireUnchanged(before, method+" "+rt[1]+" without the token")

		// Without ADMIN_TOKEN the API is closed to every token, the empty one included.
		for _, token := range []string{"", adminToken, "x"} {
			var rd io.Reader
			if s, ok := body.(string); ok {
				rd = strings.NewReader(s)
			}
			req, err := http.NewRequest(method, path, rd)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := newRecorderFor(closed.handler, req)
			require.Equal(t, http.StatusServiceUnavailable, rec.status, "%s %s on a closed admin API: %s", method, rt[1], rec.body)
			require.Equal(t, "application/problem+json", rec.header.Get("Content-Type"))
		}
		e.requireUnchanged(before, method+" "+rt[1]+" on a closed admin API")

		// With the token the route is there and works (not a 401, not a failure): the
		// refusals above were about the token. (A route whose backend is not wired yet
		// may say 503.)
		r = e.do(method, path, adminToken, authorized)
		require.NotEqual(t, http.StatusUnauthorized, r.status, "%s %s: %s", method, rt[1], r.body)
		require.NotEqual(t, http.StatusInternalServerError, r.status, "%s %s: %s", method, rt[1], r.body)
		e.requireUnchanged(before, method+" "+rt[1]+" with the token")
	}
}

func newRecorderFor(h http.Handler, req *http.Request) response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}
