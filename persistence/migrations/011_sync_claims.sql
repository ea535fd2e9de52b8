-- Sync jobs are claimed before they run, so that in a cluster two engines never work the
-- same job (a connection's actor can live on two nodes for a moment while membership
-- settles). A claim runs out at claimed_until: a claim whose engine died is taken over
-- then, and the time is the claim's fencing token (only the current claim records an
-- outcome). 'running' was already an allowed state.
ALTER TABLE fulfillment.sync_jobs ADD COLUMN claimed_until timestamptz;

-- The head of each appointment's queue, per connection: claimed jobs are heads too.
DROP INDEX fulfillment.sync_jobs_queue;
CREATE INDEX sync_jobs_queue ON fulfillment.sync_jobs (tenant_id, connection_id, appointment_id, seq)
    WHERE state IN ('pending', 'running');
