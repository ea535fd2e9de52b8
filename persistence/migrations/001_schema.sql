-- Ringback's schema: one Postgres schema per bounded context. Nothing joins across them;
-- the two contexts talk through actor messages only (design.md, rule 7).

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE SCHEMA IF NOT EXISTS fulfillment;
CREATE SCHEMA IF NOT EXISTS conversation;

---------------------------------------------------------------------------------------
-- Fulfillment: tenants, services, resources, holds, appointments, vendor sync.
---------------------------------------------------------------------------------------

-- The applied config of a tenant. `config` is the normalised document with credentials
-- removed (they live encrypted in fulfillment.connections) and booking_api_key removed
-- (only its hash is kept); `config_hash` makes re-applying the same file a no-op.
CREATE TABLE fulfillment.tenants (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    timezone         text NOT NULL,
    policies         jsonb NOT NULL,
    config           jsonb NOT NULL,
    config_hash      bytea NOT NULL,
    booking_key_hash bytea,
    version          bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fulfillment.services (
    tenant_id   text NOT NULL REFERENCES fulfillment.tenants (id) ON DELETE CASCADE,
    id          text NOT NULL,
    name        text NOT NULL,
    duration    interval NOT NULL,
    price       jsonb NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- A resource removed from the config is kept with active = false while anything refers
-- to it; removing one with future appointments is refused by the apply.
CREATE TABLE fulfillment.resources (
    tenant_id   text NOT NULL REFERENCES fulfillment.tenants (id) ON DELETE CASCADE,
    id          text NOT NULL,
    key         bigint GENERATED ALWAYS AS IDENTITY UNIQUE, -- names (tenant_id, id) in the overlap guard
    name        text NOT NULL,
    services    text[] NOT NULL,
    hours       jsonb NOT NULL,
    calendar_connection text,
    calendar_id text,
    active      boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, id)
);

-- Every claim on a resource's time: holds (reservations) and the slots of appointments.
-- A hold becomes 'booked' when confirmed; an appointment moved by a reschedule gets a new
-- claim and its old one becomes 'released'. The exclusion constraint is the last word on
-- double booking: live claims ('held', 'booked') of one resource never overlap, whatever
-- any actor believed. Expiry must be written ('expired'): the predicate cannot use now().
--
-- The guard names the resource by its surrogate key (fulfillment.resources.key, one per
-- (tenant_id, resource_id), never reused) rather than by the two text ids: the same
-- constraint, measured 1.6x cheaper per insert (docs/PERFORMANCE.md), and the exclusion
-- check is most of what a hold costs Postgres. Claims take the key from the resources row
-- in the statement that inserts them. There is no foreign key: every claim is written by
-- its resource's actor, which exists only for configured resources, an apply refuses to
-- remove a resource with live claims, and a key's row lock would serialise every insert of
-- a busy resource.
CREATE TABLE fulfillment.claims (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL,
    resource_id     text NOT NULL,
    resource_key    bigint NOT NULL,
    service_id      text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('held', 'booked', 'released', 'expired', 'cancelled')),
    expires_at      timestamptz,
    customer_phone  text NOT NULL,
    customer_name   text NOT NULL DEFAULT '',
    quote           jsonb NOT NULL,      -- the price given with the hold, kept with it
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (status <> 'held' OR expires_at IS NOT NULL),
    CONSTRAINT claims_no_overlap EXCLUDE USING gist (
        resource_key WITH =,
        tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status IN ('held', 'booked'))
);
CREATE INDEX claims_held_expiry ON fulfillment.claims (expires_at) WHERE status = 'held';

-- An appointment points at its current claim (which carries the time and resource).
CREATE TABLE fulfillment.appointments (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL,
    resource_id     text NOT NULL,
    reservation_id  uuid NOT NULL UNIQUE REFERENCES fulfillment.claims (id),
    claim_id        uuid NOT NULL UNIQUE REFERENCES fulfillment.claims (id),
    status          text NOT NULL CHECK (status IN ('booked', 'cancelled')),
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appointments_tenant ON fulfillment.appointments (tenant_id, resource_id) WHERE status = 'booked';

-- Busy time imported from a resource's external calendar.
CREATE TABLE fulfillment.busy_blocks (
    tenant_id   text NOT NULL,
    resource_id text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    source      text NOT NULL,
    PRIMARY KEY (tenant_id, resource_id, starts_at, ends_at, source)
);
CREATE TABLE fulfillment.calendar_reads (
    tenant_id   text NOT NULL,
    resource_id text NOT NULL,
    last_ok_at  timestamptz,
    last_error  text,
    PRIMARY KEY (tenant_id, resource_id)
);

-- Vendor accounts; credentials are AES-GCM ciphertext under ENGINE_SECRET_KEY.
CREATE TABLE fulfillment.connections (
    tenant_id    text NOT NULL REFERENCES fulfillment.tenants (id) ON DELETE CASCADE,
    id           text NOT NULL,
    provider     text NOT NULL CHECK (provider IN ('google', 'jobber')),
    credentials  bytea,
    state        text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'parked', 'reconnect_needed')),
    state_reason text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- Durable work for the sync actors, written in the same transaction as the appointment
