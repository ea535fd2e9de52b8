package http

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"ringback/actors/resource"
	"ringback/comms/twilio"
	"ringback/metrics"
	"ringback/persistence"
	"ringback/tenant"
)

// These fuzz targets drive the real handlers through the router, with fakes standing in
// for the domain and storage. Each checks the edge's promises on any input: never a 5xx,
// every 4xx a problem document (with the field at fault for a 422), and nothing reaches
// storage that Postgres would refuse (invalid UTF-8, U+0000) or that breaks a rule the
// handler is meant to enforce.

const (
	fuzzTenant     = "acme"
	fuzzBookingKey = "fuzz-booking-key-0123456789"
	fuzzTwilio     = "fuzz-twilio-token"
	fuzzPublicURL  = "http://ringback.test"
	fuzzBusiness   = "+15125550100"
	fuzzPBXSecret  = "pbx-secret-0123456789"
)

// edgeFakes records what the handlers hand to the domain and storage.
type edgeFakes struct {
	mu          sync.Mutex
	lookups     []string // tenant ids and numbers the handlers asked storage about
	holds       []resource.HoldRequest
	reschedules []struct {
		id    uuid.UUID
		start time.Time
		key   string
	}
	envelopes []persistence.Envelope
}

func (f *edgeFakes) lookedUp(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, s)
}

func (f *edgeFakes) BookingKeyMatches(_ context.Context, tenantID, key string) (bool, error) {
	f.lookedUp(tenantID)
	return tenantID == fuzzTenant && key == fuzzBookingKey, nil
}

func (f *edgeFakes) Availability(context.Context, string, string, string, time.Time, time.Time, int) ([]resource.Slot, []string, error) {
	return nil, nil, nil
}

func (f *edgeFakes) Hold(_ context.Context, _ string, req resource.HoldRequest) (resource.Claim, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holds = append(f.holds, req)
	return resource.Claim{ID: uuid.New(), ResourceID: "mike", ServiceID: req.ServiceID, Start: req.Start, End: req.Start.Add(time.Hour),
		ExpiresAt: req.Start, Customer: req.Customer, Quote: resource.Quote{AmountMinor: 100, Currency: "USD"}}, false, nil
}

func (f *edgeFakes) Confirm(context.Context, string, uuid.UUID) (resource.Appointment, error) {
	return resource.Appointment{}, resource.ErrNotFound
}

func (f *edgeFakes) Release(context.Context, string, uuid.UUID) error { return resource.ErrNotFound }

func (f *edgeFakes) Cancel(context.Context, string, uuid.UUID) (resource.Appointment, error) {
	return resource.Appointment{}, resource.ErrNotFound
}

func (f *edgeFakes) Reschedule(_ context.Context, _ string, id uuid.UUID, start time.Time, key string) (resource.Appointment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reschedules = append(f.reschedules, struct {
		id    uuid.UUID
		start time.Time
		key   string
	}{id, start, key})
	return resource.Appointment{ID: id, Start: start, End: start.Add(time.Hour), Status: "booked", Version: 2}, nil
}

func (f *edgeFakes) EndpointOwner(_ context.Context, number string) (string, string, error) {
	f.lookedUp(number)
	if number != fuzzBusiness {
		return "", "", persistence.ErrUnknownNumber
	}
	return fuzzTenant, fuzzPBXSecret, nil
}

func (f *edgeFakes) StoreEnvelope(_ context.Context, env persistence.Envelope) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.envelopes {
		if e.Key == env.Key {
			return false, nil
		}
	}
	f.envelopes = append(f.envelopes, env)
	return true, nil
}

func (f *edgeFakes) StoreReceipt(ctx context.Context, r persistence.ReceiptEnvelope) (bool, error) {
	return f.StoreEnvelope(ctx, r.Envelope)
}

func (f *edgeFakes) MarkEnvelopeProcessed(context.Context, string) error { return nil }

func (f *edgeFakes) Dispatch(context.Context, persistence.Envelope, WebhookPayload) {}

// newFuzzServer is a Server on fakes, built once per target (building one registers
// every metric, which would dominate each input's time). Inputs run one at a time in a
// worker, so each calls reset first and the fakes record that input alone.
func newFuzzServer() (*Server, *edgeFakes) {
	fakes := &edgeFakes{}
	reg := prometheus.NewRegistry()
	srv := NewServer(Config{AdminToken: "admin", PublicURL: fuzzPublicURL, TwilioAuthToken: fuzzTwilio}, Deps{
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry:    reg,
		Metrics:     metrics.New(reg, metrics.Options{}),
		BookingAuth: fakes, Bookings: fakes,
		Intake: fakes, Dispatcher: fakes,
	})
	return srv, fakes
}

