package main

// Tests of the observability surface against the real tools: promtool lints the live
// /metrics and the alert rules, a real Prometheus scrapes a test engine, and the Grafana
// dashboards and alerts may only name metrics the engine registers. The binaries come
// from PROMTOOL / PROMETHEUS, PATH or /usr/bin; scripts/prom.sh installs them.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"ringback/clock"
	"ringback/metrics"
	"ringback/persistence/pgtest"
)

const (
	deployDir     = "../../deploy"
	alertsFile    = deployDir + "/prometheus/alerts.yml"
	dashboardGlob = deployDir + "/grafana/dashboards/*.json"
)

// promBinary finds promtool or prometheus. Missing is a failure, not a skip: CI runs
// scripts/prom.sh first.
func promBinary(t *testing.T, name, envVar string) string {
	t.Helper()
	executable := func(p string) bool { fi, err := os.Stat(p); return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 }
	if p := os.Getenv(envVar); p != "" {
		if !executable(p) {
			t.Fatalf("%s=%s is not an executable: unset it and run scripts/prom.sh", envVar, p)
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/bin", name); executable(p) {
		return p
	}
	t.Fatalf("%s not found on PATH or in /usr/bin: run scripts/prom.sh (it installs Debian's prometheus package), or set %s", name, envVar)
	return ""
}

// promtool runs promtool with args in dir and returns its combined output; it fails the
// test unless promtool succeeds.
func promtool(t *testing.T, dir string, stdin io.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command(promBinary(t, "promtool", "PROMTOOL"), args...)
	cmd.Dir, cmd.Stdin = dir, stdin
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// newBusyEngine is an SMS engine that has served one whole booking over SMS (a missed
// call, "1", "YES") and refreshed the sync backlog, so most series have values.
func newBusyEngine(t *testing.T) *smsEngine {
	t.Helper()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	for _, body := range []string{"", "1", "YES"} {
		if body == "" {
			require.Equal(t, http.StatusOK, e.missedCall(customer).status)
		} else {
			require.Equal(t, http.StatusOK, e.sms(customer, body).status)
		}
		e.settle(customer)
	}
	require.Len(t, e.texts(customer), 3)
	require.NoError(t, e.eng.sync.UpdateBacklog(context.Background()))
	return e
}

func (e *smsEngine) scrape() string {
	e.t.Helper()
	r := e.do(http.MethodGet, "/metrics", "", nil)
	require.Equal(e.t, http.StatusOK, r.status)
	return string(r.body)
}

// autoSMSCount is what the engine's histogram holds for tenant.
func (e *smsEngine) autoSMSCount(tenant string) uint64 {
	e.t.Helper()
	var m dto.Metric
	require.NoError(e.t, e.eng.metrics.AutoSMSLatency.WithLabelValues(tenant).(prometheus.Histogram).Write(&m))
	return m.GetHistogram().GetSampleCount()
}

func TestMetricsEndpointPassesPromtool(t *testing.T) {
	t.Parallel()
	e := newBusyEngine(t)
	body := e.scrape()
	for _, name := range []string{
		"ringback_auto_sms_latency_seconds_count", "ringback_bookings_total", "ringback_sms_deliveries_total",
		"ringback_actor_messages_total", "ringback_actor_message_seconds_bucket", "ringback_actor_mailbox_messages",
		"ringback_db_pool_acquired_connections", "ringback_db_pool_acquires_total", "ringback_sync_backlog",
	} {
		require.Contains(t, body, "\n"+name, "the scrape lacks %s", name)
	}
	out := promtool(t, ".", strings.NewReader(body), "check", "metrics")
	require.Empty(t, strings.TrimSpace(out), "promtool check metrics must report nothing")
}

func TestMetricsTenantLabelsSwitch(t *testing.T) {
	t.Parallel()
	for v, all := range map[string]bool{"": false, "true": false, "1": false, "false": true, "0": true} {
		c, err := loadConfig(env(map[string]string{"METRICS_TENANT_LABELS": v}))
		require.NoError(t, err)
		require.Equal(t, all, c.MetricsAllTenants, "METRICS_TENANT_LABELS=%q", v)
	}
	_, err := loadConfig(env(map[string]string{"METRICS_TENANT_LABELS": "per-tenant"}))
	require.Error(t, err)

	eng, err := assemble(Config{MetricsAllTenants: true, PublicURL: "http://ringback.test"}, pgtest.Pool(t), testBox(t), quietLog(), clock.NewFake(monday0600))
	require.NoError(t, err)
	t.Cleanup(eng.stop)
	require.Equal(t, metrics.AllTenants, eng.metrics.Tenant("acme"))
}

// TestPrometheusScrapesTheEngine runs a real Prometheus against a test engine and reads
// the auto-SMS latency count back through its query API.
func TestPrometheusScrapesTheEngine(t *testing.T) {
	t.Parallel()
	e := newBusyEngine(t)
	want := e.autoSMSCount("acme")
	require.Equal(t, uint64(1), want, "one missed call, one auto-reply")

	target, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	prom := startPrometheus(t, target.Host)

	var got []promSample
	deadline := time.Now().Add(60 * time.Second) // Prometheus's first scrape, not an actor
	for {
		got = prom.query(`ringback_auto_sms_latency_seconds_count{job="ringback"}`)
		if len(got) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Len(t, got, 1, "Prometheus never scraped the engine; its log:\n%s", prom.log.String())
	require.Equal(t, "acme", got[0].Metric["tenant"])
	require.Equal(t, target.Host, got[0].Metric["instance"])
	require.Equal(t, float64(want), got[0].Value)
}

type promSample struct {
	Metric map[string]string
	Value  float64
}

type prometheusServer struct {
	t    *testing.T
	base string
	log  *syncBuffer
}

// syncBuffer is Prometheus's output: written by exec's copying goroutine, read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startPrometheus starts Prometheus on a free loopback port (it cannot listen on :0),
// scraping target every second, and waits until it is ready. A port taken between
// choosing and binding it makes Prometheus exit; then another port is tried.
func startPrometheus(t *testing.T, target string) *prometheusServer {
	t.Helper()
	bin := promBinary(t, "prometheus", "PROMETHEUS")
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ringback
    static_configs:
      - targets: [%q]
`, target)), 0o644))
	var log *syncBuffer
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeLoopbackAddr(t)
		log = &syncBuffer{}
		cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, fmt.Sprint("data", attempt)),
			"--web.listen-address="+addr, "--log.level=warn")
		cmd.Stdout, cmd.Stderr = log, log
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if waitReady("http://"+addr+"/-/ready", exited) {
			t.Cleanup(stop)
			return &prometheusServer{t: t, base: "http://" + addr, log: log}
		}
		stop()
	}
	t.Fatalf("prometheus did not start; its log:\n%s", log.String())
	return nil
}

// waitReady polls Prometheus's readiness endpoint (an external process: a bounded poll,
// not a sleep on actors) until it answers 200, or it exits, or 30 s pass.
func waitReady(readyURL string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := http.Get(readyURL); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// query runs an instant query and returns its vector.
func (p *prometheusServer) query(q string) []promSample {
	p.t.Helper()
	resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	require.NoError(p.t, err)
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(p.t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(p.t, "success", body.Status, "query %s: %s", q, body.Error)
	require.Equal(p.t, "vector", body.Data.ResultType)
	out := make([]promSample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		require.NoError(p.t, err)
		out = append(out, promSample{Metric: r.Metric, Value: v})
	}
	return out
}

func TestAlertRulesPassPromtool(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(deployDir, "prometheus")
	require.Contains(t, promtool(t, dir, nil, "check", "rules", "alerts.yml"), "SUCCESS")
	// The unit tests show each alert firing on a bad series and silent on a good one.
	require.Contains(t, promtool(t, dir, nil, "test", "rules", "alerts_test.yml"), "SUCCESS")
	require.Contains(t, promtool(t, dir, nil, "check", "config", "prometheus.yml"), "SUCCESS")
}

// grafanaDashboard is the part of Grafana's dashboard JSON the checks read.
type grafanaDashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource *grafanaDatasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		RefID      string             `json:"refId"`
		Expr       string             `json:"expr"`
		Datasource *grafanaDatasource `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

type grafanaDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// grafanaVariables are replaced by example values so that promtool can parse the exprs.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$__interval", "1m",
	"${tenant}", ".*", "$tenant", ".*")

// TestDashboardsAndAlertsNameOnlyEngineMetrics: each dashboard is Grafana JSON with a
// Prometheus data source variable that every query uses; every expr parses (promtool);
// and every ringback_* metric a dashboard or an alert names is one the engine exposes.
func TestDashboardsAndAlertsNameOnlyEngineMetrics(t *testing.T) {
	t.Parallel()
	known := engineMetricNames(t, newBusyEngine(t).scrape())

	files, err := filepath.Glob(dashboardGlob)
	require.NoError(t, err)
	require.Len(t, files, 3, "auto-SMS latency, bookings, SMS delivery")
	exprs := map[string][]string{} // file → exprs
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var d grafanaDashboard
		require.NoError(t, json.Unmarshal(raw, &d), f)
		require.NotEmpty(t, d.UID, f)
		require.NotEmpty(t, d.Title, f)
		require.Positive(t, d.SchemaVersion, f)
		hasDatasourceVar := false
		for _, v := range d.Templating.List {
			if v.Type == "datasource" && v.Query == "prometheus" && v.Name == "datasource" {
				hasDatasourceVar = true
			}
		}
		require.True(t, hasDatasourceVar, "%s: no Prometheus data source variable named datasource", f)
		ids := map[int]bool{}
		var walk func([]grafanaPanel)
		walk = func(ps []grafanaPanel) {
			for _, p := range ps {
				require.False(t, ids[p.ID], "%s: panel id %d twice", f, p.ID)
				ids[p.ID] = true
				require.True(t, p.GridPos.W > 0 && p.GridPos.X+p.GridPos.W <= 24, "%s: panel %q is off the 24-column grid", f, p.Title)
				walk(p.Panels)
				if p.Type == "row" {
					continue
				}
				require.Equal(t, &grafanaDatasource{Type: "prometheus", UID: "${datasource}"}, p.Datasource, "%s: panel %q", f, p.Title)
				require.NotEmpty(t, p.Targets, "%s: panel %q has no query", f, p.Title)
				for _, q := range p.Targets {
					require.NotEmpty(t, q.RefID, "%s: panel %q", f, p.Title)
					require.NotEmpty(t, q.Expr, "%s: panel %q", f, p.Title)
					require.Equal(t, p.Datasource, q.Datasource, "%s: panel %q", f, p.Title)
					exprs[f] = append(exprs[f], q.Expr)
				}
			}
		}
		walk(d.Panels)
	}

	// Every dashboard expr must parse: promtool checks them as recording rules.
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	n := 0
	for _, f := range files {
		for _, e := range exprs[f] {
			q, _ := json.Marshal(grafanaVariables.Replace(e)) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: dashboard_expr_%d\n        expr: %s\n", n, q)
			n++
		}
	}
	rulesFile := filepath.Join(t.TempDir(), "dashboards.yml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(rules.String()), 0o644))
	promtool(t, ".", nil, "check", "rules", rulesFile)

	// The alerts' exprs, read as Prometheus reads them.
	raw, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	var alerts struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &alerts))
	for _, g := range alerts.Groups {
		for _, r := range g.Rules {
			exprs[alertsFile] = append(exprs[alertsFile], r.Expr)
		}
	}
	require.NotEmpty(t, exprs[alertsFile])

	for f, es := range exprs {
		named := 0
		for _, e := range es {
			for _, name := range metricNameRE.FindAllString(e, -1) {
				named++
				require.True(t, known(name), "%s names %s, which the engine does not register (in: %s)", f, name, e)
			}
		}
		require.Positive(t, named, "%s names no ringback metric", f)
	}
}

var (
	metricNameRE = regexp.MustCompile(`\bringback_[a-zA-Z0-9_]+`)
	descNameRE   = regexp.MustCompile(`fqName: "([^"]+)"`)
)

// engineMetricNames reports whether a name is one the engine exposes: a name in a live
// scrape, or (for a vector with no series yet, like ringback_sync_connections before a
// connection exists) a name the metrics package registers, with a histogram's suffixes.
func engineMetricNames(t *testing.T, scrape string) func(string) bool {
	t.Helper()
	live := map[string]bool{}
	for _, line := range strings.Split(scrape, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		live[name] = true
	}
	require.True(t, live["ringback_auto_sms_latency_seconds_bucket"], "the live scrape has no auto-SMS histogram")

	reg := describingRegisterer{names: map[string]bool{}}
	metrics.New(reg, metrics.Options{})
	reg.MustRegister(metrics.NewDBPoolCollector(nil)) // Describe does not read the pool
	require.True(t, reg.names["ringback_sync_connections"], "Desc's format changed: fqName not found")
	return func(name string) bool {
		if live[name] || reg.names[name] {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && reg.names[base] {
				return true
			}
		}
		return false
	}
}

// describingRegisterer collects the names of the collectors registered on it. A Desc
// shows its name only through String ("Desc{fqName: "...", ...}").
type describingRegisterer struct{ names map[string]bool }

func (r describingRegisterer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := descNameRE.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return nil
}

func (r describingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r describingRegisterer) Unregister(prometheus.Collector) bool { return false }
