-- The business's console (issue 15): users of a tenant, invited by the admin API, who sign
-- in with a password; their sessions; and what the console needs on a conversation.
CREATE SCHEMA console;

CREATE TABLE console.users (
    id                uuid PRIMARY KEY,
    tenant_id         text NOT NULL,
    email             text NOT NULL UNIQUE,       -- lower-cased; sign-in is by email
    name              text NOT NULL,
    password_hash     text,                       -- argon2id, PHC string; NULL until the invite is used
    invite_hash       bytea UNIQUE,               -- sha256 of the one-time invite token; NULL once used
    invite_expires_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_tenant ON console.users (tenant_id);

-- A session is a random token in an HttpOnly cookie; only its sha256 is stored, so a
-- database read does not hand out sessions. Revoking sets revoked_at.
CREATE TABLE console.sessions (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES console.users (id) ON DELETE CASCADE,
    csrf        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX sessions_user ON console.sessions (user_id);

-- taken_over: a person answers this conversation; the bot sends nothing in it (the outbox
-- checks it again when it claims a bot message). last_read_at: when a person last opened
-- the thread, for unread counts.
ALTER TABLE conversation.conversations ADD COLUMN taken_over boolean NOT NULL DEFAULT false;
ALTER TABLE conversation.conversations ADD COLUMN last_read_at timestamptz;
-- The inbox's order and keyset: those needing a person first, then the latest activity.
CREATE INDEX conversations_inbox ON conversation.conversations (tenant_id, needs_attention DESC, updated_at DESC, id DESC);

ALTER TABLE conversation.deliveries DROP CONSTRAINT deliveries_kind_check;
ALTER TABLE conversation.deliveries ADD CONSTRAINT deliveries_kind_check
    CHECK (kind IN ('auto_reply', 'reply', 'compliance', 'alert', 'person'));
