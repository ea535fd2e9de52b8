package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"ringback/clock"
	"ringback/persistence/pgtest"
	"ringback/secrets"
)

const (
	adminToken = "test-admin-token"
	bookingKey = "test-booking-key-0123456789"
)

// testEngine is a whole engine (HTTP edge, actors, writer) on a fresh database, driven
// through its public HTTP surface.
type testEngine struct {
	t     testing.TB
	eng   *engine
	srv   *httptest.Server
	pool  *pgxpool.Pool
	clock *clock.Fake
}

// monday0600 is a Monday morning in Chicago, far from "now", so tests never depend on the
// real date.
var monday0600 = time.Date(2030, 1, 7, 6, 0, 0, 0, mustZone("America/Chicago"))

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func testBox(t testing.TB) *secrets.Box {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	box, err := secrets.NewBox(base64.StdEncoding.EncodeToString(key))
	require.NoError(t, err)
	return box
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newTestEngine starts an engine on a fresh database with a fake clock at monday0600.
func newTestEngine(t testing.TB) *testEngine {
	t.Helper()
	return newTestEngineOn(t, pgtest.Pool(t), clock.NewFake(monday0600), testBox(t))
}

// newTestEngineOn starts an engine on an existing database: a second engine on the same
// pool is a second process (its own actors) on the same data.
func newTestEngineOn(t testing.TB, pool *pgxpool.Pool, clk *clock.Fake, box *secrets.Box) *testEngine {
	t.Helper()
	eng, err := assemble(Config{AdminToken: adminToken, PublicURL: "http://ringback.test"}, pool, box, quietLog(), clk)
	require.NoError(t, err)
	t.Cleanup(eng.stop)
	return &testEngine{t: t, eng: eng, srv: newServer(t, eng.handler), pool: pool, clock: clk}
}

// newServer serves a handler on loopback until the test ends.
func newServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	// Many goroutines share a bounded set of connections, as real clients do; unbounded,
	// thousands of racing goroutines would exhaust file descriptors, not the engine.
	srv.Client().Transport.(*http.Transport).MaxConnsPerHost = 128
	srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 128
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// do sends a request with the given bearer token and extra headers ("Name: value").
func (e *testEngine) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
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

// apply PUTs a tenant config as YAML and requires success.
func (e *testEngine) apply(yaml string) {
	e.t.Helper()
	id := yamlID(yaml)
	r := e.do(http.MethodPut, "/admin/v1/tenants/"+id, adminToken, yaml, "Content-Type: application/yaml")
	require.Contains(e.t, []int{http.StatusOK, http.StatusCreated}, r.status, "apply: %s", r.body)
}

func yamlID(yaml string) string {
	for _, line := range strings.Split(yaml, "\n") {
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// plumber is a tenant with one technician working 08:00-12:00 and 13:00-17:00 on weekdays
// (Chicago), 90-minute jobs on a 30-minute grid, 10-minute holds.
const plumber = `
id: acme
name: Acme Plumbing
timezone: America/Chicago
endpoints:
  - number: "+15125550100"
    default_service: drain
    send_rate: 50
services:
  - id: drain
    name: Drain cleaning
    duration: 90m
    price: { base: 120, per_hour: 60, currency: USD }
resources:
  - id: mike
    name: Mike
    services: [drain]
    hours:
      mon: ["08:00-12:00", "13:00-17:00"]
      tue: ["08:00-12:00", "13:00-17:00"]
      wed: ["08:00-12:00", "13:00-17:00"]
      thu: ["08:00-12:00", "13:00-17:00"]
      fri: ["08:00-12:00", "13:00-17:00"]
  - id: ana
    name: Ana
    services: [drain]
    hours:
      mon: ["08:00-17:00"]
policies:
  hold_ttl: 10m
  slot_step: 30m
  min_notice: 1h
  horizon: 14d
booking_api_key: "` + bookingKey + `"
`

func at(hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", monday0600.Format("2006-01-02")+" "+hhmm, monday0600.Location())
	if err != nil {
		panic(err)
	}
	return t
}

func (e *testEngine) hold(tenantID, resourceID string, start time.Time, phone string, headers ...string) response {
	e.t.Helper()
	body := map[string]any{"service": "drain", "starts_at": start.Format(time.RFC3339), "customer": map[string]string{"phone": phone}}
	if resourceID != "" {
		body["resource_id"] = resourceID
	}
	return e.do(http.MethodPost, "/api/v1/tenants/"+tenantID+"/reservations", bookingKey, body, headers...)
}

// flush waits until every resource actor's writes are committed: a signal, not a sleep.
func (e *testEngine) flush() {
	e.t.Helper()
	for identity := range e.eng.directory.Live("resource") {
		_, err := e.eng.directory.Request(context.Background(), "resource", identity, flushRequest(), 5*time.Second)
		require.NoError(e.t, err)
	}
}

// liveClaims counts the live claims Postgres holds for a resource.
func (e *testEngine) liveClaims(tenantID, resourceID string) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM fulfillment.claims
		WHERE tenant_id = $1 AND resource_id = $2 AND status IN ('held', 'booked')`, tenantID, resourceID).Scan(&n))
	return n
}
