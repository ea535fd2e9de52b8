package persistence

import "ringback/actors/conversation"

// SaveSteps exposes the group commit of conversation steps, so a test can hand it a
// group deterministically (Save forms groups from whatever arrives together).
func (s *Conversations) SaveSteps(batch []conversation.Commit) []error {
	out, err := s.saveSteps(batch)
	if err != nil {
		panic(err) // saveSteps reports errors per step
	}
	return out
}

// LoadMany exposes the grouped load: the conversations of (endpoint, phone) pairs, in
// order, nil for none.
func (s *Conversations) LoadMany(pairs ...[2]string) []*conversation.State {
	keys := make([]conversationKey, len(pairs))
	for i, p := range pairs {
		keys[i] = conversationKey{p[0], p[1]}
	}
	out, err := s.loadConversations(keys)
	if err != nil {
		panic(err)
	}
	return out
}

// StoreReceipts exposes the grouped store of receipts: outcomes and errors in order.
func (s *Conversations) StoreReceipts(batch ...ReceiptEnvelope) ([]StoredReceipt, []error) {
	got, err := s.storeReceipts(batch)
	if err != nil {
		panic(err)
	}
	res, errs := make([]StoredReceipt, len(got)), make([]error, len(got))
	for i, g := range got {
		res[i], errs[i] = g.res, g.err
	}
	return res, errs
}

// OutboxBatch runs claims (ids) and acceptances (id → sid, all "queued") as one call of
// the outbox's group: the claimed ones (ok), the status each acceptance stored, and the
// errors of those that failed on their own.
func (s *Conversations) OutboxBatch(claims []string, accepts map[string]string) (map[string]bool, map[string]string, map[string]error) {
	var ops []outboxOp
	for _, id := range claims {
		ops = append(ops, outboxOp{claim: id})
	}
	for id, sid := range accepts {
		ops = append(ops, outboxOp{acc: &acceptance{id: id, sid: sid, status: "queued"}})
	}
	got, err := s.outboxWrites(ops)
	if err != nil {
		panic(err)
	}
	claimed, stored, failed := map[string]bool{}, map[string]string{}, map[string]error{}
	for i, op := range ops {
		id := op.claim
		if op.acc != nil {
			id = op.acc.id
		}
		switch {
		case got[i].err != nil:
			failed[id] = got[i].err
		case op.acc != nil:
			stored[id] = got[i].status
		case got[i].claimed.ok:
			if claimed[id] {
				panic("claimed twice: " + id)
			}
			claimed[id] = true
		}
	}
	return claimed, stored, failed
}

// InboxQuery is the statement and arguments of an inbox page; UnreadSQL the console's
// unread count (their plans are tested on a seeded tenant).
func InboxQuery(tenantID, filter string, after *InboxCursor, limit int) (string, []any) {
	return inboxQuery(tenantID, filter, after, limit)
}

const UnreadSQL = unreadSQL
