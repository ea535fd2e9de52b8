package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

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
	// JobLease is how long a worker's claim on a job lasts: past it (its engine died
	// mid-call) another worker may run the job. Default twice CallTimeout, the longest a
	// job's vendor call and the recording of its outcome take.
	JobLease time.Duration
	Backoff  Backoff // between a job's attempts and a child's restarts
	// A child restarted more than GiveUpAfter times within RestartWindow is parked.
	GiveUpAfter   int           // default 5
	RestartWindow time.Duration // default 10 min
	// OnRestart, if set, hears of each child restart once its timer is armed (tests).
	OnRestart func(connection string, delay time.Duration)
	// Directory is where the connections' actors live (set by Start).
	Directory *actors.Directory
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
	if d.JobLease <= 0 {
		d.JobLease = 2 * d.CallTimeout
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

// Service runs the sync actors: a host per connection (kind "sync" in the directory, a
// grain in a cluster), each the parent of its connection's worker.
type Service struct {
	deps *Deps
	dir  *actors.Directory
}

// Start registers the connection kind with the directory and starts an actor for every
// active connection.
func Start(system *actor.ActorSystem, dir *actors.Directory, deps Deps) (*Service, error) {
	deps.defaults()
	deps.Directory = dir
	d := &deps
	strategy := &restartStrategy{
		backoff: deps.Backoff, window: deps.RestartWindow, giveUpAfter: deps.GiveUpAfter, clock: deps.Clock,
		failures: map[string]failureRun{}, watched: map[string]watched{},
		onRestart: func(connection string, reason any, delay time.Duration) {
			deps.Metrics.ActorRestarts.WithLabelValues("sync").Inc()
			deps.Log.Error("sync connection crashed; restarting", "connection", connection,
				"delay", delay, "reason", firstLine(fmt.Sprint(reason)))
			if deps.OnRestart != nil {
				deps.OnRestart(connection, delay)
			}
		},
	}
	dir.Register(Kind, actors.Kind{
		Produce: func(identity string) actor.Actor { return newHost(d, strategy, identity) },
		Options: []actor.PropsOption{actor.WithSupervisor(strategy), actors.Instrument("sync", deps.Metrics)},
		Codec:   wireCodec,
	})
	s := &Service{deps: d, dir: dir}
	s.Reconcile()
	return s, nil
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

// Reconcile makes the running connections match Postgres (after a tenant config is
// applied or a connection resumed, and periodically, so that in a cluster a connection
// whose owner changed starts on its new owner): every active connection is told to run,
// and this process's hosts of connections that are no longer active retire.
func (s *Service) Reconcile() {
	ctx, cancel := context.WithTimeout(context.Background(), s.deps.CallTimeout)
	defer cancel()
	conns, err := s.deps.Store.Connections(ctx, "")
	if err != nil {
		s.deps.Log.Warn("sync: listing connections failed", "err", err)
		return
	}
	active := map[string]bool{}
	for _, c := range conns {
		if _, ok := s.deps.Connect[c.Provider]; !ok || c.State != Active {
			continue
		}
		id := Identity(c.Provider, c.TenantID, c.ID)
		active[id] = true
		if err := s.dir.Send(Kind, id, &Ensure{}); err != nil {
			s.deps.Log.Warn("sync: starting a connection failed; the next reconcile retries", "connection", id, "err", err)
		}
	}
	for id, pid := range s.dir.Live(Kind) {
		if !active[id] {
			s.dir.System().Root.Send(pid, &Retire{})
		}
	}
}

// Kick tells a connection it has new jobs.
func (s *Service) Kick(tenantID, connID, provider string) {
	_ = s.dir.Send(Kind, Identity(provider, tenantID, connID), &kick{})
}

// VendorChanged hands a stored vendor webhook to its connection to reconcile.
func (s *Service) VendorChanged(tenantID, connID, provider string, ch *VendorChange) {
	_ = s.dir.Send(Kind, Identity(provider, tenantID, connID), ch)
}

// ReadCalendars imports a connection's busy time now and waits for the result.
func (s *Service) ReadCalendars(ctx context.Context, tenantID, connID, provider string) error {
	if _, ok := s.deps.Connect[provider]; !ok {
		return fmt.Errorf("no %s connections run here", provider)
	}
	res, err := s.dir.Request(ctx, Kind, Identity(provider, tenantID, connID), &readCalendars{}, requestTimeout)
	if err != nil {
		return err
	}
	if r, ok := res.(*calendarsRead); ok {
		return r.err
	}
	return errors.New("unexpected answer")
}

// Settle waits until no connection running in this process has a job in flight or due:
// the backlog is worked as far as it can be now (jobs waiting to retry stay pending).
func (s *Service) Settle(ctx context.Context) error {
	for id, pid := range s.dir.Live(Kind) {
		if _, err := request(ctx, s.dir.System().Root, pid, &settleRequest{}); err != nil && !errors.Is(err, actor.ErrDeadLetter) {
			return fmt.Errorf("settle %s: %w", id, err)
		}
		// A worker reports giving up to its host before it answers; this round trip
		// makes sure the host has recorded that.
		if _, err := request(ctx, s.dir.System().Root, pid, &runningRequest{}); err != nil && !errors.Is(err, actor.ErrDeadLetter) {
			return fmt.Errorf("settle %s: %w", id, err)
		}
	}
	return nil
}

// Running lists the connections whose worker runs in this process (tenant/connection),
// per provider.
func (s *Service) Running(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for id, pid := range s.dir.Live(Kind) {
		res, err := request(ctx, s.dir.System().Root, pid, &runningRequest{})
		if errors.Is(err, actor.ErrDeadLetter) {
			continue // retired meanwhile
		}
		if err != nil {
			return nil, err
		}
		if res.(*runningResponse).running {
			provider, key, _ := strings.Cut(id, "/")
			out[provider] = append(out[provider], key)
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
	for p := range s.deps.Connect {
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

// Stop stops the connections running in this process (their workers finish the message
// they are on).
func (s *Service) Stop() {
	for _, pid := range s.dir.Live(Kind) {
		_ = s.dir.System().Root.PoisonFuture(pid).Wait()
	}
}

func request(ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any) (any, error) {
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	return root.RequestFuture(pid, msg, timeout).Result()
}
