package sync

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"ringback/actors"
)

// Kind is the directory kind of connections; identity "provider/tenant/connection".
const Kind = "sync"

// Identity names a connection's actor.
func Identity(provider, tenantID, connID string) string {
	return provider + "/" + tenantID + "/" + connID
}

// The messages a connection's host accepts from outside (each has a wire form, so in a
// cluster they reach the host on whichever node owns the connection).
type (
	// Ensure starts the connection's worker if the connection is active and the worker
	// is not running; a reconcile sends it for every active connection.
	Ensure struct{}
	// Retire stops the worker and the host: the connection was parked or removed.
	Retire struct{}
)

// Host messages between a host and its worker, or answered only in this process.
type (
	// childGaveUp is the worker asking to be stopped and its connection marked state.
	childGaveUp struct {
		pid    *actor.PID
		state  ConnState
		reason string
	}
	// runningRequest is answered with *runningResponse: whether the worker runs.
	runningRequest  struct{}
	runningResponse struct{ running bool }
)

// host is one connection's actor: the parent of its worker (the child actor that works
// its jobs and reads its calendars), restarting it with backoff when it crashes and
// parking the connection when it keeps crashing or the vendor refuses its credentials.
// What must survive the worker's restarts lives here: the appointments with a job at the
// vendor (so a new worker never starts a second job for one) and who waits for the
// connection to settle.
type host struct {
	deps     *Deps
	strategy *restartStrategy
	identity string
	conn     Connection
	flight   *inFlight
	child    *actor.PID
	retired  bool
}

func newHost(deps *Deps, strategy *restartStrategy, identity string) *host {
	provider, rest, _ := strings.Cut(identity, "/")
	tenantID, connID, _ := strings.Cut(rest, "/")
	return &host{deps: deps, strategy: strategy, identity: identity,
		conn: Connection{Provider: provider, TenantID: tenantID, ID: connID}, flight: &inFlight{appts: map[uuid.UUID]bool{}}}
}

func (h *host) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started, *Ensure:
		h.ensure(ctx)
	case *Retire:
		h.retire(ctx)
	case *childGaveUp:
		h.park(ctx, m)
	case *kick, *VendorChange:
		if h.child != nil {
			ctx.Send(h.child, m)
		}
	case *readCalendars:
		h.readCalendars(ctx)
	case *settleRequest:
		if h.child == nil {
			ctx.Respond(&settleResponse{})
			return
		}
		ctx.Forward(h.child) // the worker answers once it has settled
	case *runningRequest:
		ctx.Respond(&runningResponse{running: h.child != nil})
	case *actor.Stopping:
		if h.child != nil {
			h.strategy.forget(h.child)
		}
	case *actor.Stopped, *actor.Restarting, *actor.PoisonPill, *actor.Terminated:
	default:
		h.deps.Log.Warn("sync: a connection got an unknown message", "connection", h.conn.key(), "type", fmt.Sprintf("%T", m))
	}
}

// ensure starts the worker if the connection is active and none runs.
func (h *host) ensure(ctx actor.Context) {
	if h.child != nil || h.retired {
		return
	}
	cctx, cancel := context.WithTimeout(context.Background(), h.deps.CallTimeout)
	defer cancel()
	conns, err := h.deps.Store.Connections(cctx, h.conn.Provider)
	if err != nil {
		h.deps.Log.Warn("sync: reading the connection failed; the next reconcile retries", "connection", h.conn.key(), "err", err)
		return
	}
	for _, c := range conns {
		if c.TenantID != h.conn.TenantID || c.ID != h.conn.ID {
			continue
		}
		if c.State != Active {
			h.retire(ctx)
			return
		}
		h.conn = c
		if _, ok := h.deps.Connect[c.Provider]; !ok {
			return // no factory for this provider in this engine
		}
		conn, parent, deps, flight := c, ctx.Self(), h.deps, h.flight
		pid, err := ctx.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
			return &child{deps: deps, conn: conn, flight: flight, parent: parent}
		}, actors.Instrument("sync", deps.Metrics)), "worker")
		if err != nil {
			h.deps.Log.Warn("sync: starting a connection failed", "connection", h.conn.key(), "err", err)
			return
		}
		h.child = pid
		h.strategy.watch(pid, ctx.Self(), h.conn.key())
		return
	}
	h.retire(ctx) // removed from the config
}

// retire stops the worker (after the messages already in its mailbox) and the host.
func (h *host) retire(ctx actor.Context) {
	h.retired = true
	if h.child != nil {
		h.strategy.forget(h.child)
		ctx.Poison(h.child)
		h.child = nil
	}
	h.deps.Directory.Forget(Kind, h.identity, ctx.Self())
	ctx.Poison(ctx.Self())
}

// park stops the worker for good and records why on the connection.
func (h *host) park(ctx actor.Context, m *childGaveUp) {
	if h.child != nil && m.pid != nil && h.child.Equal(m.pid) {
		h.strategy.forget(h.child)
		ctx.Stop(h.child)
		h.child = nil
	}
	h.deps.Log.Error("sync: connection parked", "connection", h.conn.key(), "state", m.state, "reason", m.reason)
	cctx, cancel := context.WithTimeout(context.Background(), h.deps.CallTimeout)
	defer cancel()
	if err := h.deps.Store.SetConnectionState(cctx, h.conn.TenantID, h.conn.ID, m.state, m.reason); err != nil {
		h.deps.Log.Warn("sync: recording a parked connection failed", "connection", h.conn.key(), "err", err)
	}
}

// readCalendars asks the worker for a busy-time import and answers the caller itself (in
// a cluster the caller may be on another node: the host's answers cross in their wire
// form), without holding its mailbox while the vendor answers.
func (h *host) readCalendars(ctx actor.Context) {
	if h.child == nil {
		ctx.Respond(&calendarsRead{err: fmt.Errorf("connection %s is not running", h.conn.key())})
		return
	}
	f := ctx.RequestFuture(h.child, &readCalendars{}, 2*h.deps.CallTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if r, ok := res.(*calendarsRead); ok && err == nil {
			ctx.Respond(r)
			return
		}
		ctx.Respond(&calendarsRead{err: fmt.Errorf("connection %s: the calendar read did not finish: %v", h.conn.key(), err)})
	})
}

// requestTimeout bounds a request to a local host (tests' Settle, Running).
const requestTimeout = 30 * time.Second
