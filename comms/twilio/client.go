// Package twilio is the Twilio side of the Comms adapter: it sends SMS through Twilio's
// REST API (with twilio-go) and signs and checks X-Twilio-Signature for webhooks.
//
// It owns the translation of Twilio's failures into the few outcomes the outbox acts on:
// the recipient opted out, the recipient is invalid, the request was refused for good, or
// the send may be tried again (and whether the message may already have gone out). It
// never retries by itself; retries, backoff and reconciliation belong to the caller.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// DefaultAPIURL is Twilio's production REST API, the base URL twilio-go has built in.
const DefaultAPIURL = "https://api.twilio.com"

// DefaultTimeout bounds one send when Config.Timeout is zero; it is twilio-go's own default.
const DefaultTimeout = 10 * time.Second

// apiHost is the host twilio-go addresses every v2010 request to. It has no setter, so
// the transport rewrites it (see rewriteTransport).
const apiHost = "api.twilio.com"

// twilio-go refuses credentials outside this set with a client-side 21222/21224 error
// before any I/O, so New rejects them up front instead of failing every send.
var alphanumeric = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

// Config for the client.
type Config struct {
	// AccountSID ("AC…") and AuthToken authenticate with HTTP Basic auth. Both are required
	// and must be alphanumeric (a twilio-go restriction).
	AccountSID, AuthToken string
	// APIURL is the base URL of the REST API: DefaultAPIURL (the default) or a fake's URL,
	// optionally with a path prefix under which the fake is mounted.
	APIURL string
	// Timeout bounds one Send, connecting and reading the answer included; a sooner
	// deadline of the caller's ctx wins. Default DefaultTimeout.
	Timeout time.Duration
}

// Client sends SMS through one Twilio account. It is safe for concurrent use.
type Client struct {
	accountSID string
	authToken  string
	timeout    time.Duration
	// base carries every request: a per-Client connection pool, behind the host rewrite
	// when APIURL is not Twilio's own.
	base http.RoundTripper
	pool *http.Transport
}

