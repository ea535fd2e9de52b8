package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Live fans a tenant's changes out to its open console pages over Server-Sent Events.
// A change carries no data of its own: the page fetches itself again, so a slow or
// reconnecting tab can miss events without missing anything. Each subscriber has a
// one-slot buffer (changes coalesce), so memory is bounded per connection whatever the
// rate of changes.
type Live struct {
	mu     sync.Mutex
	seq    map[string]uint64 // the tenant's latest change number
	subs   map[string]map[chan struct{}]struct{}
	counts map[string]*unreadCount // the unread count as of a change, shared by the tenant's streams
}

// unreadCount is a tenant's unread count as of change seq; mu lets one stream count while
// the others wait for its answer instead of each counting.
type unreadCount struct {
	mu    sync.Mutex
	seq   uint64
	valid bool
	n     int
}

// NewLive returns an empty broker.
func NewLive() *Live {
	return &Live{seq: map[string]uint64{}, subs: map[string]map[chan struct{}]struct{}{}, counts: map[string]*unreadCount{}}
}

// Publish tells the tenant's open pages that something changed. It never blocks.
func (l *Live) Publish(tenantID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq[tenantID]++
	for ch := range l.subs[tenantID] {
		select {
		case ch <- struct{}{}:
		default: // a change is already pending for this page
		}
	}
}

// Subscribers counts the open pages (for tests and metrics).
func (l *Live) Subscribers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.subs {
		n += len(s)
	}
	return n
}

func (l *Live) subscribe(tenantID string) (chan struct{}, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan struct{}, 1)
	if l.subs[tenantID] == nil {
		l.subs[tenantID] = map[chan struct{}]struct{}{}
	}
	l.subs[tenantID][ch] = struct{}{}
	return ch, l.seq[tenantID]
}

func (l *Live) unsubscribe(tenantID string, ch chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.subs[tenantID], ch)
	if len(l.subs[tenantID]) == 0 {
		delete(l.subs, tenantID)
		delete(l.counts, tenantID)
	}
}

// unread is the tenant's unread count as of change seq: counted once per change, however
// many of the tenant's pages are open (count runs the query).
func (l *Live) unread(tenantID string, seq uint64, count func() (int, error)) (int, error) {
	l.mu.Lock()
	c := l.counts[tenantID]
	if c == nil {
		c = &unreadCount{}
		l.counts[tenantID] = c
	}
	l.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.seq >= seq {
		return c.n, nil
	}
	n, err := count()
	if err != nil {
		return 0, err
	}
	c.seq, c.n, c.valid = seq, n, true
	return n, nil
}

func (l *Live) current(tenantID string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq[tenantID]
}

// liveHeartbeat keeps idle connections open through proxies; liveWriteTimeout bounds one
// write to a stream.
const (
	liveHeartbeat    = 25 * time.Second
	liveWriteTimeout = 10 * time.Second
)

// consoleEvents streams the user's tenant's changes: "event: change" with the unread
// count, an id per change, and an immediate change for a reconnect (Last-Event-ID)
// that missed some.
func (s *Server) consoleEvents(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	flusher, ok := w.(http.Flusher)
	if !ok || s.deps.Live == nil {
		s.consoleError(w, http.StatusNotImplemented, "Live updates are not available.")
		return
	}
	ch, seq := s.deps.Live.subscribe(u.TenantID)
	defer s.deps.Live.unsubscribe(u.TenantID, ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	// A stream outlives the server's WriteTimeout: each write gets its own deadline
	// instead, so a tab that stops reading is let go, and one that reads stays open.
	rc := http.NewResponseController(w)
	deadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout)) }
	deadline()
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\n\n")
	send := func() bool {
		seq := s.deps.Live.current(u.TenantID)
		unread, _ := s.deps.Live.unread(u.TenantID, seq, func() (int, error) {
			n, _, err := s.deps.Console.Unread(r.Context(), u.TenantID)
			return n, err
		})
		data, _ := json.Marshal(map[string]int{"unread": unread})
		deadline()
		_, err := fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", seq, data)
		flusher.Flush()
		return err == nil
	}
	if last, err := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64); err == nil && last < seq {
		if !send() {
			return
		}
	} else {
		flusher.Flush()
	}
	beat := time.NewTicker(liveHeartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ch:
			if !send() {
				return
			}
		case <-beat.C:
			deadline()
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}
