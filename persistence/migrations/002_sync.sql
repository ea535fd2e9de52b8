-- Sync actors: the hash of a connection's credentials as last applied (a re-apply that
-- leaves them alone must keep the refresh token the vendor has rotated since), the
-- vendor's account id (routes Jobber webhooks to their connection), and vendor webhooks,
-- stored under their unique key before they are answered.
ALTER TABLE fulfillment.connections
    ADD COLUMN applied_hash bytea,
    ADD COLUMN account_id text;
CREATE INDEX connections_account ON fulfillment.connections (provider, account_id) WHERE account_id IS NOT NULL;

CREATE TABLE fulfillment.vendor_webhooks (
    provider     text NOT NULL,
    key          text NOT NULL,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL,
    processed_at timestamptz,
    outcome      text,
    PRIMARY KEY (provider, key)
);
CREATE INDEX vendor_webhooks_unprocessed ON fulfillment.vendor_webhooks (received_at) WHERE processed_at IS NULL;

-- Finding our appointment from a vendor's id (Jobber webhooks name visits).
CREATE INDEX vendor_refs_vendor ON fulfillment.vendor_refs (connection_id, kind, vendor_id);

-- The head of each appointment's queue, per connection.
CREATE INDEX sync_jobs_queue ON fulfillment.sync_jobs (tenant_id, connection_id, appointment_id, seq) WHERE state = 'pending';

ALTER TABLE fulfillment.calendar_reads ADD COLUMN last_error_at timestamptz;
