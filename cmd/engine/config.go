package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	vsync "ringback/actors/sync"
	"ringback/tracing"
)

// Config is the engine's configuration, read once from the environment (contract.md,
// "Configuration"). Each field names its variable and its default.
type Config struct {
	Addr        string // ENGINE_ADDR, default 127.0.0.1:8080
	DatabaseURL string // DATABASE_URL, required (make run provides a local Postgres)
	PublicURL   string // PUBLIC_URL, default http://$ENGINE_ADDR
	AdminToken  string // ADMIN_TOKEN, default none: the admin API answers 503

	TwilioAccountSID string // TWILIO_ACCOUNT_SID, default none: sandbox mode
	TwilioAuthToken  string // TWILIO_AUTH_TOKEN
	TwilioAPIURL     string // TWILIO_API_URL, default https://api.twilio.com

	GoogleCalendarURL  string // GOOGLE_CALENDAR_URL, default https://www.googleapis.com/calendar/v3/
	GoogleTokenURL     string // GOOGLE_TOKEN_URL, default https://oauth2.googleapis.com/token
	GoogleClientID     string // GOOGLE_CLIENT_ID
	GoogleClientSecret string // GOOGLE_CLIENT_SECRET
	JobberAPIURL       string // JOBBER_API_URL, default https://api.getjobber.com/api/graphql
	JobberTokenURL     string // JOBBER_TOKEN_URL, default https://api.getjobber.com/api/oauth/token
	JobberClientID     string // JOBBER_CLIENT_ID
	JobberClientSecret string // JOBBER_CLIENT_SECRET

	SecretKey string // ENGINE_SECRET_KEY: base64 of 32 bytes; required once credentials are stored

	LogLevel  slog.Level // LOG_LEVEL: debug, info (default), warn, error
	LogFormat string     // LOG_FORMAT: text (default) or json

	// MetricsAllTenants is METRICS_TENANT_LABELS set to "false" or "0" (default "true"):
	// every `tenant` label value becomes "_all", bounding series with many tenants.
	MetricsAllTenants bool

	// MaxInFlight is MAX_INFLIGHT: webhook and booking API requests served at once, each
	// (default 512); past it they are answered 503 with Retry-After, nothing stored.
	MaxInFlight int

	// GCPercent is the garbage collector's target when GOGC is unset: 400, because the
	// engine's live heap is small and measured (BenchmarkMissedCalls) GC was a fifth of its
	// CPU at 100; 0 leaves Go's setting alone (GOGC set).
	GCPercent int

	// Tracing is OTEL_TRACES_EXPORTER (none, the default; stdout; otlp) and
	// OTEL_EXPORTER_OTLP_ENDPOINT (default: otlptracehttp's, http://localhost:4318).
	Tracing tracing.Config

	// Cluster is the cluster mode (docs/CLUSTER.md): with CLUSTER_PROVIDER unset the
	// engine is one process, as always.
	Cluster ClusterConfig

	// Test hooks (never set from the environment).
	wrapProvider  func(conn vsync.Connection, p vsync.Provider) vsync.Provider
	onSyncRestart func(connection string, delay time.Duration)
}

// ClusterConfig is CLUSTER_*: several engines as one Proto.Actor cluster.
type ClusterConfig struct {
	Provider       string        // CLUSTER_PROVIDER: "" (one process, the default) or etcd
	EtcdEndpoints  []string      // CLUSTER_ETCD_ENDPOINTS: comma-separated client URLs, default http://127.0.0.1:2379
	AdvertiseAddr  string        // CLUSTER_ADVERTISE_ADDR: host:port this node's cluster listener is reached at; required in cluster mode
	Name           string        // CLUSTER_NAME, default ringback
	TTL            time.Duration // CLUSTER_TTL: membership lease, default 2s
	RequestTimeout time.Duration // CLUSTER_REQUEST_TIMEOUT: one request to a grain, default 5s
	// DrainDelay is CLUSTER_DRAIN_DELAY: on SIGTERM, how long /readyz answers 503 before
	// the node stops taking requests, so the load balancer moves away first (default 3s).
	DrainDelay time.Duration
}

// Enabled says the engine runs as a cluster member.
func (c ClusterConfig) Enabled() bool { return c.Provider != "" }

// defaultGCPercent is the engine's GC target unless GOGC says otherwise.
const defaultGCPercent = 400

// Sandbox reports whether no Twilio credentials are set: nothing leaves the machine.
func (c Config) Sandbox() bool { return c.TwilioAccountSID == "" || c.TwilioAuthToken == "" }

// webhookToken is the token Twilio webhooks are signed with: the auth token, or "sandbox"
// in sandbox mode (so `engine simulate` works unchanged).
func (c Config) webhookToken() string {
	if c.Sandbox() {
		return "sandbox"
	}
	return c.TwilioAuthToken
}

