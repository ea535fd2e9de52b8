package sync

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	gosync "sync"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"ringback/actors/resource"
	"ringback/analytics"
	"ringback/tenant"
)

// The messages a connection child accepts.
type (
	// kick says the connection may have new jobs.
	kick struct{}
	// wake is the child's retry timer firing.
	wake struct{}
	// opened is a provider's Open reporting back.
	opened struct{ err error }
	// jobFinished is a worker reporting a job's end; panicked is set if the provider
	// panicked. recorded says the outcome is in Postgres, at `at` (else the job runs again).
	jobFinished struct {
		job      Job
		outcome  string
		err      error
		recorded bool
		at       time.Time
		panicked any
	}
	// readCalendars asks for a busy-time import now; answered with *calendarsRead when
	// replyTo is set.
	readCalendars struct{}
	calendarsRead struct{ err error }
	// settleRequest is answered with *settleResponse once no job is in flight and none
	// is due (tests and shutdown use it to know the backlog is worked).
	settleRequest  struct{}
	settleResponse struct{}
)

// inFlight is the set of appointments a connection's workers are syncing, and who waits
// for the connection to settle. It belongs to the supervisor, not the child, so it
// survives the child's restarts: a new incarnation never starts a second job for an
// appointment whose first is still with the vendor, and answers the old one's waiters.
type inFlight struct {
	mu       gosync.Mutex
	appts    map[uuid.UUID]bool
	settlers []*actor.PID
}

func (f *inFlight) wait(pid *actor.PID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settlers = append(f.settlers, pid)
}

func (f *inFlight) takeSettlers() []*actor.PID {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.settlers
	f.settlers = nil
	return out
}

func (f *inFlight) tryAdd(id uuid.UUID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.appts[id] {
		return false
	}
	f.appts[id] = true
	return true
}

func (f *inFlight) remove(id uuid.UUID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.appts, id)
}

// list is the appointments in flight.
func (f *inFlight) list() []uuid.UUID {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]uuid.UUID, 0, len(f.appts))
	for id := range f.appts {
		out = append(out, id)
	}
	return out
}

func (f *inFlight) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.appts)
}

// child works one connection: its job backlog, and (for calendars) its busy-time import.
// Vendor calls run in goroutines that report back with messages; the mailbox only
// decides what to start next.
type child struct {
	deps     *Deps
	conn     Connection
	flight   *inFlight
	parent   *actor.PID
	provider Provider

	stopWake    func() bool
	wakeAt      time.Time
	stopRead    func() bool
	reading     bool
	readers     []*actor.PID // waiting for the read in progress
	nextReaders []*actor.PID // waiting for a read that starts after their request
	reconciling int          // vendor changes being reconciled, and a provider's Open
	stopped     bool         // gave up (reconnect needed): ignore work until stopped
	consecFail  int
}

func (c *child) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		c.stopTimers()
	case *kick, *wake:
		c.fill(ctx)
	case *jobFinished:
		c.onFinished(ctx, m)
	case *readCalendars:
		if ctx.Sender() != nil {
			// An on-demand read must begin after the request: one asked for while a read
			// is running waits for the next.
			c.nextReaders = append(c.nextReaders, ctx.Sender())
		}
		c.read(ctx)
	case *calendarsRead:
		c.onRead(ctx, m)
	case *VendorChange:
		c.reconcileChange(ctx, m)
	case *opened:
		c.onOpened(ctx, m)
	case *vendorChangeDone:
		c.reconciling--
		c.deps.Log.Info("sync: vendor change handled", "connection", c.conn.key(), "key", m.key, "outcome", m.outcome)
		c.fill(ctx)
	case *settleRequest:
		c.flight.wait(ctx.Sender())
		c.fill(ctx)
	}
}

func (c *child) start(ctx actor.Context) {
	cctx, cancel := context.WithTimeout(context.Background(), c.deps.CallTimeout)
	defer cancel()
	p, err := c.deps.Connect[c.conn.Provider](cctx, c.conn)
	if err != nil {
		if errors.Is(err, ErrReconnect) {
			c.giveUp(ctx, ReconnectNeeded, err)
			return
		}
		if IsPermanent(err) {
			c.giveUp(ctx, Parked, err)
			return
		}
		panic(fmt.Sprintf("connect %s: %v", c.conn.key(), err)) // the supervisor backs off and retries
	}
	c.provider = p
	if o, ok := p.(Opener); ok {
		c.reconciling++
		self, root, timeout := ctx.Self(), ctx.ActorSystem().Root, c.deps.CallTimeout
		go func() {
			octx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			root.Send(self, &opened{err: o.Open(octx)})
		}()
	}
	c.fill(ctx)
	if _, ok := p.(BusyReader); ok {
		c.read(ctx)
	}
}

