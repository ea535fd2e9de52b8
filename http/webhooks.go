package http

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"ringback/comms/twilio"
	"ringback/persistence"
	"ringback/tenant"
	"ringback/tracing"
)

// Intake is what the webhook routes need of storage.
type Intake interface {
	EndpointOwner(ctx context.Context, number string) (tenantID, pbxSecret string, err error)
	StoreEnvelope(ctx context.Context, env persistence.Envelope) (bool, error)
	// StoreReceipt stores a delivery receipt's envelope and applies it in one commit;
	// false: stored before (a redelivery).
	StoreReceipt(ctx context.Context, r persistence.ReceiptEnvelope) (bool, error)
	MarkEnvelopeProcessed(ctx context.Context, key string) error
}

// Dispatcher hands stored webhooks to the conversation actors. ctx carries the webhook's
// span (its trace context travels with the message); it is not for cancellation.
type Dispatcher interface {
	Dispatch(ctx context.Context, env persistence.Envelope, p WebhookPayload)
}

// CorrelationHeader answers every accepted webhook with the correlation id stored in its
// envelope: the id its logs, outbox rows and provider calls carry.
const CorrelationHeader = "X-Correlation-Id"

// startWebhookSpan starts the span of a webhook request on route (its kind, refined once
// parsed) and returns r carrying it.
func startWebhookSpan(r *http.Request, route string) (*http.Request, trace.Span) {
	ctx, span := tracing.Tracer().Start(r.Context(), "webhook "+route,
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(tracing.AttrKind.String(route)))
	return r.WithContext(ctx), span
}

// WebhookPayload is the part of a webhook the engine acts on, as stored in its envelope
// (so a replay after a crash sees exactly what the first delivery did).
type WebhookPayload struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Body       string `json:"body,omitempty"`
	MessageSid string `json:"message_sid,omitempty"`
	CallSid    string `json:"call_sid,omitempty"`
	Status     string `json:"status,omitempty"`
	ErrorCode  int    `json:"error_code,omitempty"`
}

// Envelope kinds.
const (
	KindMissedCall = "missed-call"
	KindCallStatus = "call-status"
	KindInboundSMS = "inbound-sms"
	KindSMSStatus  = "sms-status"
)

// webhookBodyLimit caps vendor webhook bodies: Twilio's are a few KB.
const webhookBodyLimit = 64 << 10

func (s *Server) routeWebhooks() {
	s.router.HandleFunc("/webhooks/twilio/voice", s.twilioWebhook(KindMissedCall)).Methods(http.MethodPost)
	s.router.HandleFunc("/webhooks/twilio/sms", s.twilioWebhook(KindInboundSMS)).Methods(http.MethodPost)
	s.router.HandleFunc("/webhooks/twilio/sms-status", s.twilioWebhook(KindSMSStatus)).Methods(http.MethodPost)
	s.router.HandleFunc("/webhooks/pbx/missed-call", s.pbxMissedCall).Methods(http.MethodPost)
}

// missed reports whether a voice status means nobody answered.
func missed(status string) bool {
	switch status {
	case "no-answer", "busy", "failed", "canceled":
		return true
	}
	return false
}

const (
	twimlHangup = `<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>`
	twimlEmpty  = `<?xml version="1.0" encoding="UTF-8"?><Response/>`
)

func (s *Server) webhookResult(source, kind, result string) {
	s.deps.Metrics.Webhooks.WithLabelValues(source, kind, result).Inc()
}

// twilioWebhook handles the three Twilio routes: check the signature over PUBLIC_URL plus
// the path, find the business number, store the envelope under its unique key, answer,
// and hand new work to the conversations.
func (s *Server) twilioWebhook(route string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		const source = "twilio"
		kind := route
		r, span := startWebhookSpan(r, route)
		defer span.End()
		reply := func(status int, twiml string) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(twiml))
		}
		fail := s.webhookFailer(w, source, &kind).traced(span)
		body, ok := s.webhookBody(w, r, "application/x-www-form-urlencoded", fail)
		if !ok {
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			fail(http.StatusBadRequest, "bad_request", "malformed form body")
			return
		}
		if !twilio.Valid(s.cfg.TwilioAuthToken, s.cfg.PublicURL+r.URL.RequestURI(), form, r.Header.Get("X-Twilio-Signature")) {
			fail(http.StatusForbidden, "bad_signature", "missing or wrong X-Twilio-Signature")
			return
		}
		parsed, err := parseTwilio(route, form)
		if err != nil {
			fail(http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		kind, key, number, p := parsed.kind, parsed.key, parsed.number, parsed.payload
		env, ok := s.accept(r, source, kind, key, number, p, fail)
		if !ok {
			return
		}
		if env != nil {
			w.Header().Set(CorrelationHeader, env.CorrelationID)
			s.process(r.Context(), *env, p)
		}
		if route == KindMissedCall {
			reply(http.StatusOK, twimlHangup)
		} else {
			reply(http.StatusOK, twimlEmpty)
		}
	}
}

