-- The outbox's index of deliveries still to send no longer mentions status, so claiming a
-- delivery (pending → sending) and applying its receipts (sent → delivered) are HOT
-- updates, writing no index entry (the claim went from ~0.24 to ~0.10 ms of Postgres per
-- row, docs/PERFORMANCE.md). A delivery leaves the index when the provider accepts it
-- (it has a sid from then on); one that ends without a sid (suppressed, failed before the
-- provider took it, sandbox) moves its next_attempt_at to infinity, which takes it out
-- of the index too (queries using it repeat that clause). The fillfactor leaves each
-- page room for the HOT updates.
DROP INDEX conversation.deliveries_pending;
UPDATE conversation.deliveries SET next_attempt_at = 'infinity'
    WHERE provider_sid IS NULL AND status NOT IN ('pending', 'sending');
CREATE INDEX deliveries_unsent ON conversation.deliveries (next_attempt_at)
    WHERE provider_sid IS NULL AND next_attempt_at <> 'infinity';
ALTER TABLE conversation.deliveries SET (fillfactor = 70);
