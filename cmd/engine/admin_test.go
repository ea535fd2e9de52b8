package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"ringback/clock"
	"ringback/persistence/pgtest"
)

func TestAdminAPINeedsTheToken(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	require.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/admin/v1/tenants/acme", "", nil).status)
	require.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/admin/v1/tenants/acme", adminToken+"x", nil).status)
	require.Equal(t, http.StatusNotFound, e.do(http.MethodGet, "/admin/v1/tenants/acme", adminToken, nil).status)

	// Without ADMIN_TOKEN the admin API is closed, not open.
	closed, err := assemble(Config{PublicURL: "http://ringback.test"}, e.pool, testBox(t), quietLog(), clock.NewFake(monday0600))
	require.NoError(t, err)
	defer closed.stop()
	rec := newRecorder(closed.handler, http.MethodGet, "/admin/v1/tenants/acme", "")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
}

func TestApplyIsIdempotentAndRedactsSecrets(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	withConn := plumber + `connections:
  - id: acme-google
    provider: google
    credentials: { refresh_token: "google-refresh-secret" }
`
	r := e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, withConn, "Content-Type: application/yaml")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	require.Equal(t, true, r.json(t)["changed"])

	r = e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, withConn, "Content-Type: application/yaml")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, false, r.json(t)["changed"], "the same file twice is a no-op")
	require.Equal(t, float64(1), r.json(t)["version"])

	// GET shows no secret; the stored rows hold none in clear either.
	r = e.do(http.MethodGet, "/admin/v1/tenants/acme", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.body), "google-refresh-secret")
	require.NotContains(t, string(r.body), bookingKey)
	require.Contains(t, string(r.body), `"refresh_token":"\u003credacted\u003e"`)
	var leaks int
	require.NoError(t, e.pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM fulfillment.tenants WHERE config::text LIKE '%google-refresh-secret%' OR config::text LIKE '%`+bookingKey+`%')
		     + (SELECT count(*) FROM fulfillment.connections WHERE position('google-refresh-secret'::bytea IN credentials) > 0)`).Scan(&leaks))
	require.Zero(t, leaks)

	// GET → PUT round trip (redacted values sent back) keeps the secrets and changes nothing.
	r = e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, r.body)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, false, r.json(t)["changed"])
	r = e.do(http.MethodGet, "/api/v1/tenants/acme/availability?service=drain&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z", bookingKey, nil)
	require.Equal(t, http.StatusOK, r.status, "the booking key survived the round trip")

	// YAML out on request.
	r = e.do(http.MethodGet, "/admin/v1/tenants/acme", adminToken, nil, "Accept: application/yaml")
	require.Equal(t, "application/yaml", r.header.Get("Content-Type"))
	require.Contains(t, string(r.body), "timezone: America/Chicago")
}

func TestApplyRefusesBadInputWithFieldPathsAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)

	cases := []struct {
		name, body, field string
	}{
		{"bad zone", strings.Replace(plumber, "America/Chicago", "Mars/Olympus", 1), "timezone"},
		{"bad duration", strings.Replace(plumber, "hold_ttl: 10m", "hold_ttl: ten", 1), "policies.hold_ttl"},
		{"overlapping hours", strings.Replace(plumber, `mon: ["08:00-17:00"]`, `mon: ["08:00-12:00", "11:00-17:00"]`, 1), "resources[1].hours.mon[1]"},
		{"unknown service", strings.Replace(plumber, "services: [drain]\n    hours:\n      mon: [\"08:00-17:00\"]", "services: [roof]\n    hours:\n      mon: [\"08:00-17:00\"]", 1), "resources[1].services[0]"},
		{"not E.164", strings.Replace(plumber, "+15125550100", "5125550100", 1), "endpoints[0].number"},
	}
	for _, c := range cases {
		r := e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, c.body, "Content-Type: application/yaml")
		require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s: %s", c.name, r.body)
		require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		require.Contains(t, string(r.body), `"field":"`+c.field+`"`, c.name)
	}
	r := e.do(http.MethodGet, "/admin/v1/tenants/acme", adminToken, nil)
	require.Contains(t, string(r.body), "America/Chicago", "nothing was applied")

	// A number another tenant owns is refused.
	other := strings.Replace(strings.Replace(plumber, "id: acme", "id: other", 1), "Acme", "Other", 1)
	r = e.do(http.MethodPut, "/admin/v1/tenants/other", adminToken, other, "Content-Type: application/yaml")
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Contains(t, string(r.body), `"field":"endpoints[0].number"`)
	require.Equal(t, http.StatusNotFound, e.do(http.MethodGet, "/admin/v1/tenants/other", adminToken, nil).status, "nothing half-applied")

	// Path and body must agree on the tenant.
	r = e.do(http.MethodPut, "/admin/v1/tenants/someone-else", adminToken, plumber, "Content-Type: application/yaml")
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Contains(t, string(r.body), `"field":"id"`)

	// Wrong content type.
	r = e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, "id=acme", "Content-Type: application/x-www-form-urlencoded")
	require.Equal(t, http.StatusUnsupportedMediaType, r.status)
}

func TestRemovingAResourceWithFutureAppointmentsIsRefused(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)
	r := e.hold("acme", "ana", at("09:00"), "+15125550199")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+r.json(t)["id"].(string)+"/confirm", bookingKey, nil)
	require.Equal(t, http.StatusCreated, r.status)
	e.flush()

	withoutAna := plumber[:strings.Index(plumber, "  - id: ana")] + plumber[strings.Index(plumber, "policies:"):]
	r = e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, withoutAna, "Content-Type: application/yaml")
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	require.Contains(t, string(r.body), `resource \"ana\" cannot be removed`)

	// Removing Mike, who has nothing booked, is fine.
	withoutMike := plumber[:strings.Index(plumber, "  - id: mike")] + plumber[strings.Index(plumber, "  - id: ana"):]
	r = e.do(http.MethodPut, "/admin/v1/tenants/acme", adminToken, withoutMike, "Content-Type: application/yaml")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = e.hold("acme", "mike", at("13:00"), "+15125550199")
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "a removed resource takes no holds: %s", r.body)
}

// TestReadyzFollowsThePostgresConnection cuts the engine's only path to Postgres (a TCP
// proxy on loopback) and restores it.
func TestReadyzFollowsThePostgresConnection(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	require.NoError(t, err)
	proxy := newTCPProxy(t, net.JoinHostPort(cfg.ConnConfig.Host, itoa(cfg.ConnConfig.Port)))
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = "127.0.0.1", proxy.port()
	cfg.ConnConfig.RuntimeParams["search_path"] = ""
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	defer pool.Close()
	e := newTestEngineOn(t, pool, clock.NewFake(monday0600), testBox(t))

	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/readyz", "", nil).status)
	proxy.cut()
	r := e.do(http.MethodGet, "/readyz", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.body)
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/healthz", "", nil).status, "the process still lives")
	proxy.restore()
	// Each failed probe drops one broken pooled connection; within the pool's size the
	// engine is ready again by itself.
	ready := false
	for range 20 {
		if e.do(http.MethodGet, "/readyz", "", nil).status == http.StatusOK {
			ready = true
			break
		}
	}
	require.True(t, ready, "readyz must recover once Postgres is reachable again")
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// tcpProxy forwards loopback connections to a target and can cut them all.
type tcpProxy struct {
	t      *testing.T
	target string
	ln     net.Listener
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{t: t, target: target, ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *tcpProxy) port() uint16 { return uint16(p.ln.Addr().(*net.TCPAddr).Port) }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// cut closes every proxied connection and refuses new ones.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func newRecorder(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
