package http

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"ringback/analytics"
	"ringback/persistence"
	"ringback/persistence/pgtest"
	"ringback/tenant"
)

// knownTenants is a TenantStore that knows some tenant ids.
type knownTenants map[string]bool

func (k knownTenants) Apply(context.Context, *tenant.Config) (tenant.ApplyResult, error) {
	return tenant.ApplyResult{}, nil
}

func (k knownTenants) Get(_ context.Context, id string) (*tenant.Config, int64, error) {
	if !k[id] {
		return nil, 0, tenant.ErrNotFound
	}
	return &tenant.Config{ID: id}, 1, nil
}

// pagedEvents is an EventExport over a fixed list, recording what it was asked.
type pagedEvents struct {
	events []analytics.Event
	asked  []int64 // since, limit of the last call
}

func (p *pagedEvents) Export(_ context.Context, tenantID string, since int64, limit int) ([]analytics.Event, error) {
	p.asked = []int64{since, int64(limit)}
	var out []analytics.Event
	for _, e := range p.events {
		if e.TenantID == tenantID && e.Seq > since && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

const testAdminToken = "admin-secret"

func eventsServer(t *testing.T, events EventExport) *httptest.Server {
	t.Helper()
	s := NewServer(Config{AdminToken: testAdminToken}, Deps{
		Log:      slog.New(slog.DiscardHandler),
		Tenants:  knownTenants{"acme": true},
		Registry: prometheus.NewRegistry(),
		Events:   events,
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func getEvents(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

func lines(t *testing.T, body string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %q", sc.Text())
		out = append(out, m)
	}
	return out
}

func TestEventExportAnswersJSONLinesAfterSince(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	store := &pagedEvents{}
	for i, tenantID := range []string{"acme", "bravo", "acme", "acme"} {
		store.events = append(store.events, analytics.Event{Seq: int64(i + 1), TenantID: tenantID, Kind: analytics.HoldPlaced,
			OccurredAt: at, Subject: "h", Data: json.RawMessage(`{"resource_id":"tech-mike"}`)})
	}
	srv := eventsServer(t, store)

	res, body := getEvents(t, srv, "/admin/v1/tenants/acme/events?since=1&limit=1")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Equal(t, "application/x-ndjson", res.Header.Get("Content-Type"))
	require.Equal(t, "3", res.Header.Get("X-Next-Since"))
	require.Equal(t, []int64{1, 1}, store.asked)
	got := lines(t, body)
	require.Len(t, got, 1)
	require.Equal(t, map[string]any{"seq": 3.0, "tenant_id": "acme", "kind": "hold.placed", "occurred_at": "2030-01-07T09:00:00Z",
		"subject": "h", "data": map[string]any{"resource_id": "tech-mike"}}, got[0])

	res, body = getEvents(t, srv, "/admin/v1/tenants/acme/events")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Equal(t, []int64{0, 1000}, store.asked, "since defaults to 0 and limit to 1000")
	require.Len(t, lines(t, body), 3)
	require.Equal(t, "4", res.Header.Get("X-Next-Since"))

	res, body = getEvents(t, srv, "/admin/v1/tenants/acme/events?since=4&limit=10000")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Empty(t, body)
	require.Equal(t, "4", res.Header.Get("X-Next-Since"), "caught up: the next since is the one given")
}

func TestEventExportRefusesBadInput(t *testing.T) {
	t.Parallel()
	srv := eventsServer(t, &pagedEvents{})
	cases := []struct {
		query, field string
	}{
		{"since=-1", "since"},
		{"since=abc", "since"},
		{"since=1.5", "since"},
		{"limit=0", "limit"},
		{"limit=10001", "limit"},
		{"limit=ten", "limit"},
	}
	for _, c := range cases {
		res, body := getEvents(t, srv, "/admin/v1/tenants/acme/events?"+c.query)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "%s: %s", c.query, body)
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
		var p Problem
		require.NoError(t, json.Unmarshal([]byte(body), &p))
		require.Len(t, p.Errors, 1, c.query)
		require.Equal(t, c.field, p.Errors[0].Field, c.query)
	}

	res, body := getEvents(t, srv, "/admin/v1/tenants/nobody/events")
	require.Equal(t, http.StatusNotFound, res.StatusCode, body)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))

	res, err := srv.Client().Get(srv.URL + "/admin/v1/tenants/acme/events")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "the export is an admin route")
}

// TestEventExportPagesThroughTheRealStore follows X-Next-Since through a log in Postgres.
func TestEventExportPagesThroughTheRealStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := persistence.NewAnalytics(pgtest.Pool(t))
	var events []analytics.Event
	for i, tenantID := range []string{"acme", "bravo", "acme", "acme", "bravo", "acme", "acme"} {
		events = append(events, analytics.Event{TenantID: tenantID, Kind: analytics.MissedCallReceived, OccurredAt: time.Now(),
			Subject: tenantID + string(rune('a'+i)), Data: analytics.MissedCallData{Endpoint: "+15125550100", Source: "pbx"}})
	}
	require.NoError(t, store.InsertBatch(ctx, events))
	srv := eventsServer(t, store)

	var subjects []string
	since := "0"
	for range 10 {
		res, body := getEvents(t, srv, "/admin/v1/tenants/acme/events?limit=2&since="+since)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		page := lines(t, body)
		for _, l := range page {
			subjects = append(subjects, l["subject"].(string))
			require.Equal(t, map[string]any{"endpoint": "+15125550100", "source": "pbx"}, l["data"])
		}
		since = res.Header.Get("X-Next-Since")
		if len(page) < 2 {
			break
		}
	}
	require.Equal(t, []string{"acmea", "acmec", "acmed", "acmef", "acmeg"}, subjects)
}

func TestEventExportWithoutAnEventLog(t *testing.T) {
	t.Parallel()
	srv := eventsServer(t, nil)
	res, body := getEvents(t, srv, "/admin/v1/tenants/acme/events")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, body)
}
