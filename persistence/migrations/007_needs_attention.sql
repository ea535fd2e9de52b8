-- Customers in their own words (issue 14): a conversation whose last message the engine
-- could not act on waits for a person, and the business is alerted by SMS at the
-- endpoint's owner_phone through the same outbox.
ALTER TABLE conversation.conversations ADD COLUMN needs_attention boolean NOT NULL DEFAULT false;
CREATE INDEX conversations_attention ON conversation.conversations (tenant_id, updated_at DESC) WHERE needs_attention;

ALTER TABLE conversation.deliveries DROP CONSTRAINT deliveries_kind_check;
ALTER TABLE conversation.deliveries ADD CONSTRAINT deliveries_kind_check
    CHECK (kind IN ('auto_reply', 'reply', 'compliance', 'alert'));
