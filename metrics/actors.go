package metrics

import (
	"sync"
	"weak"

	"github.com/prometheus/client_golang/prometheus"
)

// ActorKind is one actor kind's instruments, resolved once so that the receive path does
// no label lookup and no allocation: actors.Instrument feeds them.
type ActorKind struct {
	Messages prometheus.Counter  // ringback_actor_messages_total{kind}
	Seconds  prometheus.Observer // ringback_actor_message_seconds{kind}

	mailboxes mailboxSet // read by ringback_actor_mailbox_messages{kind}
}

// Queue is what the depth gauge reads of a mailbox: protoactor's mailboxes keep this
// count themselves (an atomic, decremented when a message is taken), so measuring depth
// costs nothing per message.
type Queue interface{ UserMessageCount() int }

// QueueHandle ties a mailbox to the depth gauge. The gauge holds it weakly: the mailbox
// that keeps the handle counts while it is reachable and stops counting once collected.
type QueueHandle struct{ q Queue }

// Track counts q's waiting messages in ringback_actor_mailbox_messages{kind} for as long
// as the returned handle is reachable; the caller (the mailbox) must keep it. Holding it
// weakly means no actor-stop hook is needed, and a mailbox abandoned with messages in it
// (an actor stopped while suspended after a crash) stops counting once the garbage
// collector frees it.
func (k *ActorKind) Track(q Queue) *QueueHandle {
	h := &QueueHandle{q: q}
	k.mailboxes.add(weak.Make(h))
	return h
}

// mailboxSet is the weakly held mailboxes of one kind. Adds happen per activation, sums
// per scrape; both prune collected entries so it stays the size of the live set.
type mailboxSet struct {
	mu    sync.Mutex
	live  []weak.Pointer[QueueHandle]
	limit int // prune on add when live grows past this
}

func (s *mailboxSet) add(p weak.Pointer[QueueHandle]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.live) >= s.limit {
		s.pruneLocked()
		s.limit = max(2*len(s.live), 1024)
	}
	s.live = append(s.live, p)
}

// sum is the messages waiting in every live mailbox.
func (s *mailboxSet) sum() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	kept := s.live[:0]
	for _, p := range s.live {
		if h := p.Value(); h != nil {
			n += h.q.UserMessageCount()
			kept = append(kept, p)
		}
	}
	clear(s.live[len(kept):])
	s.live = kept
	return n
}

func (s *mailboxSet) pruneLocked() {
	kept := s.live[:0]
	for _, p := range s.live {
		if p.Value() != nil {
			kept = append(kept, p)
		}
	}
	clear(s.live[len(kept):])
	s.live = kept
}
