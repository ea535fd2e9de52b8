package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"ringback/actors"
	"ringback/actors/resource"
	"ringback/analytics"
	"ringback/clock"
	"ringback/metrics"
)

// Factory builds the Provider of a connection (reading and opening its credentials). An
// error wrapping ErrReconnect parks the connection; any other is retried with backoff.
type Factory func(ctx context.Context, conn Connection) (Provider, error)

// Deps are what the sync actors need; cmd/engine plugs in the concrete types.
type Deps struct {
	Store   Store
	Catalog resource.Catalog
	Connect map[string]Factory // by provider
	Clock   clock.Clock
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// Busy hands freshly read busy time to the resource's actor (if it is live; a
	// resource actor that starts later loads it from Postgres).
	Busy func(tenantID, resourceID string, busy []Interval, readAt time.Time)
	// Bookings applies changes made on a vendor's side.
	Bookings Bookings
	// Events receives a sync.outcome for each job attempt whose outcome was recorded in
	// Postgres (nil: analytics.Nop{}).
	Events analytics.Recorder

	MaxInFlight int           // jobs in flight per connection; default 4
	MaxAttempts int           // failed attempts before a job is given up; default 50
	CallTimeout time.Duration // bound of one vendor call or store query; default 30 s
	Backoff     Backoff       // between a job's attempts and a child's restarts
	// A child restarted more than GiveUpAfter times within RestartWindow is parked.
	GiveUpAfter   int           // default 5
	RestartWindow time.Duration // default 10 min
	// OnRestart, if set, hears of each child restart once its timer is armed (tests).
	OnRestart func(connection string, delay time.Duration)
}

func (d *Deps) defaults() {
	if d.MaxInFlight <= 0 {
		d.MaxInFlight = 4
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = 50
	}
	if d.CallTimeout <= 0 {
		d.CallTimeout = 30 * time.Second
	}
	if d.Backoff == (Backoff{}) {
		d.Backoff = DefaultBackoff
	}
	if d.GiveUpAfter <= 0 {
		d.GiveUpAfter = 5
	}
	if d.RestartWindow <= 0 {
		d.RestartWindow = 10 * time.Minute
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Events == nil {
		d.Events = analytics.Nop{}
	}
}

// Supervisor messages.
type (
	// reconcile makes the children match the connections in Postgres.
	reconcile struct{}
	// toConnection forwards msg to the child of key, if it runs.
	toConnection struct {
		key string
		msg any
	}
	// childGaveUp is a child asking to be stopped and its connection marked state.
	childGaveUp struct {
		key    string
		pid    *actor.PID
		state  ConnState
		reason string
	}
	// childrenRequest is answered with the running children.
	childrenRequest  struct{}
	childrenResponse struct{ pids map[string]*actor.PID }
)

// supervisor owns the children of one provider.
type supervisor struct {
	provider string
	deps     *Deps
	strategy *restartStrategy
	children map[string]*actor.PID
	byPID    map[string]string     // child PID id → connection key
	flights  map[string]*inFlight  // by connection key; outlives the children
	conns    map[string]Connection // by connection key
}

func (s *supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.reconcile(ctx)
	case *reconcile:
		s.reconcile(ctx)
	case *toConnection:
		if pid, ok := s.children[m.key]; ok {
			ctx.RequestWithCustomSender(pid, m.msg, ctx.Sender())
		} else if ctx.Sender() != nil {
			ctx.Respond(notRunning(m.msg, m.key))
		}
	case *childGaveUp:
		s.park(ctx, m)
	case *childrenRequest:
		out := make(map[string]*actor.PID, len(s.children))
		for k, pid := range s.children {
			out[k] = pid
		}
		ctx.Respond(&childrenResponse{pids: out})
	}
}

// notRunning answers a request for a connection without a running child.
func notRunning(msg any, key string) any {
	switch msg.(type) {
	case *readCalendars:
		return &calendarsRead{err: fmt.Errorf("connection %s is not running", key)}
	case *settleRequest:
		return &settleResponse{}
	}
	return nil
}

