package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"ringback/clock"
	"ringback/tracing"
)

// TestCorrelationIDFollowsAMissedCallToTwilio: the id a webhook is answered with is the
// one stored in its envelope, on the outbox row of its auto-reply, and on the request
// that sent it to Twilio.
func TestCorrelationIDFollowsAMissedCallToTwilio(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)

	r := e.missedCall(customer)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	id := r.header.Get("X-Correlation-Id")
	require.NotEmpty(t, id, "an accepted webhook is answered with its correlation id")
	e.settle(customer)

	ctx := context.Background()
	var stored string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT correlation_id FROM conversation.webhook_envelopes WHERE kind = 'missed-call'`).Scan(&stored))
	require.Equal(t, id, stored, "the envelope's")
	var delivery string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT correlation_id FROM conversation.deliveries WHERE kind = 'auto_reply'`).Scan(&delivery))
	require.Equal(t, id, delivery, "the auto-reply's outbox row")
	msgs := e.twilio.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, id, msgs[0].CorrelationID, "the X-Correlation-Id Twilio saw")
}

// TestOneTraceSpansWebhookStepAndSend installs an in-memory exporter as the global
// provider (so it is not parallel) and follows one missed call: the webhook's span is the
// parent of the conversation step's, which is the parent of the Twilio send's, all in one
// trace, although each runs on another goroutine and the send from a stored row.
func TestOneTraceSpansWebhookStepAndSend(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	ended := make(chan struct{}, 1)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(signalling{SpanProcessor: sdktrace.NewSimpleSpanProcessor(exp), ended: ended}))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		_ = tp.Shutdown(context.Background())
	})

	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	r := e.missedCall(customer)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	id := r.header.Get("X-Correlation-Id")
	e.settle(customer)

	// The webhook's span ends when its handler returns, which may be after the answer
	// reached us: wait for the three spans of this correlation id to end.
	var webhook, step, send tracetest.SpanStub
	deadline := time.After(10 * time.Second)
	for {
		webhook, step, send = tracetest.SpanStub{}, tracetest.SpanStub{}, tracetest.SpanStub{}
		for _, s := range exp.GetSpans() {
			if !hasAttr(s, tracing.AttrCorrelationID, id) {
				continue
			}
			switch s.Name {
			case "webhook missed-call":
				webhook = s
			case "conversation.step":
				step = s
			case "twilio.send":
				send = s
			}
		}
		if webhook.Name != "" && step.Name != "" && send.Name != "" {
			break
		}
		select {
		case <-ended:
		case <-deadline:
			t.Fatalf("spans of %s: got webhook %q, step %q, send %q", id, webhook.Name, step.Name, send.Name)
		}
	}

	traceID := webhook.SpanContext.TraceID()
	require.True(t, traceID.IsValid())
	require.Equal(t, traceID, step.SpanContext.TraceID(), "the step is in the webhook's trace")
	require.Equal(t, traceID, send.SpanContext.TraceID(), "the send is in the webhook's trace")
	require.Equal(t, webhook.SpanContext.SpanID(), step.Parent.SpanID(), "the step's parent is the webhook")
	require.Equal(t, step.SpanContext.SpanID(), send.Parent.SpanID(), "the send's parent is the step")
	require.True(t, hasAttr(webhook, tracing.AttrTenant, "acme"))
	require.True(t, hasAttr(webhook, tracing.AttrKind, "missed-call"))

	var stored string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT trace_parent FROM conversation.deliveries WHERE kind = 'auto_reply'`).Scan(&stored))
	require.Equal(t, "00-"+traceID.String()+"-"+step.SpanContext.SpanID().String()+"-01", stored, "the row keeps the step's traceparent")
}

// signalling is a span processor that signals (coalescing) each time a span ended.
type signalling struct {
	sdktrace.SpanProcessor
	ended chan struct{}
}

func (p signalling) OnEnd(s sdktrace.ReadOnlySpan) {
	p.SpanProcessor.OnEnd(s)
	select {
	case p.ended <- struct{}{}:
	default:
	}
}

// hasAttr reports whether s carries key with value.
func hasAttr(s tracetest.SpanStub, key attribute.Key, value string) bool {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.AsString() == value
		}
	}
	return false
}