// onOpened accounts for a provider's Open.
func (c *child) onOpened(ctx actor.Context, m *opened) {
	c.reconciling--
	switch {
	case errors.Is(m.err, ErrReconnect):
		c.giveUp(ctx, ReconnectNeeded, m.err)
		return
	case m.err != nil:
		c.deps.Log.Warn("sync: opening the connection failed; retried when it restarts", "connection", c.conn.key(), "err", m.err)
	}
	c.fill(ctx)
}

func (c *child) stopTimers() {
	if c.stopWake != nil {
		c.stopWake()
		c.stopWake = nil
	}
	if c.stopRead != nil {
		c.stopRead()
		c.stopRead = nil
	}
}

// giveUp stops all work and asks the supervisor to stop this child and record why.
func (c *child) giveUp(ctx actor.Context, state ConnState, err error) {
	if c.stopped {
		return
	}
	c.stopped = true
	c.stopTimers()
	ctx.Send(c.parent, &childGaveUp{pid: ctx.Self(), state: state, reason: err.Error()})
	c.answerSettlers(ctx)
}

// fill starts due jobs up to the in-flight limit, in queue order, at most one per
// appointment; with nothing to start it arms the timer for the next due job.
func (c *child) fill(ctx actor.Context) {
	if c.stopped || c.provider == nil {
		c.answerSettlers(ctx)
		return
	}
	now := c.deps.Clock.Now()
	qctx, cancel := context.WithTimeout(context.Background(), c.deps.CallTimeout)
	defer cancel()
	free := c.deps.MaxInFlight - c.flight.count()
	if free > 0 {
		// Not the next job of an appointment whose last job is still reporting back here
		// (done in Postgres, its jobFinished not yet handled): one at a time per appointment.
		jobs, err := c.deps.Store.ClaimJobs(qctx, c.conn.TenantID, c.conn.ID, c.flight.list(), now, now.Add(c.deps.JobLease), free)
		if err != nil {
			c.deps.Log.Warn("sync: claiming jobs failed", "connection", c.conn.key(), "err", err)
			c.armWake(ctx, now.Add(c.deps.Backoff.Initial))
			return
		}
		for _, j := range jobs {
			c.flight.tryAdd(j.AppointmentID)
			c.run(ctx, j)
		}
	}
	if c.flight.count() > 0 {
		return // a finishing job fills again
	}
	at, ok, err := c.deps.Store.NextDue(qctx, c.conn.TenantID, c.conn.ID)
	switch {
	case err != nil:
		c.armWake(ctx, now.Add(c.deps.Backoff.Initial))
		return
	case ok && !at.After(now):
		ctx.Send(ctx.Self(), &wake{}) // due but not fetched (a race with a commit): look again
		return
	case ok:
		c.armWake(ctx, at)
	}
	c.answerSettlers(ctx)
}

// answerSettlers answers the settle requests once nothing is in progress.
func (c *child) answerSettlers(ctx actor.Context) {
	if !c.stopped && (c.reconciling > 0 || c.flight.count() > 0) {
		return
	}
	for _, s := range c.flight.takeSettlers() {
		ctx.Send(s, &settleResponse{})
	}
}

