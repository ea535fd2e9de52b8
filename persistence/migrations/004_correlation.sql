-- Observability (docs/OBSERVABILITY.md, "Tracing and correlation"): an outbox row keeps
-- the correlation id of the webhook that caused it and the W3C traceparent of the
-- conversation step that decided it, so its send (possibly much later, possibly by
-- another process) logs the one and continues the trace of the other. NULL for rows
-- written before, and for steps no webhook caused or traced.
ALTER TABLE conversation.deliveries ADD COLUMN correlation_id text;
ALTER TABLE conversation.deliveries ADD COLUMN trace_parent text;