func loadConfig(getenv func(string) string) (Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:               env("ENGINE_ADDR", "127.0.0.1:8080"),
		DatabaseURL:        env("DATABASE_URL", ""),
		AdminToken:         env("ADMIN_TOKEN", ""),
		TwilioAccountSID:   env("TWILIO_ACCOUNT_SID", ""),
		TwilioAuthToken:    env("TWILIO_AUTH_TOKEN", ""),
		TwilioAPIURL:       env("TWILIO_API_URL", "https://api.twilio.com"),
		GoogleCalendarURL:  env("GOOGLE_CALENDAR_URL", "https://www.googleapis.com/calendar/v3/"),
		GoogleTokenURL:     env("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
		GoogleClientID:     env("GOOGLE_CLIENT_ID", ""),
		GoogleClientSecret: env("GOOGLE_CLIENT_SECRET", ""),
		JobberAPIURL:       env("JOBBER_API_URL", "https://api.getjobber.com/api/graphql"),
		JobberTokenURL:     env("JOBBER_TOKEN_URL", "https://api.getjobber.com/api/oauth/token"),
		JobberClientID:     env("JOBBER_CLIENT_ID", ""),
		JobberClientSecret: env("JOBBER_CLIENT_SECRET", ""),
		SecretKey:          env("ENGINE_SECRET_KEY", ""),
		LogFormat:          env("LOG_FORMAT", "text"),
		Tracing: tracing.Config{
			Exporter:     strings.ToLower(env("OTEL_TRACES_EXPORTER", "none")),
			OTLPEndpoint: env("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		},
	}
	if getenv("GOGC") == "" {
		c.GCPercent = defaultGCPercent
	}
	c.PublicURL = strings.TrimRight(env("PUBLIC_URL", "http://"+c.Addr), "/")
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("PUBLIC_URL %q: want an absolute http(s) URL", c.PublicURL)
	}
	if err := c.LogLevel.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	tenantLabels := env("METRICS_TENANT_LABELS", "true")
	on, err := strconv.ParseBool(tenantLabels)
	if err != nil {
		return c, fmt.Errorf("METRICS_TENANT_LABELS %q: want true or false", tenantLabels)
	}
	c.MetricsAllTenants = !on
	if v := env("MAX_INFLIGHT", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("MAX_INFLIGHT %q: want a positive number", v)
		}
		c.MaxInFlight = n
	}
	switch c.Tracing.Exporter {
	case "none", "stdout", "otlp":
	default:
		return c, fmt.Errorf("OTEL_TRACES_EXPORTER %q: want none, stdout or otlp", c.Tracing.Exporter)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("LOG_FORMAT %q: want text or json", c.LogFormat)
	}
	cl, err := loadClusterConfig(env)
	if err != nil {
		return c, err
	}
	c.Cluster = cl
	return c, nil
}

func loadClusterConfig(env func(name, def string) string) (ClusterConfig, error) {
	c := ClusterConfig{Provider: strings.ToLower(env("CLUSTER_PROVIDER", "")), AdvertiseAddr: env("CLUSTER_ADVERTISE_ADDR", ""),
		Name: env("CLUSTER_NAME", "ringback")}
	for _, e := range strings.Split(env("CLUSTER_ETCD_ENDPOINTS", "http://127.0.0.1:2379"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.EtcdEndpoints = append(c.EtcdEndpoints, e)
		}
	}
	for _, d := range []struct {
		name, def string
		dst       *time.Duration
	}{{"CLUSTER_TTL", "2s", &c.TTL}, {"CLUSTER_REQUEST_TIMEOUT", "5s", &c.RequestTimeout}, {"CLUSTER_DRAIN_DELAY", "3s", &c.DrainDelay}} {
		v, err := time.ParseDuration(env(d.name, d.def))
		if err != nil || v < 0 {
			return c, fmt.Errorf("%s %q: want a duration such as %s", d.name, env(d.name, d.def), d.def)
		}
		*d.dst = v
	}
	switch c.Provider {
	case "":
		return c, nil
	case "etcd":
	case "kubernetes", "k8s":
		return c, fmt.Errorf("CLUSTER_PROVIDER %q: this build joins clusters through etcd; docs/CLUSTER.md says how to run it on Kubernetes", c.Provider)
	default:
		return c, fmt.Errorf("CLUSTER_PROVIDER %q: want etcd, or leave it unset for one process", c.Provider)
	}
	if len(c.EtcdEndpoints) == 0 {
		return c, fmt.Errorf("CLUSTER_ETCD_ENDPOINTS is empty")
	}
	if c.AdvertiseAddr == "" {
		return c, fmt.Errorf("CLUSTER_ADVERTISE_ADDR is required in cluster mode: the host:port the other nodes reach this one at")
	}
	if _, port, err := net.SplitHostPort(c.AdvertiseAddr); err != nil || port == "" || port == "0" {
		return c, fmt.Errorf("CLUSTER_ADVERTISE_ADDR %q: want host:port with a fixed port", c.AdvertiseAddr)
	}
	if c.TTL < time.Second {
		return c, fmt.Errorf("CLUSTER_TTL %s: at least 1s (etcd leases count whole seconds)", c.TTL)
	}
	return c, nil
}
