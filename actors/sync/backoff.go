package sync

import (
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"ringback/clock"
)

// Backoff is capped exponential backoff with jitter: the n-th consecutive failure waits
// Initial·2ⁿ⁻¹, at most Max, of which a random half is shaved off ("equal jitter"), so
// connections failing together do not retry together and never retry sooner than half
// the nominal delay.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// DefaultBackoff waits 1 s, 2 s, 4 s … up to 5 min.
var DefaultBackoff = Backoff{Initial: time.Second, Max: 5 * time.Minute}

// Delay is the wait after the n-th consecutive failure (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// restartStrategy supervises connection children. A child that fails is restarted after
// a Backoff delay that grows with its failures within window (protoactor's own
// exponential strategy grows linearly and has no cap); a child that fails more than
// giveUpAfter times within window is stopped and reported to giveUp, which parks its
// connection. Failures are counted per child on the injected clock.
type restartStrategy struct {
	backoff     Backoff
	window      time.Duration
	giveUpAfter int
	clock       clock.Clock
	onRestart   func(connection string, reason any, delay time.Duration)

	mu       gosync.Mutex
	failures map[string]failureRun
	watched  map[string]watched // by child PID id: its host and connection
}

// watched is a worker's host (told when the worker gives up) and its connection's key.
type watched struct {
	host *actor.PID
	key  string
}

// watch registers a host's new worker.
func (s *restartStrategy) watch(child, host *actor.PID, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watched[child.Id] = watched{host: host, key: key}
}

type failureRun struct {
	count int
	last  time.Time
}

var _ actor.SupervisorStrategy = (*restartStrategy)(nil)

func (s *restartStrategy) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	now := s.clock.Now()
	s.mu.Lock()
	run := s.failures[child.Id]
	if now.Sub(run.last) > s.window {
		run.count = 0
	}
	run.count++
	run.last = now
	s.failures[child.Id] = run
	giveUp := run.count > s.giveUpAfter
	if giveUp {
		delete(s.failures, child.Id)
	}
	w := s.watched[child.Id]
	s.mu.Unlock()

	if giveUp {
		sup.StopChildren(child)
		if w.host != nil {
			system.Root.Send(w.host, &childGaveUp{pid: child, state: Parked, reason: "kept crashing: " + firstLine(fmt.Sprint(reason))})
		}
		return
	}
	delay := s.backoff.Delay(run.count)
	s.clock.AfterFunc(delay, func() { sup.RestartChildren(child) })
	s.onRestart(w.key, reason, delay)
}

// forget drops a stopped child's failure count.
func (s *restartStrategy) forget(child *actor.PID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failures, child.Id)
	delete(s.watched, child.Id)
}