func (f *edgeFakes) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups, f.holds, f.reschedules, f.envelopes = nil, nil, nil, nil
}

func serve(srv *Server, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, r)
	return rec
}

// requireEdgeAnswer checks what every answer of the edge must be: below 500, and a problem
// document for every 4xx, whose status matches and whose 422 names a field.
func requireEdgeAnswer(t *testing.T, rec *httptest.ResponseRecorder, input any) {
	t.Helper()
	require.Less(t, rec.Code, 500, "input %q: %s", input, rec.Body)
	if rec.Code < 400 {
		return
	}
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), "input %q", input)
	var p Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), "input %q: %s", input, rec.Body)
	require.Equal(t, rec.Code, p.Status, "input %q", input)
	require.True(t, strings.HasPrefix(p.Type, problemBase), "type %q", p.Type)
	if rec.Code == http.StatusUnprocessableEntity {
		require.NotEmpty(t, p.Errors, "input %q: a 422 names the field at fault: %s", input, rec.Body)
		for _, e := range p.Errors {
			require.NotEmpty(t, e.Field, "input %q: %s", input, rec.Body)
		}
	}
}

func requireStorable(t *testing.T, what, s string) {
	t.Helper()
	require.True(t, utf8.ValidString(s) && !strings.ContainsRune(s, 0), "%s %q would reach Postgres, which refuses it", what, s)
}

func (f *edgeFakes) requireLookupsStorable(t *testing.T) {
	t.Helper()
	for _, s := range f.lookups {
		requireStorable(t, "looked-up id", s)
	}
}

// FuzzCreateReservation posts any body, Idempotency-Key and tenant to the reservation
// route. A hold reaches the domain only with a service, an RFC 3339 start, a valid E.164
// phone, a storable name of at most 200 characters and a printable key.
func FuzzCreateReservation(f *testing.F) {
	f.Add(fuzzTenant, `{"service":"drain","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"+15125550199","name":"Ann"}}`, "order-1")
	f.Add(fuzzTenant, `{"service":"drain","starts_at":"2030-01-07T09:00:00Z","resource_id":"mike","customer":{"phone":"+15125550199"}}`, "")
	f.Add(fuzzTenant, `{"service":"drain","starts_at":"2030-01-07T09:00:00Z","customer":{"phone":"+15125550199","name":"a\u0000b"}}`, "")
	f.Add(fuzzTenant, `{"service":"drain","starts_at":"2030-01-07T09:00:00Z","customer":{"phone":"+43012000"}}`, "")
	f.Add(fuzzTenant, `{"service":"drain","starts_at":"2030-01-07T09:00:00Z","customer":{"phone":"+1512555"}}`, "")
	f.Add(fuzzTenant, `{"service":"'; DROP TABLE fulfillment.claims; --","starts_at":"2030-01-07T09:00:00Z","customer":{"phone":"+15125550199","name":"Robert'); DROP TABLE students;--"}}`, "';--")
	f.Add(fuzzTenant, `{"service":1,"starts_at":[],"customer":"x"}`, "")
	f.Add(fuzzTenant, "{\"service\":\"dr\xffain\"}", "")
	f.Add(fuzzTenant, `{"service":"drain"}{"service":"drain"}`, "")
	f.Add(fuzzTenant, `{"service":"drain","starts_at":"2030-01-07T09:00:00Z","customer":{"phone":"+15125550199"},"extra":true}`, "key with space")
	f.Add("a\x00b", `{}`, "")
	f.Add("%ff", `{}`, "")
	srv, fakes := newFuzzServer()
	f.Fuzz(func(t *testing.T, tenantID, body, key string) {
		fakes.reset()
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.URL.Path = "/api/v1/tenants/" + tenantID + "/reservations"
		r.Header.Set("Authorization", "Bearer "+fuzzBookingKey)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", key)
		rec := serve(srv, r)
		requireEdgeAnswer(t, rec, body)
		fakes.requireLookupsStorable(t)
		if rec.Code != http.StatusCreated {
			require.Empty(t, fakes.holds, "refused (%d) yet the domain was asked to hold: %s", rec.Code, rec.Body)
			return
		}
		require.Len(t, fakes.holds, 1)
		h := fakes.holds[0]
		require.NotEmpty(t, h.ServiceID)
		require.False(t, h.Start.IsZero())
		require.Empty(t, tenant.PhoneProblem(h.Customer.Phone), "phone %q", h.Customer.Phone)
		requireStorable(t, "customer.name", h.Customer.Name)
		require.False(t, strings.ContainsFunc(h.Customer.Name, unicode.IsControl), "name %q", h.Customer.Name)
		require.LessOrEqual(t, utf8.RuneCountInString(h.Customer.Name), 200)
		requirePrintableKey(t, h.Key)
	})
}

