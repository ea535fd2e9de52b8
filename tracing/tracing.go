// Package tracing owns the engine's OpenTelemetry tracing: it installs the global
// TracerProvider (or none: tracing is off by default and then costs nothing but no-op
// calls) and carries a span's W3C trace context where a Go context cannot go, in actor
// messages and in outbox rows, as a serialized `traceparent`.
package tracing

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name resource attribute of every span.
const ServiceName = "ringback"

// Attribute keys the engine's spans carry.
const (
	AttrCorrelationID = attribute.Key("ringback.correlation_id")
	AttrKind          = attribute.Key("ringback.webhook.kind")
	AttrTenant        = attribute.Key("ringback.tenant")
)

// Config chooses the exporter.
type Config struct {
	// Exporter is OTEL_TRACES_EXPORTER: "none" (the default, also for ""): no provider is
	// installed; "stdout": spans as JSON on stderr; "otlp": OTLP over HTTP.
	Exporter string
	// OTLPEndpoint is OTEL_EXPORTER_OTLP_ENDPOINT, the collector's base URL ("/v1/traces"
	// is appended, as the OpenTelemetry spec says); "" leaves otlptracehttp's default
	// (http://localhost:4318) and its own reading of the standard OTEL_EXPORTER_OTLP_* variables.
	OTLPEndpoint string
}

// Setup installs the global TracerProvider cfg asks for. shutdown flushes and stops it;
// with no exporter it does nothing.
func Setup(ctx context.Context, cfg Config) (shutdown func(context.Context) error, err error) {
	var exp sdktrace.SpanExporter
	switch strings.ToLower(cfg.Exporter) {
	case "", "none":
		return func(context.Context) error { return nil }, nil
	case "stdout":
		exp, err = stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
	case "otlp":
		var opts []otlptracehttp.Option
		if cfg.OTLPEndpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimRight(cfg.OTLPEndpoint, "/")+"/v1/traces"))
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("tracing: exporter %q: want none, stdout or otlp", cfg.Exporter)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: %s exporter: %w", cfg.Exporter, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// Tracer is the engine's tracer, from the global provider (a no-op until Setup installs one).
func Tracer() trace.Tracer { return otel.Tracer(ServiceName) }

// Inject returns the W3C traceparent of ctx's span, "" when ctx carries no valid span
// (tracing off, or no span started).
func Inject(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// Extract returns ctx with the remote span context of traceparent as its parent; a
// malformed or empty traceparent leaves ctx as it is (the next span is a root).
func Extract(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// Fail records err on span and marks the span failed.
func Fail(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}
