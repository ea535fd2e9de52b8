// Package actors holds what every actor kind shares: the Directory that finds or spawns an
// actor by identity. Callers never keep PIDs; they ask the directory each time, so a
// cluster's identity lookup can replace it later without touching them.
package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrUnknownKind is returned for a kind no one registered.
var ErrUnknownKind = errors.New("unknown actor kind")

// PropsFunc builds the props of the actor that owns identity.
type PropsFunc func(identity string) *actor.Props

// Directory finds the one live activation of (kind, identity) in this process, spawning it
// on first use. An actor that passivates calls Forget before it stops; a request that
// raced with the stop meets a dead letter and is retried against a fresh activation
// (every mutating message carries an idempotency key, so a retry is safe).
type Directory struct {
	system *actor.ActorSystem

	mu    sync.Mutex
	kinds map[string]PropsFunc
	pids  map[key]*actor.PID
}

type key struct{ kind, identity string }

// NewDirectory returns an empty directory on system.
func NewDirectory(system *actor.ActorSystem) *Directory {
	return &Directory{system: system, kinds: map[string]PropsFunc{}, pids: map[key]*actor.PID{}}
}

// System is the actor system the directory spawns on.
func (d *Directory) System() *actor.ActorSystem { return d.system }

// Register declares how to build actors of kind.
func (d *Directory) Register(kind string, props PropsFunc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.kinds[kind] = props
}

// Get returns the PID of (kind, identity), spawning the actor if none is live.
func (d *Directory) Get(kind, identity string) (*actor.PID, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := key{kind, identity}
	if pid, ok := d.pids[k]; ok {
		return pid, nil
	}
	props, ok := d.kinds[kind]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKind, kind)
	}
	pid := d.system.Root.SpawnPrefix(props(identity), kind+"/")
	d.pids[k] = pid
	return pid, nil
}

// Lookup returns the PID of a live activation, without spawning one.
func (d *Directory) Lookup(kind, identity string) (*actor.PID, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pid, ok := d.pids[key{kind, identity}]
	return pid, ok
}

// Forget drops (kind, identity) if it still maps to pid; the actor calls it as it
// passivates, so the next Get spawns a fresh activation.
func (d *Directory) Forget(kind, identity string, pid *actor.PID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := key{kind, identity}
	if cur, ok := d.pids[k]; ok && cur.Equal(pid) {
		delete(d.pids, k)
	}
}

// Request sends msg to (kind, identity) and waits for the answer. A dead letter (the
// activation stopped under us) is retried on a fresh activation.
func (d *Directory) Request(ctx context.Context, kind, identity string, msg any, timeout time.Duration) (any, error) {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = left
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		pid, err := d.Get(kind, identity)
		if err != nil {
			return nil, err
		}
		res, err := d.system.Root.RequestFuture(pid, msg, timeout).Result()
		if errors.Is(err, actor.ErrDeadLetter) {
			d.Forget(kind, identity, pid)
			lastErr = err
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, identity, err)
		}
		return res, nil
	}
	return nil, fmt.Errorf("%s %s: %w", kind, identity, lastErr)
}

// Send delivers msg to (kind, identity) without waiting.
func (d *Directory) Send(kind, identity string, msg any) error {
	pid, err := d.Get(kind, identity)
	if err != nil {
		return err
	}
	d.system.Root.Send(pid, msg)
	return nil
}

// Live lists the live activations of kind as identity → PID.
func (d *Directory) Live(kind string) map[string]*actor.PID {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]*actor.PID{}
	for k, pid := range d.pids {
		if k.kind == kind {
			out[k.identity] = pid
		}
	}
	return out
}

// StopAll stops every live activation, letting each finish the message it is on and run
// its Stopping handler, and waits up to timeout. ActorSystem.Shutdown alone would not
// stop them.
func (d *Directory) StopAll(timeout time.Duration) {
	d.mu.Lock()
	pids := make([]*actor.PID, 0, len(d.pids))
	for _, pid := range d.pids {
		pids = append(pids, pid)
	}
	d.pids = map[key]*actor.PID{}
	d.mu.Unlock()
	futures := make([]actor.Future, len(pids))
	for i, pid := range pids {
		futures[i] = d.system.Root.PoisonFuture(pid)
	}
	done := make(chan struct{})
	go func() {
		for _, f := range futures {
			_ = f.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// RestartingGuardian supervises the actors of one kind: a panicking actor is restarted (it
// reloads its state from Postgres), each restart counted in
// ringback_actor_restarts_total{kind} and logged; more than 10 within 10 s stops it.
func RestartingGuardian(kind string, restarts *prometheus.CounterVec, log *slog.Logger) actor.SupervisorStrategy {
	return actor.NewOneForOneStrategy(10, 10*time.Second, func(reason any) actor.Directive {
		restarts.WithLabelValues(kind).Inc()
		log.Error("actor crashed; restarting", "kind", kind, "reason", fmt.Sprint(reason))
		return actor.RestartDirective
	})
}
