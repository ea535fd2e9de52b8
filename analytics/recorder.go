package analytics

import (
	"slices"
	"sync"
)

// Recorder takes domain events. Record never blocks and never fails its caller: an event
// it cannot take is dropped and counted, because the event log must never slow down or
// break the work it describes. Emitters record after the change they report is committed,
// and pass Data by value (the recorder owns it from then on).
type Recorder interface {
	Record(e Event)
}

// Nop drops every event: for tests and wiring that have no event log.
type Nop struct{}

// Record does nothing.
func (Nop) Record(Event) {}

// Memory keeps every event in memory, in order: for tests of emitters. Safe for concurrent
// use; the zero value is ready.
type Memory struct {
	mu     sync.Mutex
	events []Event
}

// Record appends e.
func (m *Memory) Record(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
}

// Events returns a copy of what was recorded, optionally only the given kinds.
func (m *Memory) Events(kinds ...Kind) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for _, e := range m.events {
		if len(kinds) == 0 || slices.Contains(kinds, e.Kind) {
			out = append(out, e)
		}
	}
	return out
}

var (
	_ Recorder = Nop{}
	_ Recorder = (*Memory)(nil)
	_ Recorder = (*Writer)(nil)
)
