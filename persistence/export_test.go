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
