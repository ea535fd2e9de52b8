-- The analytics event log (docs/EVENTS.md): one append-only table in its own schema,
-- written in batches by the engine's event writer and read by the admin export and ETL.
-- It replaces the two per-context event tables of 001, which nothing ever wrote: one log
-- lets a query follow a missed call to its booking without joining the two domain schemas.
CREATE SCHEMA IF NOT EXISTS analytics;

-- Never updated, never deleted by the engine. seq is the export cursor; appends take a
-- transaction-scoped advisory lock (persistence/analytics.go), so seq order is commit
-- order and a reader paging by seq never skips a row that committed late.
CREATE TABLE analytics.events (
    seq         bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    kind        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    subject     text NOT NULL,       -- a conversation, hold or appointment id, by kind
    data        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_tenant_seq ON analytics.events (tenant_id, seq);

DROP TABLE fulfillment.events;
DROP TABLE conversation.events;
