// Package actors holds what every actor kind shares: the Directory that finds or spawns an
// actor by identity, in this process or, in a cluster, on the node that owns it. Callers
// never keep PIDs; they ask the directory each time.
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
	"google.golang.org/protobuf/proto"
)

// ErrUnknownKind is returned for a kind no one registered.
var ErrUnknownKind = errors.New("unknown actor kind")

// Kind is how to build the actors of one kind.
type Kind struct {
	// Produce makes the actor of an identity.
	Produce func(identity string) actor.Actor
	// Options are the props options of every actor of the kind (middleware, mailbox).
	Options []actor.PropsOption
	// Guardian supervises the kind's actors in a single process (they are spawned at the
	// root); in a cluster the node's placement actor is their parent and supervises them.
	Guardian actor.SupervisorStrategy
	// Codec is the protobuf form of the kind's messages, which a cluster carries between
	// nodes (nil: the kind runs only in a single process).
	Codec Codec
}

// Codec converts a kind's messages, commands and answers, to and from protobuf.
type Codec interface {
	ToWire(msg any) (proto.Message, error)
	FromWire(m proto.Message) (any, error)
}

// Grains is where a cluster runs the actors: Request and Send reach the activation of
// (kind, identity) on whichever node owns it, activating it there if need be.
type Grains interface {
	Request(ctx context.Context, kind, identity string, msg proto.Message, timeout time.Duration) (any, error)
	Send(kind, identity string, msg proto.Message) error
}

// Directory finds the one live activation of (kind, identity), spawning it on first use:
// in this process, or, once a cluster is attached (UseGrains), on the node that owns the
// identity. It also knows the activations that live in this process, either way.
//
// Single process: an actor that passivates calls Forget before it stops; a request that
// raced with the stop meets a dead letter and is retried against a fresh activation
// (every mutating message carries an idempotency key, so a retry is safe).
type Directory struct {
	system *actor.ActorSystem

	mu     sync.Mutex
	kinds  map[string]Kind
	pids   map[key]*actor.PID // the activations in this process
	grains Grains             // nil: a single process
}

type key struct{ kind, identity string }

// NewDirectory returns an empty directory on system.
func NewDirectory(system *actor.ActorSystem) *Directory {
	return &Directory{system: system, kinds: map[string]Kind{}, pids: map[key]*actor.PID{}}
}

// System is the actor system the directory spawns on.
func (d *Directory) System() *actor.ActorSystem { return d.system }

// Register declares how to build actors of kind.
func (d *Directory) Register(kind string, k Kind) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.kinds[kind] = k
}

// Kinds lists the registered kinds, for a cluster to host.
func (d *Directory) Kinds() map[string]Kind {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]Kind, len(d.kinds))
	for n, k := range d.kinds {
		out[n] = k
	}
	return out
}

// UseGrains makes every later Request and Send go through a cluster.
func (d *Directory) UseGrains(g Grains) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.grains = g
}

// Clustered says the directory reaches actors through a cluster.
func (d *Directory) Clustered() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.grains != nil
}

// Get returns the PID of (kind, identity) in this process, spawning the actor if none is
// live. In a cluster, actors are spawned by the cluster, never by Get.
func (d *Directory) Get(kind, identity string) (*actor.PID, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := key{kind, identity}
	if pid, ok := d.pids[k]; ok {
		return pid, nil
	}
	spec, ok := d.kinds[kind]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKind, kind)
	}
	opts := spec.Options
	if spec.Guardian != nil {
		opts = append([]actor.PropsOption{actor.WithGuardian(spec.Guardian)}, opts...)
	}
	pid := d.system.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return spec.Produce(identity) }, opts...), kind+"/")
	d.pids[k] = pid
	return pid, nil
}

// Lookup returns the PID of a live activation in this process, without spawning one.
func (d *Directory) Lookup(kind, identity string) (*actor.PID, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pid, ok := d.pids[key{kind, identity}]
	return pid, ok
}

// Hosted records an activation the cluster started in this process (see Grain).
func (d *Directory) Hosted(kind, identity string, pid *actor.PID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pids[key{kind, identity}] = pid
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
	if g, codec, err := d.clustered(kind); err != nil || g != nil {
		if err != nil {
			return nil, err
		}
		wire, err := codec.ToWire(msg)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, identity, err)
		}
		res, err := g.Request(ctx, kind, identity, wire, timeout)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, identity, err)
		}
		if m, ok := res.(proto.Message); ok {
			return codec.FromWire(m) // answered from another node
		}
		return res, nil // answered in this process
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
	if g, codec, err := d.clustered(kind); err != nil || g != nil {
		if err != nil {
			return err
		}
		wire, err := codec.ToWire(msg)
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, identity, err)
		}
		return g.Send(kind, identity, wire)
	}
	pid, err := d.Get(kind, identity)
	if err != nil {
		return err
	}
	d.system.Root.Send(pid, msg)
	return nil
}

// clustered is the cluster and the kind's codec when requests go through a cluster.
func (d *Directory) clustered(kind string) (Grains, Codec, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.grains == nil {
		return nil, nil, nil
	}
	spec, ok := d.kinds[kind]
	switch {
	case !ok:
		return nil, nil, fmt.Errorf("%w: %s", ErrUnknownKind, kind)
	case spec.Codec == nil:
		return nil, nil, fmt.Errorf("%s has no wire form: it cannot run in a cluster", kind)
	}
	return d.grains, spec.Codec, nil
}

// Live lists the live activations of kind in this process as identity → PID.
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

// StopAll stops every live activation in this process, letting each finish the message
// it is on and run its Stopping handler, and waits up to timeout. ActorSystem.Shutdown
// alone would not stop them. In a cluster this is how a node hands its grains over: they
// reactivate on the nodes that own them next.
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
	return actor.NewOneForOneStrategy(10, 10*time.Second, Restarting(kind, restarts, log))
}

// Restarting is the decider of RestartingGuardian, for a cluster's grains too.
func Restarting(kind string, restarts *prometheus.CounterVec, log *slog.Logger) actor.DeciderFunc {
	return func(reason any) actor.Directive {
		restarts.WithLabelValues(kind).Inc()
		log.Error("actor crashed; restarting", "kind", kind, "reason", fmt.Sprint(reason))
		return actor.RestartDirective
	}
}