// twilioWebhook is what a Twilio webhook means: its envelope kind, its unique key (the
// redelivery of the same event has the same key), the business number it concerns.
type twilioWebhook struct {
	kind, key, number string
	payload           WebhookPayload
}

// parseTwilio reads a verified Twilio form posted to route (KindMissedCall for the voice
// route, KindInboundSMS, KindSMSStatus).
func parseTwilio(route string, form url.Values) (twilioWebhook, error) {
	p := WebhookPayload{From: form.Get("From"), To: form.Get("To"), Body: form.Get("Body"), MessageSid: form.Get("MessageSid")}
	w := twilioWebhook{kind: route}
	// What is read is stored (text and jsonb): Postgres refuses invalid UTF-8 and U+0000,
	// and one such value would fail the whole group commit it shares with other webhooks.
	for _, name := range []string{"From", "To", "Body", "MessageSid", "CallSid", "CallStatus", "DialCallStatus", "MessageStatus"} {
		if !storable(form.Get(name)) {
			return w, errors.New(name + " is not UTF-8 text without NUL")
		}
	}
	switch route {
	case KindMissedCall:
		p.CallSid, p.Status = form.Get("CallSid"), form.Get("DialCallStatus")
		if p.Status == "" {
			p.Status = form.Get("CallStatus")
		}
		if p.CallSid == "" || p.Status == "" || p.To == "" {
			return w, errors.New("CallSid, CallStatus and To are required")
		}
		if !missed(p.Status) {
			w.kind = KindCallStatus
		}
		w.key, w.number = "voice:"+p.CallSid+":"+p.Status, p.To
	case KindInboundSMS:
		if p.MessageSid == "" || p.From == "" || p.To == "" {
			return w, errors.New("MessageSid, From and To are required")
		}
		w.key, w.number = "sms:"+p.MessageSid, p.To
	case KindSMSStatus:
		p.Status = form.Get("MessageStatus")
		if code := form.Get("ErrorCode"); code != "" {
			n, err := strconv.Atoi(code)
			if err != nil || n < 0 || n > math.MaxInt32 {
				// Twilio's codes have five digits; the column is a Postgres int.
				return w, errors.New("ErrorCode is not a number")
			}
			p.ErrorCode = n
		}
		if p.MessageSid == "" || p.Status == "" || p.From == "" {
			return w, errors.New("MessageSid, MessageStatus and From are required")
		}
		w.key, w.number = "status:"+p.MessageSid+":"+p.Status, p.From
	default:
		return w, errors.New("unknown webhook route")
	}
	if len(w.key) > 300 {
		return w, errors.New("identifiers too long")
	}
	w.payload = p
	return w, nil
}

// accept finds the business number's tenant and stores the envelope. It answers the
// failures itself (ok false). A nil envelope with ok true is a redelivery: answer 200 and
// do nothing else.
func (s *Server) accept(r *http.Request, source, kind, key, number string, p WebhookPayload,
	fail failer) (*persistence.Envelope, bool) {
	tenantID, _, err := s.deps.Intake.EndpointOwner(r.Context(), number)
	if errors.Is(err, persistence.ErrUnknownNumber) {
		fail(http.StatusNotFound, "unknown_number", "no tenant owns this number")
		return nil, false
	}
	if err != nil {
		s.deps.Log.Error("webhook: endpoint lookup failed", "err", err)
		fail(http.StatusServiceUnavailable, "bad_request", "storage unavailable; retry")
		return nil, false
	}
	return s.store(r, source, kind, key, tenantID, p, fail)
}

func (s *Server) store(r *http.Request, source, kind, key, tenantID string, p WebhookPayload,
	fail failer) (*persistence.Envelope, bool) {
	payload, _ := json.Marshal(p)
	env := persistence.Envelope{Source: source, Key: key, Kind: kind, TenantID: tenantID,
		CorrelationID: uuid.Must(uuid.NewV7()).String(), Payload: payload, ReceivedAt: time.Now()}
	var inserted bool
	var err error
	if kind == KindSMSStatus {
		// Applied as it is stored: its envelope is written already processed.
		inserted, err = s.deps.Intake.StoreReceipt(r.Context(), persistence.ReceiptEnvelope{Envelope: env,
			SID: p.MessageSid, Status: p.Status, ErrorCode: p.ErrorCode})
	} else {
		inserted, err = s.deps.Intake.StoreEnvelope(r.Context(), env)
	}
	if err != nil {
		// Not stored, so not accepted: 503 makes the vendor retry.
		s.deps.Log.Error("webhook: could not store envelope", "source", source, "kind", kind, "err", err)
		fail(http.StatusServiceUnavailable, "bad_request", "storage unavailable; retry")
		return nil, false
	}
	if !inserted {
		s.webhookResult(source, kind, "duplicate")
		return nil, true
	}
	s.webhookResult(source, kind, "accepted")
	span := trace.SpanFromContext(r.Context())
	span.SetName("webhook " + kind)
	span.SetAttributes(tracing.AttrCorrelationID.String(env.CorrelationID), tracing.AttrKind.String(kind), tracing.AttrTenant.String(tenantID))
	return &env, true
}

