-- Reminders with confirm-by-reply (issue 16).
--
-- A visit's reminders are rows of fulfillment.reminders written in the same transaction
-- as the appointment change that decides them: a confirm writes them, a reschedule
-- replaces the pending ones with those of the new time, a cancel cancels them. One row
-- per (appointment, version, kind, offset): the version is the appointment's (each
-- reschedule bumps it), so a reminder names the time it is about, and the SMS it becomes
-- has a client message id derived from the same key (sent once, whatever retries).
-- Kind 'deadline' is the moment the visit counts as unconfirmed when a reminder asked and
-- nobody answered (policies.unconfirmed_after before the visit).

-- The business number the customer booked through (a conversation's endpoint), so the
-- reminders come from the number they know; '' when booked through the API.
ALTER TABLE fulfillment.claims ADD COLUMN customer_endpoint text NOT NULL DEFAULT '';

-- confirmed_at: the customer answered a reminder with yes; unconfirmed_at: the deadline
-- passed without an answer. A reschedule clears both.
ALTER TABLE fulfillment.appointments ADD COLUMN confirmed_at timestamptz;
ALTER TABLE fulfillment.appointments ADD COLUMN unconfirmed_at timestamptz;

CREATE TABLE fulfillment.reminders (
    appointment_id  uuid NOT NULL REFERENCES fulfillment.appointments (id),
    version         bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('reminder', 'deadline')),
    offset_seconds  bigint NOT NULL,
    tenant_id       text NOT NULL,
    resource_id     text NOT NULL,
    endpoint        text NOT NULL,
    customer_phone  text NOT NULL,
    due_at          timestamptz NOT NULL,
    -- pending → claimed (by a scheduler, until claimed_until) → sent | skipped;
    -- pending or claimed → replaced (a reschedule) | cancelled (a cancel)
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'claimed', 'sent', 'skipped', 'replaced', 'cancelled')),
    reason          text,            -- why skipped
    claimed_until   timestamptz,
    attempts        int NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (appointment_id, version, kind, offset_seconds)
);
-- What the scheduler claims: due and unclaimed, or claimed by a scheduler that died.
CREATE INDEX reminders_due ON fulfillment.reminders (due_at) WHERE state IN ('pending', 'claimed');

ALTER TABLE conversation.deliveries DROP CONSTRAINT deliveries_kind_check;
ALTER TABLE conversation.deliveries ADD CONSTRAINT deliveries_kind_check
    CHECK (kind IN ('auto_reply', 'reply', 'compliance', 'alert', 'person', 'reminder'));