func (c *child) armWake(ctx actor.Context, at time.Time) {
	if c.stopWake != nil && c.wakeAt.Equal(at) {
		return
	}
	if c.stopWake != nil {
		c.stopWake()
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	c.wakeAt = at
	c.stopWake = c.deps.Clock.AfterFunc(at.Sub(c.deps.Clock.Now()), func() { root.Send(self, &wake{}) })
}

// run syncs one job in a goroutine and records its outcome before reporting back, so a
// crash between the two only repeats the (idempotent) vendor call.
func (c *child) run(ctx actor.Context, j Job) {
	self, root, provider, deps, conn := ctx.Self(), ctx.ActorSystem().Root, c.provider, c.deps, c.conn
	go func() {
		done := &jobFinished{job: j}
		defer func() {
			if r := recover(); r != nil {
				done.panicked = fmt.Sprintf("%v\n%s", r, debug.Stack())
			}
			root.Send(self, done)
		}()
		cctx, cancel := context.WithTimeout(context.Background(), deps.CallTimeout)
		defer cancel()
		appt, err := deps.appointment(cctx, conn, j.AppointmentID)
		if err == nil {
			err = provider.Sync(cctx, j, appt, deps.Store.Refs(conn.TenantID, conn.ID, j.AppointmentID))
		}
		done.err = err
		done.outcome, done.at, done.recorded = deps.record(j, err)
	}()
}

// maxEventError bounds the vendor error a sync.outcome carries, in bytes.
const maxEventError = 200

// shorten cuts s to at most n bytes (and an ellipsis) on a UTF-8 boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// onFinished accounts for a job: a panic is re-raised here, in the actor, so the
// supervisor restarts the child; credentials refused for good park the connection.
func (c *child) onFinished(ctx actor.Context, m *jobFinished) {
	c.flight.remove(m.job.AppointmentID)
	if m.panicked != nil {
		panic(m.panicked)
	}
	c.deps.Metrics.SyncJobs.WithLabelValues(c.conn.Provider, m.outcome).Inc()
	if m.recorded {
		d := analytics.SyncOutcomeData{ConnectionID: c.conn.ID, Provider: c.conn.Provider, Action: string(m.job.Action),
			Outcome: m.outcome, Attempt: m.job.Attempts + 1}
		if m.err != nil {
			d.Error = shorten(m.err.Error(), maxEventError)
		}
		c.deps.Events.Record(analytics.Event{TenantID: c.conn.TenantID, Kind: analytics.SyncOutcome, OccurredAt: m.at,
			Subject: m.job.AppointmentID.String(), Data: d})
	}
	if m.err != nil {
		c.deps.Log.Warn("sync job failed", "connection", c.conn.key(), "appointment", m.job.AppointmentID,
			"action", m.job.Action, "attempt", m.job.Attempts+1, "outcome", m.outcome, "err", m.err)
	}
	if errors.Is(m.err, ErrReconnect) {
		c.giveUp(ctx, ReconnectNeeded, m.err)
		return
	}
	c.fill(ctx)
}

// read imports busy time of every resource whose calendar is on this connection.
func (c *child) read(ctx actor.Context) {
	br, ok := c.provider.(BusyReader)
	if !ok || c.stopped {
		c.readers, c.nextReaders = append(c.readers, c.nextReaders...), nil
		c.answerReaders(ctx, errors.New("this connection has no calendars to read"))
		return
	}
	if c.reading {
		return // onRead starts another for nextReaders
	}
	c.reading = true
	c.readers, c.nextReaders = append(c.readers, c.nextReaders...), nil
	self, root, deps, conn := ctx.Self(), ctx.ActorSystem().Root, c.deps, c.conn
	go func() {
		err := deps.readCalendars(conn, br)
		root.Send(self, &calendarsRead{err: err})
	}()
}

func (c *child) onRead(ctx actor.Context, m *calendarsRead) {
	c.reading = false
	c.answerReaders(ctx, m.err)
	if errors.Is(m.err, ErrReconnect) {
		c.readers, c.nextReaders = c.nextReaders, nil
		c.answerReaders(ctx, m.err)
		c.giveUp(ctx, ReconnectNeeded, m.err)
		return
	}
	if len(c.nextReaders) > 0 {
		c.read(ctx) // its own completion re-arms the timer
		return
	}
	every := tenant.DefaultPolicies.CalendarRefresh.Std()
	cctx, cancel := context.WithTimeout(context.Background(), c.deps.CallTimeout)
	defer cancel()
	if cfg, err := c.deps.Catalog.Tenant(cctx, c.conn.TenantID); err == nil {
		every = cfg.Policies.CalendarRefresh.Std()
	}
	if c.stopRead != nil {
		c.stopRead()
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	c.stopRead = c.deps.Clock.AfterFunc(every, func() { root.Send(self, &readCalendars{}) })
}

func (c *child) answerReaders(ctx actor.Context, err error) {
	for _, r := range c.readers {
		ctx.Send(r, &calendarsRead{err: err})
	}
	c.readers = nil
}

// appointment is what the vendor is told about an appointment: its current state.
func (d *Deps) appointment(ctx context.Context, conn Connection, id uuid.UUID) (Appointment, error) {
	a, err := d.Store.FindAppointment(ctx, conn.TenantID, id)
	if errors.Is(err, resource.ErrNotFound) {
		return Appointment{}, Permanent(fmt.Errorf("appointment %s not found", id))
	}
	if err != nil {
		return Appointment{}, err
	}
	cfg, err := d.Catalog.Tenant(ctx, conn.TenantID)
	if err != nil {
		return Appointment{}, err
	}
	out := Appointment{
		ID: a.ID, TenantID: a.TenantID, BusinessName: cfg.Name, TimeZone: cfg.Timezone,
		ResourceID: a.ResourceID, ResourceName: a.ResourceID, ServiceID: a.ServiceID, ServiceName: a.ServiceID,
		Start: a.Start, End: a.End, CustomerPhone: a.Customer.Phone, CustomerName: a.Customer.Name,
		Quote: tenant.FormatMoney(a.Quote.AmountMinor, a.Quote.Currency), Cancelled: a.Status == string(resource.Cancelled),
		ConfirmedAt: a.ConfirmedAt,
	}
	if r, ok := cfg.Resource(a.ResourceID); ok {
		out.ResourceName = r.Name
		if r.Calendar != nil && r.Calendar.Connection == conn.ID {
			out.CalendarID = r.Calendar.CalendarID
		}
	}
	if s, ok := cfg.Service(a.ServiceID); ok {
		out.ServiceName = s.Name
	}
	return out, nil
}

// record stores a job's outcome and returns its metric label (ok, retry or failed), the
// time it was recorded at, and whether Postgres took it.
func (d *Deps) record(j Job, err error) (outcome string, at time.Time, recorded bool) {
	ctx, cancel := context.WithTimeout(context.Background(), d.CallTimeout)
	defer cancel()
	now := d.Clock.Now()
	outcome = "ok"
	var werr error
	switch {
	case err == nil:
		werr = d.Store.JobDone(ctx, j, now)
	case IsPermanent(err) || j.Attempts+1 >= d.MaxAttempts:
		outcome = "failed"
		werr = d.Store.JobFailed(ctx, j, err.Error(), now)
	default:
		outcome = "retry"
		delay := d.Backoff.Delay(j.Attempts + 1)
		if after, ok := RetryDelay(err); ok {
			delay = max(delay, after)
		}
		if errors.Is(err, ErrReconnect) {
			delay = 0 // waits for the connection to be reconnected instead
		}
		werr = d.Store.JobRetry(ctx, j, err.Error(), now.Add(delay), now)
	}
	if werr != nil {
		d.Log.Warn("sync: recording a job's outcome failed; it will run again", "seq", j.Seq, "err", werr)
	}
	return outcome, now, werr == nil
}

// readCalendars imports the busy time of the connection's calendars for the tenant's
// booking horizon. Each resource's read is recorded on its own, so one unreadable
// calendar does not make the others stale.
func (d *Deps) readCalendars(conn Connection, br BusyReader) error {
	ctx, cancel := context.WithTimeout(context.Background(), d.CallTimeout)
	defer cancel()
	cfg, err := d.Catalog.Tenant(ctx, conn.TenantID)
	if err != nil {
		return err
	}
	var longest time.Duration
	for _, s := range cfg.Services {
		longest = max(longest, s.Duration.Std())
	}
	var errs []error
	for _, r := range cfg.Resources {
		if r.Calendar == nil || r.Calendar.Connection != conn.ID {
			continue
		}
		now := d.Clock.Now()
		busy, err := br.Busy(ctx, r.Calendar.CalendarID, now.Add(-longest), now.Add(cfg.Policies.Horizon.Std()+longest))
		if err != nil {
			errs = append(errs, fmt.Errorf("calendar of %s: %w", r.ID, err))
			if werr := d.Store.CalendarReadFailed(ctx, conn.TenantID, r.ID, err.Error(), now); werr != nil {
				d.Log.Warn("sync: recording a failed calendar read failed", "resource", r.ID, "err", werr)
			}
			continue
		}
		if err := d.Store.CalendarRead(ctx, conn.TenantID, r.ID, busy, now); err != nil {
			errs = append(errs, err)
			continue
		}
		d.Busy(conn.TenantID, r.ID, busy, now)
	}
	return errors.Join(errs...)
}
