// Package jobber is the Jobber side of appointment sync: it carries Ringback's
// appointments into a business's Jobber account over Jobber's GraphQL API (a client
// found or created by phone number, a property, and a job with one visit), reads visits
// back for webhook reconciliation, and checks and parses Jobber's webhooks.
//
// It owns the translation of Jobber's failures into the outcomes sync acts on: THROTTLED
// answers and 429s become sync.RetryAfter, userErrors and other refusals sync.Permanent,
// a refresh token refused for good (or an app the user disconnected) sync.ErrReconnect,
// and everything else (5xx, network, timeouts, 401) a plain error to retry. It never
// retries by itself.
package jobber

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	vsync "ringback/actors/sync"
	"ringback/vendors/oauth"
)

const (
	// DefaultAPIURL is Jobber's GraphQL endpoint.
	DefaultAPIURL = "https://api.getjobber.com/api/graphql"
	// DefaultVersion is the X-JOBBER-GRAPHQL-VERSION sent when Config.Version is empty.
	// Jobber supports a version for 12 months after its successor ships, then silently
	// upgrades requests to the oldest supported one: move this forward deliberately.
	DefaultVersion = "2025-04-16"
	// DefaultTimeout bounds one request when Config.Timeout is zero.
	DefaultTimeout = 30 * time.Second
)

// maxAnswer bounds the answer read from Jobber.
const maxAnswer = 4 << 20

// Config for the client.
type Config struct {
	// APIURL is the GraphQL endpoint (JOBBER_API_URL): DefaultAPIURL by default, or a
	// fake's URL+"/api/graphql".
	APIURL string
	// Version is the API version sent in X-JOBBER-GRAPHQL-VERSION; default DefaultVersion.
	Version string
	// TokenSource gives the connection's access tokens; required. It must cache tokens
	// and persist rotated refresh tokens, as oauth2.Config.TokenSource (plus a store)
	// does: every Token call that refreshes consumes the refresh token.
	TokenSource oauth2.TokenSource
	// HTTPClient's Transport and CheckRedirect carry the requests, under the bearer
	// token; default http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds one request, reading the answer included; a sooner deadline of the
	// caller's ctx wins. Default DefaultTimeout.
	Timeout time.Duration
}

// Client talks to one Jobber account (one connection). It is safe for concurrent use.
type Client struct {
	url, version string
	http         *http.Client
	timeout      time.Duration
}

var _ vsync.Provider = (*Client)(nil)

// New returns a client for cfg. No request is made. It panics without a TokenSource.
func New(cfg Config) *Client {
	if cfg.TokenSource == nil {
		panic("jobber: Config.TokenSource is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		hc.Transport, hc.CheckRedirect = cfg.HTTPClient.Transport, cfg.HTTPClient.CheckRedirect
	}
	hc.Transport = &oauth.Transport{Source: cfg.TokenSource, Base: hc.Transport}
	return &Client{url: cfg.APIURL, version: cfg.Version, http: hc, timeout: cfg.Timeout}
}

// AccountID returns the EncodedId of the connected Jobber account (webhooks name it in
// accountId).
func (c *Client) AccountID(ctx context.Context) (string, error) {
	var out struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if err := c.do(ctx, "account", accountQuery, nil, &out); err != nil {
		return "", err
	}
	return out.Account.ID, nil
}

// Visit returns a visit's schedule as Jobber has it now, for reconciling a VISIT_UPDATE
// or VISIT_DESTROY webhook. cancelled is true when the visit no longer exists (deleted,
// or destroyed by closing its job).
func (c *Client) Visit(ctx context.Context, visitID string) (start, end time.Time, cancelled bool, err error) {
	var out struct {
		Visit *visitNode `json:"visit"`
	}
	if err := c.do(ctx, "visit", visitQuery, map[string]any{"id": visitID}, &out); err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	if out.Visit == nil {
		return time.Time{}, time.Time{}, true, nil
	}
	start, end, err = out.Visit.times()
	return start, end, false, err
}

// GraphQL request and answer envelopes.
type (
	request struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables,omitempty"`
	}
	envelope struct {
		Data       json.RawMessage `json:"data"`
		Errors     []gqlError      `json:"errors"`
		Extensions struct {
			Cost *queryCost `json:"cost"`
		} `json:"extensions"`
	}
	gqlError struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	}
	queryCost struct {
		RequestedQueryCost float64 `json:"requestedQueryCost"`
		ThrottleStatus     struct {
			MaximumAvailable   float64 `json:"maximumAvailable"`
			CurrentlyAvailable float64 `json:"currentlyAvailable"`
			RestoreRate        float64 `json:"restoreRate"`
		} `json:"throttleStatus"`
	}
	// userError is one of a mutation's userErrors: a validation failure, answered with
	// HTTP 200 and no top-level errors.
	userError struct {
		Message string   `json:"message"`
		Path    []string `json:"path"`
	}
)