// New validates cfg and returns a client. No request is made.
func New(cfg Config) (*Client, error) {
	if !alphanumeric.MatchString(cfg.AccountSID) {
		return nil, errors.New("twilio: account SID must be non-empty and alphanumeric")
	}
	if !alphanumeric.MatchString(cfg.AuthToken) {
		return nil, errors.New("twilio: auth token must be non-empty and alphanumeric")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("twilio: negative timeout %v", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	target, err := url.Parse(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("twilio: API URL: %w", err)
	}
	if (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" ||
		target.RawQuery != "" || target.Fragment != "" || target.User != nil {
		return nil, fmt.Errorf("twilio: API URL %q: want http(s)://host[:port][/prefix]", cfg.APIURL)
	}

	pool := newPool()
	c := &Client{
		accountSID: cfg.AccountSID,
		authToken:  cfg.AuthToken,
		timeout:    cfg.Timeout,
		base:       pool,
		pool:       pool,
	}
	target.Path = strings.TrimSuffix(target.Path, "/")
	target.RawPath = ""
	if target.Scheme != "https" || target.Host != apiHost || target.Path != "" {
		c.base = &rewriteTransport{target: target, base: pool}
	}
	return c, nil
}

// newPool returns a connection pool of the Client's own, so Close releases only its
// connections. Bursts of auto-replies reuse connections rather than redialling, hence
// more idle connections per host than net/http's default of two.
func newPool() *http.Transport {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	t.MaxIdleConnsPerHost = 16
	return t
}

// Close releases idle connections. The client stays usable: a later Send dials anew.
func (c *Client) Close() { c.pool.CloseIdleConnections() }

// Message is one SMS to send.
type Message struct {
	From, To, Body string
	// StatusCallback is the URL Twilio posts delivery receipts to; empty for none.
	StatusCallback string
}

// Sent is Twilio's acknowledgement of an accepted message.
type Sent struct {
	SID    string // "SM…": the key of later status callbacks
	Status string // "queued" (or "accepted" with a Messaging Service); never final
}

// Send creates one message through twilio-go's Api.CreateMessage (v2010) with To, From,
// Body and StatusCallback. It never retries: the caller's outbox does, guided by the
// returned error (see SendError, IsRetryable and Ambiguous). Every failure is a *SendError.
//
// ctx cancels the request and its deadline bounds it, together with Config.Timeout.
// twilio-go builds requests with context.Background and takes no context, so each Send
// gives twilio-go an http.Client of its own whose transport attaches ctx to the request;
// the connection pool stays shared.
func (c *Client) Send(ctx context.Context, m Message) (Sent, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	ex := &exchange{ctx: ctx, base: c.base}
	defer ex.closeBody()
	tc := &client.Client{
		Credentials: client.NewCredentials(c.accountSID, c.authToken),
		HTTPClient: &http.Client{
			Transport: ex,
			// A redirect from the Messages endpoint is not a success; show it as the
			// error it is instead of re-POSTing elsewhere (twilio-go's default too).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	// twilio-go fills {AccountSid} in the request path from this, which a hand-made
	// client.Client leaves empty (credentials alone do not set it).
	tc.SetAccountSid(c.accountSID)
	// A RequestHandler built by hand, not NewRequestHandler: that one reads TWILIO_EDGE
	// and TWILIO_REGION from the environment and would redirect requests to
	// api.{edge}.{region}.twilio.com, past the host rewrite. APIURL alone decides.
	svc := api.NewApiService(&client.RequestHandler{Client: tc})

	p := &api.CreateMessageParams{}
	p.SetTo(m.To).SetFrom(m.From).SetBody(m.Body)
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}
	msg, err := svc.CreateMessage(p)
	if err != nil {
		return Sent{}, classify(m.To, ex, err)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		return Sent{}, classify(m.To, ex, errors.New("response carries no message SID"))
	}
	s := Sent{SID: *msg.Sid}
	if msg.Status != nil {
		s.Status = *msg.Status
	}
	return s, nil
}

// CorrelationHeader carries the correlation id of a send to the provider (and its logs).
const CorrelationHeader = "X-Correlation-Id"

type correlationKey struct{}

// WithCorrelationID returns ctx carrying the correlation id of the webhook behind a send;
// Send passes it to Twilio as the X-Correlation-Id request header. twilio-go has no header
// hook and builds its requests with context.Background, so the id travels in the ctx Send
// hands to its per-call transport.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

func correlationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// exchange is the transport of one Send. It attaches the caller's ctx to the request and
// records what happened on the wire, which twilio-go's errors do not tell: whether the
// request was written in full (else Twilio cannot have acted on it) and which HTTP status
// came back (a non-JSON error body loses it).
type exchange struct {
	ctx  context.Context
	base http.RoundTripper

	wrote  atomic.Bool // set from the transport's writer goroutine
	status int         // set by RoundTrip, which runs on the Send goroutine
	body   io.Closer
}

func (e *exchange) RoundTrip(r *http.Request) (*http.Response, error) {
	if id := correlationID(e.ctx); id != "" {
		// A RoundTripper must not change the caller's request: its own header map.
		h := r.Header.Clone()
		h.Set(CorrelationHeader, id)
		r = r.WithContext(r.Context())
		r.Header = h
	}
	ctx := httptrace.WithClientTrace(e.ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				e.wrote.Store(true)
			}
		},
	})
	res, err := e.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	e.status = res.StatusCode
	e.body = res.Body
	return res, nil
}

// closeBody closes the response body if twilio-go left it open: it never closes the body
// of an error response.
func (e *exchange) closeBody() {
	if e.body != nil {
		_ = e.body.Close()
	}
}

// rewriteTransport sends requests addressed to api.twilio.com to target instead: twilio-go
// hard-codes that base URL in every ApiService and offers no setter.
type rewriteTransport struct {
	target *url.URL // scheme, host and optional path prefix (no trailing slash)
	base   http.RoundTripper
}

func (t *rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != apiHost {
		return t.base.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme = t.target.Scheme
	r2.URL.Host = t.target.Host
	r2.URL.Path = t.target.Path + r.URL.Path
	r2.URL.RawPath = ""
	r2.Host = ""
	return t.base.RoundTrip(r2)
}