-- change it reports. Worked in seq order per (connection, appointment).
CREATE TABLE fulfillment.sync_jobs (
    seq            bigserial PRIMARY KEY,
    tenant_id      text NOT NULL,
    connection_id  text NOT NULL,
    provider       text NOT NULL,
    appointment_id uuid NOT NULL,
    action         text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts       int NOT NULL DEFAULT 0,
    last_error     text,
    run_after      timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_jobs_pending ON fulfillment.sync_jobs (connection_id, tenant_id, seq) WHERE state IN ('pending', 'running');
CREATE INDEX sync_jobs_appointment ON fulfillment.sync_jobs (appointment_id);

-- Vendor ids of our appointments (Jobber has no idempotency key).
CREATE TABLE fulfillment.vendor_refs (
    tenant_id      text NOT NULL,
    connection_id  text NOT NULL,
    appointment_id uuid NOT NULL,
    kind           text NOT NULL,
    vendor_id      text NOT NULL,
    PRIMARY KEY (tenant_id, connection_id, appointment_id, kind)
);

-- Append-only domain event log for later analytics (never updated, never deleted).
CREATE TABLE fulfillment.events (
    seq         bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    kind        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    subject_id  text,
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX fulfillment_events_tenant ON fulfillment.events (tenant_id, seq);

---------------------------------------------------------------------------------------
-- Conversation: business numbers, conversations, messages, deliveries, webhooks.
---------------------------------------------------------------------------------------

-- The messaging side's own copy of what it needs from a tenant's config, written by the
-- same apply that writes fulfillment.tenants.
CREATE TABLE conversation.tenants (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    timezone    text NOT NULL,
    settings    jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversation.endpoints (
    number          text PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES conversation.tenants (id) ON DELETE CASCADE,
    default_service text NOT NULL,
    pbx_secret      bytea,
    settings        jsonb NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_tenant ON conversation.endpoints (tenant_id);

CREATE TABLE conversation.conversations (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL,
    endpoint        text NOT NULL,
    customer_phone  text NOT NULL,
    state           text NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    opted_out       boolean NOT NULL DEFAULT false,
    last_auto_reply_at timestamptz,
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint, customer_phone)
);
CREATE INDEX conversations_tenant ON conversation.conversations (tenant_id, customer_phone);

CREATE TABLE conversation.messages (
    id                uuid PRIMARY KEY,
    conversation_id   uuid NOT NULL REFERENCES conversation.conversations (id),
    tenant_id         text NOT NULL,
    direction         text NOT NULL CHECK (direction IN ('in', 'out')),
    body              text NOT NULL,
    provider_sid      text,
    client_message_id text UNIQUE,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation ON conversation.messages (conversation_id, created_at);

-- The outbox: one row per outbound SMS, written (in the same transaction as the
-- conversation change that decided it) before the provider is called. client_message_id
-- is derived from the webhook that caused it, so a replayed webhook cannot send twice.
-- status: pending → sending → queued/sent/delivered/undelivered/failed, or suppressed
-- (recipient opted out before the send), or sandbox (sandbox mode).
CREATE TABLE conversation.deliveries (
    client_message_id text PRIMARY KEY,
    message_id        uuid NOT NULL REFERENCES conversation.messages (id),
    tenant_id         text NOT NULL,
    from_number       text NOT NULL,
    to_number         text NOT NULL,
    body              text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('auto_reply', 'reply', 'compliance')),
    status            text NOT NULL,
    provider_sid      text UNIQUE,
    error_code        int,
    attempts          int NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    trigger_received_at timestamptz,  -- when the webhook behind an auto-reply arrived
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_pending ON conversation.deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');

-- Every accepted webhook, stored under its unique key before the 200. Keys name their
-- event and carry its kind ("voice:CallSid:status", "sms:MessageSid",
-- "status:MessageSid:status", "pbx:call_id"), so they are unique across sources.
CREATE TABLE conversation.webhook_envelopes (
    key            text PRIMARY KEY,
    source         text NOT NULL,
    kind           text NOT NULL,
    tenant_id      text,
    correlation_id text NOT NULL,
    payload        jsonb NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    processed_at   timestamptz
);
CREATE INDEX webhook_envelopes_unprocessed ON conversation.webhook_envelopes (received_at) WHERE processed_at IS NULL;
-- Receipts by message, for a delivery whose acceptance is recorded after its receipts.
CREATE INDEX webhook_envelopes_receipts ON conversation.webhook_envelopes ((payload->>'message_sid')) WHERE kind = 'sms-status';

CREATE TABLE conversation.opt_outs (
    endpoint       text NOT NULL,
    customer_phone text NOT NULL,
    opted_out_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (endpoint, customer_phone)
);

-- Append-only domain event log of the messaging side.
CREATE TABLE conversation.events (
    seq         bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    kind        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    subject_id  text,
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX conversation_events_tenant ON conversation.events (tenant_id, seq);

-- Delivery statuses in the order a message moves through them; receipts only move a
-- delivery forward (callbacks arrive late and out of order).
CREATE FUNCTION conversation.status_rank(status text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
        WHEN 'queued' THEN 1 WHEN 'accepted' THEN 1 WHEN 'sending' THEN 2 WHEN 'sent' THEN 3
        WHEN 'delivered' THEN 4 WHEN 'undelivered' THEN 4 WHEN 'failed' THEN 4 WHEN 'read' THEN 5
        ELSE 0 END
$$;

-- Raised by a conversation write whose expected version is not the stored one (another
-- activation wrote first), so a pipelined write aborts as a whole.
CREATE FUNCTION conversation.stale_write() RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'conversation changed by another activation' USING ERRCODE = 'serialization_failure';
END
$$;