// do posts one GraphQL operation and decodes its data into out. op names the root field
// in errors.
func (c *Client) do(ctx context.Context, op, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(request{Query: query, Variables: vars})
	if err != nil {
		return vsync.Permanent(fmt.Errorf("jobber: %s: encoding the request: %w", op, err))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return vsync.Permanent(fmt.Errorf("jobber: %s: %w", op, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-JOBBER-GRAPHQL-VERSION", c.version)

	res, err := c.http.Do(req)
	if err != nil {
		return transportError(op, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("jobber: %s: reading the answer: %w", op, err)
	}
	if err := statusError(op, res, raw); err != nil {
		return err
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		// A truncated answer (a proxy, a dropped connection): the operation may have run.
		return fmt.Errorf("jobber: %s: unreadable answer: %w", op, err)
	}
	if len(env.Errors) > 0 {
		return graphQLError(op, env)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return vsync.Permanent(fmt.Errorf("jobber: %s: unexpected data: %w", op, err))
		}
	}
	return nil
}

// transportError classifies a failed round trip. The token source's failures come
// through here: oauth2.Transport returns them, and http.Client wraps them in *url.Error.
func transportError(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode == "invalid_grant" || disconnected(string(re.Body)) {
			return fmt.Errorf("jobber: refreshing the access token: %w: %w", vsync.ErrReconnect, err)
		}
		return fmt.Errorf("jobber: refreshing the access token: %w", err)
	}
	return fmt.Errorf("jobber: %s: %w", op, err)
}

// statusError classifies a non-200 answer.
func statusError(op string, res *http.Response, raw []byte) error {
	status := res.StatusCode
	err := fmt.Errorf("jobber: %s: HTTP %d: %s", op, status, snippet(raw))
	switch {
	case status == http.StatusOK:
		return nil
	case status == http.StatusUnauthorized && disconnected(string(raw)):
		return fmt.Errorf("%w: %w", vsync.ErrReconnect, err)
	case status == http.StatusUnauthorized:
		// An access token refused before its expiry (revoked, or Jobber's clock): the next
		// attempt gets another from the token source once it refreshes.
		return err
	case status == http.StatusTooManyRequests:
		if d, ok := retryAfter(res.Header.Get("Retry-After"), time.Now()); ok {
			return vsync.RetryAfter(err, d)
		}
		return err
	case status >= 500:
		return err
	}
	return vsync.Permanent(err)
}

// graphQLError classifies an answer with top-level errors.
func graphQLError(op string, env envelope) error {
	msgs := make([]string, 0, len(env.Errors))
	transient := true
	for _, e := range env.Errors {
		msgs = append(msgs, e.Message)
		switch e.Extensions.Code {
		case "THROTTLED":
			return throttled(op, env.Extensions.Cost)
		case "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT":
		default:
			transient = false
		}
	}
	err := fmt.Errorf("jobber: %s: %s", op, strings.Join(msgs, "; "))
	switch {
	case disconnected(err.Error()):
		return fmt.Errorf("%w: %w", vsync.ErrReconnect, err)
	case transient:
		return err
	}
	return vsync.Permanent(err)
}

// throttled turns a THROTTLED answer into the wait Jobber's leaky bucket needs to hold
// the request's cost: (requested − available) / restoreRate seconds, at least a second.
func throttled(op string, c *queryCost) error {
	err := fmt.Errorf("jobber: %s: throttled", op)
	wait := time.Second
	if c != nil {
		ts := c.ThrottleStatus
		if ts.MaximumAvailable > 0 && c.RequestedQueryCost > ts.MaximumAvailable {
			// Jobber never resolves a query costing more than the whole bucket.
			return vsync.Permanent(fmt.Errorf("jobber: %s: query cost %.0f exceeds Jobber's maximum %.0f",
				op, c.RequestedQueryCost, ts.MaximumAvailable))
		}
		if ts.RestoreRate > 0 {
			secs := (c.RequestedQueryCost - ts.CurrentlyAvailable) / ts.RestoreRate
			wait = max(wait, time.Duration(math.Ceil(secs*1000))*time.Millisecond)
		}
	}
	return vsync.RetryAfter(err, wait)
}

// rejected turns a mutation's userErrors into a Permanent error keeping their messages.
func rejected(op string, errs []userError) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Message)
	}
	return vsync.Permanent(fmt.Errorf("jobber: %s refused: %s", op, strings.Join(msgs, "; ")))
}

// disconnected reports whether s carries Jobber's answer for an app the user removed
// from their account ("User has disconnected this app from their account…").
func disconnected(s string) bool {
	return strings.Contains(strings.ToLower(s), "disconnected this app")
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now), true
	}
	return 0, false
}

// snippet returns the start of an answer body for an error message.
func snippet(raw []byte) string {
	const n = 200
	s := strings.TrimSpace(string(raw))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

var _ vsync.Reconciler = (*Client)(nil)

// Lookup answers the sync actors' question about an item a webhook named: Jobber's
// visits are the only items we reconcile.
func (c *Client) Lookup(ctx context.Context, kind, itemID string) (vsync.Change, error) {
	if kind != RefVisit {
		return vsync.Change{}, vsync.Permanent(fmt.Errorf("jobber: cannot look up a %q", kind))
	}
	start, end, cancelled, err := c.Visit(ctx, itemID)
	return vsync.Change{Start: start, End: end, Cancelled: cancelled}, err
}
