package main

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaultsAndErrors(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(nil))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", c.Addr)
	require.Equal(t, "http://127.0.0.1:8080", c.PublicURL)
	require.True(t, c.Sandbox())
	require.Equal(t, "sandbox", c.webhookToken())
	require.Equal(t, slog.LevelInfo, c.LogLevel)
	require.Equal(t, defaultGCPercent, c.GCPercent)
	require.Equal(t, "none", c.Tracing.Exporter, "tracing is off by default")

	c, err = loadConfig(env(map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok", "PUBLIC_URL": "https://ringback.example/", "GOGC": "100"}))
	require.NoError(t, err)
	require.False(t, c.Sandbox())
	require.Equal(t, "tok", c.webhookToken())
	require.Equal(t, "https://ringback.example", c.PublicURL, "the trailing slash would break signatures")
	require.Zero(t, c.GCPercent, "GOGC set: leave Go's setting alone")

	c, err = loadConfig(env(map[string]string{"OTEL_TRACES_EXPORTER": "OTLP", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}))
	require.NoError(t, err)
	require.Equal(t, "otlp", c.Tracing.Exporter)
	require.Equal(t, "http://collector:4318", c.Tracing.OTLPEndpoint)

	c, err = loadConfig(env(map[string]string{"MAX_INFLIGHT": "64"}))
	require.NoError(t, err)
	require.Equal(t, 64, c.MaxInFlight)

	for _, bad := range []map[string]string{
		{"PUBLIC_URL": "ringback.example"},
		{"LOG_LEVEL": "loud"},
		{"LOG_FORMAT": "xml"},
		{"MAX_INFLIGHT": "0"},
		{"MAX_INFLIGHT": "lots"},
		{"OTEL_TRACES_EXPORTER": "jaeger"},
	} {
		_, err := loadConfig(env(bad))
		require.Error(t, err, "%v", bad)
	}
}
