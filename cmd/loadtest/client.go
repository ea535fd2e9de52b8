package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"ringback/comms/twilio"
)

// requestTimeout bounds every request the harness makes.
const requestTimeout = 30 * time.Second

// newHTTPClient returns a client that keeps enough idle connections to the engine for an
// open-loop generator (every call in flight holds one).
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only: never through a proxy
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// statusError is an answer with an unexpected HTTP status.
type statusError struct {
	op     string
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.op, e.status, e.body)
}

// errorKind names an error for the report's "errors by kind": the operation and what went
// wrong, without the details that differ per request.
func errorKind(op string, err error) string {
	var se *statusError
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s: HTTP %d", op, se.status)
	case errors.As(err, &pe):
		return fmt.Sprintf("%s: postgres %s %s", op, pe.Code, pgerrcode.Name(pe.Code))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return op + ": timeout"
	case errors.Is(err, context.Canceled):
		return op + ": cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return op + ": connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return op + ": connection reset"
	}
	return op + ": transport error"
}

// carrier plays Twilio: it posts webhooks signed as Twilio signs them, over PUBLIC_URL plus
// the path with the auth token (comms/twilio.Sign, as `engine simulate` does).
type carrier struct {
	base       string // where the requests go
	public     string // PUBLIC_URL the signature covers
	token      string
	accountSID string
	client     *http.Client
	tag        string // per run, so SIDs never repeat across runs on one database
	seq        atomic.Uint64
}

// sid returns a new Twilio SID: a prefix and 32 hex digits.
func (c *carrier) sid(prefix string) string {
	return fmt.Sprintf("%s%s%016x", prefix, c.tag, c.seq.Add(1))
}

func (c *carrier) post(ctx context.Context, op, path string, form url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(c.token, c.public+path, form))
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusError{op: op, status: resp.StatusCode, body: strings.TrimSpace(string(body))}
	}
	return nil
}

// missedCall posts the voice status callback of an unanswered call from `from` to `to`.
func (c *carrier) missedCall(ctx context.Context, from, to string) error {
	return c.post(ctx, "missed-call webhook", "/webhooks/twilio/voice", url.Values{
		"AccountSid": {c.accountSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {c.sid("CA")},
		"CallStatus": {"no-answer"}, "Direction": {"inbound"}, "From": {from}, "To": {to},
	})
}

// sms posts an inbound SMS from the customer `from` to the business number `to`.
func (c *carrier) sms(ctx context.Context, from, to, body string) error {
	return c.post(ctx, "sms webhook", "/webhooks/twilio/sms", url.Values{
		"AccountSid": {c.accountSID}, "ApiVersion": {"2010-04-01"}, "MessageSid": {c.sid("SM")},
		"From": {from}, "To": {to}, "Body": {body}, "NumMedia": {"0"},
	})
}

// bookingClient calls the booking API of one engine with a tenant's key.
type bookingClient struct {
	base   string
	key    string
	client *http.Client
}

// reserveAnswer is the outcome of a reservation attempt.
type reserveAnswer struct {
	status int    // 201, 409, …
	id     string // the reservation id when 201
}

// reserve posts a reservation; any status is an answer, only transport failures are errors.
func (b *bookingClient) reserve(ctx context.Context, tenantID, resourceID, service string, start time.Time, phone, idemKey string) (reserveAnswer, error) {
	body, _ := json.Marshal(map[string]any{"service": service, "resource_id": resourceID,
		"starts_at": start.UTC().Format(time.RFC3339), "customer": map[string]string{"phone": phone}})
	status, out, err := b.do(ctx, http.MethodPost, "/api/v1/tenants/"+tenantID+"/reservations", body, idemKey)
	if err != nil {
		return reserveAnswer{}, err
	}
	a := reserveAnswer{status: status}
	if status == http.StatusCreated {
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(out, &r); err != nil || r.ID == "" {
			return a, fmt.Errorf("reserve: unreadable 201 answer: %q", truncate(string(out), 200))
		}
		a.id = r.ID
	}
	return a, nil
}

// confirm confirms a reservation and returns the status (201 booked, 410 gone, …).
func (b *bookingClient) confirm(ctx context.Context, tenantID, id string) (int, error) {
	status, _, err := b.do(ctx, http.MethodPost, "/api/v1/tenants/"+tenantID+"/reservations/"+id+"/confirm", nil, "")
	return status, err
}

func (b *bookingClient) do(ctx context.Context, method, path string, body []byte, idemKey string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b)
}
