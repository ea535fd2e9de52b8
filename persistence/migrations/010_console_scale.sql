-- The console at 100,000 conversations in one tenant (docs/PERFORMANCE.md, "Console").
-- Measured before this migration: the unread count every console page and every live
-- change reads joined every inbound message of every tenant (a parallel sequential scan
-- of conversation.messages and a hash join: ~45 ms of the page's 50 ms budget), and the
-- opted-out filter read ~3,600 conversations to show 50.
--
-- The unread count of a conversation reads this index only: its direction is in it. It
-- replaces 001's index of the same key, so writing a message costs no more index
-- entries than before.
DROP INDEX conversation.messages_conversation;
CREATE INDEX messages_conversation ON conversation.messages (conversation_id, created_at) INCLUDE (direction);

-- The conversations needing a person with what the unread count reads of them, so it
-- reads this index only; replaces 007's index of the same key and predicate.
DROP INDEX conversation.conversations_attention;
CREATE INDEX conversations_attention ON conversation.conversations (tenant_id, updated_at DESC) INCLUDE (id, last_read_at)
    WHERE needs_attention;

-- The opted-out filter in the inbox's order and keyset (3 % of conversations: walking
-- conversations_inbox for them reads ~30 rows for each one shown). Booked (20 %) and
-- needing a person (first in the order) need no index of their own.
CREATE INDEX conversations_inbox_opted_out ON conversation.conversations (tenant_id, needs_attention DESC, updated_at DESC, id DESC)
    WHERE opted_out;