// process acts on a newly stored envelope: calls and messages go to the conversation
// actors; receipts were applied as they were stored; the rest needs nothing more.
func (s *Server) process(ctx context.Context, env persistence.Envelope, p WebhookPayload) {
	switch env.Kind {
	case KindMissedCall, KindInboundSMS:
		s.deps.Dispatcher.Dispatch(ctx, env, p)
		return
	case KindSMSStatus:
		switch p.Status {
		case "sent", "delivered", "undelivered", "failed":
			s.deps.Metrics.SMSDeliveries.WithLabelValues(p.Status).Inc()
		}
		return
	}
	if err := s.deps.Intake.MarkEnvelopeProcessed(ctx, env.Key); err != nil {
		s.deps.Log.Warn("webhook: could not mark envelope processed", "err", err)
	}
}

// failer answers a refused webhook and counts it under its result.
type failer func(status int, result, detail string)

// traced is f that also marks span failed with the result and its detail.
func (f failer) traced(span trace.Span) failer {
	return func(status int, result, detail string) {
		tracing.Fail(span, errors.New(result+": "+detail))
		f(status, result, detail)
	}
}

// webhookFailer answers failures of a webhook whose kind may still be refined (*kind is
// read when it fails).
func (s *Server) webhookFailer(w http.ResponseWriter, source string, kind *string) failer {
	return func(status int, result, detail string) {
		s.webhookResult(source, *kind, result)
		writeProblem(w, Problem{Type: problemBase + result, Title: http.StatusText(status), Status: status, Detail: detail})
	}
}

// webhookBody reads a webhook body of the given content type, at most webhookBodyLimit
// bytes; on failure it has answered already.
func (s *Server) webhookBody(w http.ResponseWriter, r *http.Request, contentType string, fail failer) ([]byte, bool) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != contentType {
		fail(http.StatusUnsupportedMediaType, "bad_request", "want "+contentType)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhookBodyLimit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		fail(http.StatusRequestEntityTooLarge, "bad_request", "body too large")
		return nil, false
	case err != nil:
		fail(http.StatusBadRequest, "bad_request", "could not read the body")
		return nil, false
	}
	return body, true
}

// pbxMissedCall takes a generic PBX's missed-call notice, signed with the endpoint's
// pbx_secret: X-Signature: sha256=<hex HMAC-SHA256 of the body>.
func (s *Server) pbxMissedCall(w http.ResponseWriter, r *http.Request) {
	const source = "pbx"
	kind := KindMissedCall
	r, span := startWebhookSpan(r, kind)
	defer span.End()
	fail := s.webhookFailer(w, source, &kind).traced(span)
	body, ok := s.webhookBody(w, r, "application/json", fail)
	if !ok {
		return
	}
	in, err := parsePBX(body)
	if err != nil {
		fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	tenantID, secret, err := s.deps.Intake.EndpointOwner(r.Context(), in.To)
	if errors.Is(err, persistence.ErrUnknownNumber) {
		fail(http.StatusNotFound, "unknown_number", "no tenant owns this number")
		return
	}
	if err != nil {
		fail(http.StatusServiceUnavailable, "bad_request", "storage unavailable; retry")
		return
	}
	if secret == "" || !validHMAC(secret, body, r.Header.Get("X-Signature")) {
		fail(http.StatusForbidden, "bad_signature", "missing or wrong X-Signature")
		return
	}
	p := WebhookPayload{From: in.From, To: in.To, CallSid: in.CallID, Status: "no-answer"}
	env, ok := s.store(r, source, kind, "pbx:"+in.CallID, tenantID, p, fail)
	if !ok {
		return
	}
	if env != nil {
		w.Header().Set(CorrelationHeader, env.CorrelationID)
		s.process(r.Context(), *env, p)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "accepted"})
}

// pbxNotice is a PBX's missed-call notice.
type pbxNotice struct {
	CallID  string `json:"call_id"`
	From    string `json:"from"`
	To      string `json:"to"`
	EndedAt string `json:"ended_at"`
}

// parsePBX reads a PBX notice: a JSON object with call_id, from, to (E.164) and ended_at.
func parsePBX(body []byte) (pbxNotice, error) {
	var in pbxNotice
	if err := json.Unmarshal(body, &in); err != nil {
		return in, errors.New("want a JSON object with call_id, from, to and ended_at")
	}
	if in.CallID == "" || len(in.CallID) > 200 || !storable(in.CallID) {
		return in, errors.New("call_id is required (at most 200 characters, no NUL)")
	}
	if msg := tenant.PhoneProblem(in.From); msg != "" {
		return in, errors.New("from " + msg)
	}
	if msg := tenant.PhoneProblem(in.To); msg != "" {
		return in, errors.New("to " + msg)
	}
	return in, nil
}

// validHMAC checks "sha256=<hex>" against the body in constant time.
func validHMAC(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
