-- A conversation step whose webhook envelope was processed before raises this, so the
-- step's transaction writes nothing, and the store can tell a repeat (RB001) from a
-- stale version (serialization_failure) without a query of its own (persistence.Save).
CREATE FUNCTION conversation.repeated_step() RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'webhook already processed' USING ERRCODE = 'RB001';
END
$$;
