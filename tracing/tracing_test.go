package tracing

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestSetupIsOffByDefaultAndRefusesUnknownExporters(t *testing.T) {
	before := otel.GetTracerProvider()
	shutdown, err := Setup(context.Background(), Config{})
	require.NoError(t, err)
	require.NoError(t, shutdown(context.Background()))
	require.Equal(t, before, otel.GetTracerProvider(), "none installs no provider")
	require.Empty(t, Inject(context.Background()), "no span, no traceparent")

	_, err = Setup(context.Background(), Config{Exporter: "jaeger"})
	require.Error(t, err)
}

func TestSetupInstallsTheOTLPExporter(t *testing.T) {
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	shutdown, err := Setup(context.Background(), Config{Exporter: "otlp", OTLPEndpoint: "http://127.0.0.1:1"})
	require.NoError(t, err)
	_, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider)
	require.True(t, ok, "got %T", otel.GetTracerProvider())
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nothing was recorded; do not wait on the unreachable collector
	_ = shutdown(ctx)
}

func TestTraceparentRoundTrips(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	tpHeader := Inject(ctx)
	require.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`, tpHeader)

	_, child := tp.Tracer("test").Start(Extract(context.Background(), tpHeader), "child")
	require.Equal(t, parent.SpanContext().TraceID(), child.SpanContext().TraceID())
	require.Equal(t, parent.SpanContext().SpanID(), child.(sdktrace.ReadOnlySpan).Parent().SpanID())

	require.Equal(t, context.Background(), Extract(context.Background(), ""))
	require.False(t, trace.SpanContextFromContext(Extract(context.Background(), "garbage")).IsValid())
}