func (s *supervisor) reconcile(ctx actor.Context) {
	cctx, cancel := context.WithTimeout(context.Background(), s.deps.CallTimeout)
	defer cancel()
	conns, err := s.deps.Store.Connections(cctx, s.provider)
	if err != nil {
		s.deps.Log.Warn("sync: listing connections failed", "provider", s.provider, "err", err)
		return
	}
	want := map[string]Connection{}
	for _, c := range conns {
		if c.State == Active {
			want[c.key()] = c
		}
	}
	for k, pid := range s.children {
		if _, ok := want[k]; !ok {
			s.stop(ctx, k, pid)
		}
	}
	for k, c := range want {
		if _, ok := s.children[k]; ok {
			continue
		}
		flight := s.flights[k]
		if flight == nil {
			flight = &inFlight{appts: map[uuid.UUID]bool{}}
			s.flights[k] = flight
		}
		conn, parent, deps := c, ctx.Self(), s.deps
		pid, err := ctx.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
			return &child{deps: deps, conn: conn, flight: flight, parent: parent}
		}, actors.Instrument("sync", deps.Metrics)), k)
		if err != nil {
			s.deps.Log.Warn("sync: spawning a connection failed", "connection", k, "err", err)
			continue
		}
		s.children[k], s.byPID[pid.Id], s.conns[k] = pid, k, c
	}
}

// stop ends a child after the messages already in its mailbox (a poison pill, not a
// system stop), so requests forwarded to it before are still answered.
func (s *supervisor) stop(ctx actor.Context, key string, pid *actor.PID) {
	s.strategy.forget(pid)
	ctx.Poison(pid)
	delete(s.children, key)
	delete(s.byPID, pid.Id)
}

// park stops a child for good and records why on its connection.
func (s *supervisor) park(ctx actor.Context, m *childGaveUp) {
	if pid, ok := s.children[m.key]; ok && pid.Equal(m.pid) {
		s.stop(ctx, m.key, pid)
	} else if m.pid != nil {
		delete(s.byPID, m.pid.Id)
		delete(s.children, m.key)
	}
	c := s.conns[m.key]
	s.deps.Log.Error("sync: connection parked", "connection", m.key, "state", m.state, "reason", m.reason)
	cctx, cancel := context.WithTimeout(context.Background(), s.deps.CallTimeout)
	defer cancel()
	if err := s.deps.Store.SetConnectionState(cctx, c.TenantID, c.ID, m.state, m.reason); err != nil {
		s.deps.Log.Warn("sync: recording a parked connection failed", "connection", m.key, "err", err)
	}
}

// Service runs the sync actors: one supervisor per provider with a Factory.
type Service struct {
	deps        *Deps
	root        *actor.RootContext
	supervisors map[string]*actor.PID
}

// Start spawns the supervisors; each starts a child per active connection.
func Start(system *actor.ActorSystem, deps Deps) (*Service, error) {
	deps.defaults()
	s := &Service{deps: &deps, root: system.Root, supervisors: map[string]*actor.PID{}}
	for provider := range deps.Connect {
		sup := &supervisor{provider: provider, deps: s.deps, children: map[string]*actor.PID{},
			byPID: map[string]string{}, flights: map[string]*inFlight{}, conns: map[string]Connection{}}
		sup.strategy = &restartStrategy{
			backoff: deps.Backoff, window: deps.RestartWindow, giveUpAfter: deps.GiveUpAfter, clock: deps.Clock,
			failures: map[string]failureRun{},
			onRestart: func(child *actor.PID, reason any, delay time.Duration) {
				deps.Metrics.ActorRestarts.WithLabelValues("sync").Inc()
				deps.Log.Error("sync connection crashed; restarting", "connection", sup.keyOf(child),
					"delay", delay, "reason", firstLine(fmt.Sprint(reason)))
				if deps.OnRestart != nil {
					deps.OnRestart(sup.keyOf(child), delay)
				}
			},
		}
		props := actor.PropsFromProducer(func() actor.Actor { return sup }, actor.WithSupervisor(sup.strategy),
			actors.Instrument("sync", deps.Metrics))
		pid, err := system.Root.SpawnNamed(props, "sync-"+provider)
		if err != nil {
			s.Stop()
			return nil, err
		}
		sup.strategy.giveUp = func(child *actor.PID, reason any) {
			system.Root.Send(pid, &childGaveUp{key: sup.keyOf(child), pid: child, state: Parked,
				reason: "kept crashing: " + firstLine(fmt.Sprint(reason))})
		}
		s.supervisors[provider] = pid
	}
	return s, nil
}

// keyOf is the connection key of a child. The strategy calls it from the supervisor's
// own goroutine (protoactor handles a child's failure in its parent's mailbox).
func (s *supervisor) keyOf(child *actor.PID) string { return s.byPID[child.Id] }

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

