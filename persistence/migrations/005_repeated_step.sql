-- A conversation step whose webhook envelope was processed before raises this, so the
-- step's transaction writes nothing, and the store can tell a repeat (RB001) from a
-- stale version (serialization_failure) without a query of its own (persistence.Save).
CREATE FUNCTION conversation.repeated_step() RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'webhook already processed' USING ERRCODE = 'RB001';
END
$$;

-- An outbound message's provider sid lives on its delivery (joined on client_message_id);
-- the acceptance of a send no longer copies it here (one write less per SMS).
COMMENT ON COLUMN conversation.messages.provider_sid IS
    'inbound: the provider''s message sid; outbound: NULL, see conversation.deliveries.provider_sid';