func requirePrintableKey(t *testing.T, key string) {
	t.Helper()
	require.LessOrEqual(t, len(key), 255)
	for i := range len(key) {
		require.True(t, key[i] > 0x20 && key[i] < 0x7f, "key %q", key)
	}
}

// FuzzRescheduleAppointment posts any body, path id and Idempotency-Key to the reschedule
// route: the domain is asked only with a parsed id and an RFC 3339 start.
func FuzzRescheduleAppointment(f *testing.F) {
	id := "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	f.Add(id, `{"starts_at":"2030-01-07T14:00:00-06:00"}`, "move-1")
	f.Add(id, `{"starts_at":"tomorrow"}`, "")
	f.Add(id, `{"starts_at":""}`, "")
	f.Add(id, `{"starts_at":"2030-01-07T14:00:00Z","extra":1}`, "")
	f.Add(id, `{"starts_at":"2030-13-45T99:00:00Z"}`, "")
	f.Add(id, "{\"starts_at\":\"\xff\"}", "")
	f.Add("not-a-uuid", `{"starts_at":"2030-01-07T14:00:00Z"}`, "")
	f.Add("'; DROP TABLE fulfillment.appointments; --", `{"starts_at":"2030-01-07T14:00:00Z"}`, "")
	f.Add(id, `[]`, "\x00")
	srv, fakes := newFuzzServer()
	f.Fuzz(func(t *testing.T, pathID, body, key string) {
		fakes.reset()
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.URL.Path = "/api/v1/tenants/" + fuzzTenant + "/appointments/" + pathID + "/reschedule"
		r.Header.Set("Authorization", "Bearer "+fuzzBookingKey)
		r.Header.Set("Idempotency-Key", key)
		rec := serve(srv, r)
		requireEdgeAnswer(t, rec, body)
		if rec.Code != http.StatusOK {
			require.Empty(t, fakes.reschedules, "refused (%d) yet the domain was asked: %s", rec.Code, rec.Body)
			return
		}
		require.Len(t, fakes.reschedules, 1)
		got := fakes.reschedules[0]
		want, err := uuid.Parse(pathID)
		require.NoError(t, err, "a path id that is no UUID reached the domain")
		require.Equal(t, want, got.id, "the id is the path's")
		require.False(t, got.start.IsZero())
		requirePrintableKey(t, got.key)
	})
}

// FuzzTwilioWebhook posts any correctly signed form to each Twilio route. An accepted
// webhook stores one envelope whose key and payload Postgres can hold.
func FuzzTwilioWebhook(f *testing.F) {
	f.Add(uint8(0), "CallSid=CA1&CallStatus=no-answer&From=%2B15125550199&To=%2B15125550100")
	f.Add(uint8(0), "CallSid=CA1&CallStatus=completed&From=anonymous&To=%2B15125550100")
	f.Add(uint8(1), "MessageSid=SM1&From=%2B15125550199&To=%2B15125550100&Body=STOP")
	f.Add(uint8(1), "MessageSid=SM1&From=%2B15125550199&To=%2B15125550100&Body=a%00b")
	f.Add(uint8(1), "MessageSid=SM%FF&From=%2B15125550199&To=%2B15125550100&Body=hi")
	f.Add(uint8(1), "MessageSid=SM1&From=%2B15125550199&To=%2B15125550100&Body=%27%29%3B+DROP+TABLE+conversation.messages%3B+--")
	f.Add(uint8(2), "MessageSid=SM1&MessageStatus=delivered&From=%2B15125550100&ErrorCode=0")
	f.Add(uint8(2), "MessageSid=SM1&MessageStatus=failed&From=%2B15125550100&ErrorCode=3000000000")
	f.Add(uint8(2), "MessageSid=SM1&MessageStatus=failed&From=%2B15125550100&ErrorCode=-1")
	f.Add(uint8(1), "%zz")
	paths := []string{"/webhooks/twilio/voice", "/webhooks/twilio/sms", "/webhooks/twilio/sms-status"}
	srv, fakes := newFuzzServer()
	f.Fuzz(func(t *testing.T, route uint8, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			form = url.Values{}
		}
		path := paths[int(route)%len(paths)]
		fakes.reset()
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(raw))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", twilio.Sign(fuzzTwilio, fuzzPublicURL+path, form))
		rec := serve(srv, r)
		requireEdgeAnswer(t, rec, raw)
		fakes.requireLookupsStorable(t)
		fakes.requireEnvelopesStorable(t)
		if rec.Code == http.StatusOK {
			require.Equal(t, "text/xml", rec.Header().Get("Content-Type"))
			require.Len(t, fakes.envelopes, 1, "a 200 stored the webhook")
		} else {
			require.Empty(t, fakes.envelopes, "refused (%d) yet stored: %s", rec.Code, rec.Body)
		}
	})
}