// Reconcile makes the running children match the connections in Postgres (after a
// tenant config is applied, or a connection resumed).
func (s *Service) Reconcile() {
	for _, pid := range s.supervisors {
		s.root.Send(pid, &reconcile{})
	}
}

// Kick tells a connection it has new jobs.
func (s *Service) Kick(tenantID, connID, provider string) {
	if pid, ok := s.supervisors[provider]; ok {
		s.root.Send(pid, &toConnection{key: tenantID + "/" + connID, msg: &kick{}})
	}
}

// VendorChanged hands a stored vendor webhook to its connection to reconcile.
func (s *Service) VendorChanged(tenantID, connID, provider string, ch *VendorChange) {
	if pid, ok := s.supervisors[provider]; ok {
		s.root.Send(pid, &toConnection{key: tenantID + "/" + connID, msg: ch})
	}
}

// ReadCalendars imports a connection's busy time now and waits for the result.
func (s *Service) ReadCalendars(ctx context.Context, tenantID, connID, provider string) error {
	pid, ok := s.supervisors[provider]
	if !ok {
		return fmt.Errorf("no %s connections run here", provider)
	}
	res, err := request(ctx, s.root, pid, &toConnection{key: tenantID + "/" + connID, msg: &readCalendars{}})
	if err != nil {
		return err
	}
	if r, ok := res.(*calendarsRead); ok {
		return r.err
	}
	return errors.New("unexpected answer")
}

// Settle waits until no connection has a job in flight or due: the backlog is worked
// as far as it can be now (jobs waiting to retry stay pending).
func (s *Service) Settle(ctx context.Context) error {
	for _, sup := range s.supervisors {
		res, err := request(ctx, s.root, sup, &childrenRequest{})
		if err != nil {
			return err
		}
		for k := range res.(*childrenResponse).pids {
			// Through the supervisor: it answers for a child parked meanwhile.
			_, err := request(ctx, s.root, sup, &toConnection{key: k, msg: &settleRequest{}})
			if err != nil && !errors.Is(err, actor.ErrDeadLetter) {
				return fmt.Errorf("settle %s: %w", k, err)
			}
		}
		// Children report giving up to the supervisor before they answer; this round trip
		// makes sure it has recorded that.
		if _, err := request(ctx, s.root, sup, &childrenRequest{}); err != nil {
			return err
		}
	}
	return nil
}

// Running lists the running children's connection keys (tenant/connection) per provider.
func (s *Service) Running(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for p, sup := range s.supervisors {
		res, err := request(ctx, s.root, sup, &childrenRequest{})
		if err != nil {
			return nil, err
		}
		for k := range res.(*childrenResponse).pids {
			out[p] = append(out[p], k)
		}
	}
	return out, nil
}

// UpdateBacklog sets the sync gauges from Postgres: pending jobs and the oldest one's
// age per provider, and connections per provider and state.
func (s *Service) UpdateBacklog(ctx context.Context) error {
	backlog, err := s.deps.Store.Backlog(ctx)
	if err != nil {
		return err
	}
	conns, err := s.deps.Store.Connections(ctx, "")
	if err != nil {
		return err
	}
	byState := map[string]map[ConnState]int{}
	for _, c := range conns {
		if byState[c.Provider] == nil {
			byState[c.Provider] = map[ConnState]int{}
		}
		byState[c.Provider][c.State]++
	}
	now := s.deps.Clock.Now()
	for p := range s.supervisors {
		b := backlog[p]
		age := 0.0
		if b.Pending > 0 {
			age = max(0, now.Sub(b.Oldest).Seconds())
		}
		s.deps.Metrics.SyncBacklog.WithLabelValues(p).Set(float64(b.Pending))
		s.deps.Metrics.SyncBacklogAge.WithLabelValues(p).Set(age)
		for _, st := range []ConnState{Active, Parked, ReconnectNeeded} {
			s.deps.Metrics.SyncConnections.WithLabelValues(p, string(st)).Set(float64(byState[p][st]))
		}
	}
	return nil
}

// Stop stops the supervisors and their children.
func (s *Service) Stop() {
	for _, pid := range s.supervisors {
		_ = s.root.StopFuture(pid).Wait()
	}
}

func request(ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any) (any, error) {
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	return root.RequestFuture(pid, msg, timeout).Result()
}
