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