func (f *edgeFakes) requireEnvelopesStorable(t *testing.T) {
	t.Helper()
	for _, e := range f.envelopes {
		requireStorable(t, "envelope key", e.Key)
		require.True(t, json.Valid(e.Payload), "payload %s", e.Payload)
		// jsonb refuses the escape of U+0000 anywhere in a document.
		require.NotContains(t, string(e.Payload), `\u0000`, "payload %s", e.Payload)
	}
}

// FuzzPBXWebhook posts any JSON body, correctly signed with the endpoint's pbx_secret, to
// the PBX route: accepted notices carry valid numbers and a storable call id.
func FuzzPBXWebhook(f *testing.F) {
	f.Add([]byte(`{"call_id":"c1","from":"+15125550199","to":"+15125550100","ended_at":"2030-01-07T09:00:00Z"}`))
	f.Add([]byte(`{"call_id":"c\u0000","from":"+15125550199","to":"+15125550100"}`))
	f.Add([]byte(`{"call_id":"c1","from":"+1 512 555 0199","to":"+15125550100"}`))
	f.Add([]byte(`{"call_id":"c1","from":"+15125550199","to":"+15125550101"}`))
	f.Add([]byte(`{"call_id":"'; DROP TABLE conversation.webhook_envelopes; --","from":"+15125550199","to":"+15125550100"}`))
	f.Add([]byte("{\"call_id\":\"\xff\",\"from\":\"+15125550199\",\"to\":\"+15125550100\"}"))
	f.Add([]byte(`[]`))
	srv, fakes := newFuzzServer()
	f.Fuzz(func(t *testing.T, body []byte) {
		fakes.reset()
		mac := hmac.New(sha256.New, []byte(fuzzPBXSecret))
		mac.Write(body)
		r := httptest.NewRequest(http.MethodPost, "/webhooks/pbx/missed-call", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		rec := serve(srv, r)
		requireEdgeAnswer(t, rec, body)
		fakes.requireLookupsStorable(t)
		fakes.requireEnvelopesStorable(t)
		if rec.Code != http.StatusOK {
			require.Empty(t, fakes.envelopes, "refused (%d) yet stored: %s", rec.Code, rec.Body)
			return
		}
		require.Len(t, fakes.envelopes, 1)
		var p WebhookPayload
		require.NoError(t, json.Unmarshal(fakes.envelopes[0].Payload, &p))
		require.Empty(t, tenant.PhoneProblem(p.From), "from %q", p.From)
		require.Equal(t, fuzzBusiness, p.To)
	})
}

// FuzzBookingAuth asks any route of the booking API for any tenant with any bearer
// token: only the tenant's own key opens it, and storage is asked only about ids a
// tenant can have.
func FuzzBookingAuth(f *testing.F) {
	f.Add(fuzzTenant, fuzzBookingKey, "availability")
	f.Add(fuzzTenant, fuzzBookingKey+" ", "availability")
	f.Add("other", fuzzBookingKey, "reservations")
	f.Add("ACME", fuzzBookingKey, "availability")
	f.Add("a\x00b", fuzzBookingKey, "availability")
	f.Add("\xff", "x", "availability")
	f.Add(fuzzTenant, "", "availability")
	f.Add("acme'--", fuzzBookingKey, "availability")
	srv, fakes := newFuzzServer()
	f.Fuzz(func(t *testing.T, tenantID, key, rest string) {
		fakes.reset()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = "/api/v1/tenants/" + tenantID + "/" + rest
		r.Header.Set("Authorization", "Bearer "+key)
		rec := serve(srv, r)
		requireEdgeAnswer(t, rec, r.URL.Path)
		fakes.requireLookupsStorable(t)
		switch {
		case rec.Code >= 300 && rec.Code < 400: // the router's redirect to a clean path
		case rec.Code == http.StatusUnauthorized, rec.Code == http.StatusNotFound, rec.Code == http.StatusMethodNotAllowed:
		default:
			require.Equal(t, fuzzTenant, tenantID, "%d for tenant %q: %s", rec.Code, tenantID, rec.Body)
			require.Equal(t, fuzzBookingKey, strings.TrimSpace(key))
		}
	})
}
