package resource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"ringback/actors"
	"ringback/analytics"
	"ringback/clock"
	"ringback/metrics"
	"ringback/tenant"
)

// Kind is the directory kind of resource actors; their identity is "tenant/resource".
const Kind = "resource"

// Identity names the actor of a tenant's resource.
func Identity(tenantID, resourceID string) string { return tenantID + "/" + resourceID }

// Catalog gives the actors their tenant's config.
type Catalog interface {
	Tenant(ctx context.Context, id string) (*tenant.Config, error)
}

// Deps are what every resource actor shares.
type Deps struct {
	Store     Store
	Writer    *Writer
	Clock     clock.Clock
	Catalog   Catalog
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	Directory *actors.Directory
	// IdleTimeout passivates an actor with no live holds after this long without messages
	// (default 5m).
	IdleTimeout time.Duration
	// LoadTimeout bounds the Postgres round trip an actor makes when it starts (default 5s).
	LoadTimeout time.Duration
	// SyncQueued, if set, hears of sync jobs committed for targets (so the sync actors
	// start on them now rather than at their next poll). It must not block.
	SyncQueued func(tenantID string, targets []SyncTarget)
	// Events receives the hold.* and appointment.* events, each once its write is
	// committed (nil: analytics.Nop{}).
	Events analytics.Recorder
}

// Props builds the props of the actor for identity "tenant/resource". Panics restart the
// actor (it reloads from Postgres), counted in ringback_actor_restarts_total.
func Props(deps *Deps) actors.Kind {
	if deps.IdleTimeout == 0 {
		deps.IdleTimeout = 5 * time.Minute
	}
	if deps.LoadTimeout == 0 {
		deps.LoadTimeout = 5 * time.Second
	}
	if deps.Events == nil {
		deps.Events = analytics.Nop{}
	}
	guardian := actors.RestartingGuardian(Kind, deps.Metrics.ActorRestarts, deps.Log)
	return actors.Kind{
		Produce: func(identity string) actor.Actor {
			tenantID, resourceID, _ := strings.Cut(identity, "/")
			return &Actor{deps: deps, identity: identity, tenantID: tenantID, resourceID: resourceID}
		},
		Options:  []actor.PropsOption{actors.Instrument(Kind, deps.Metrics)},
		Guardian: guardian,
		Codec:    wireCodec,
	}
}

// entry is a claim the actor holds in memory, with the write in flight on it, if any.
type entry struct {
	Claim
	pending  bool         // a write about this claim is in flight
	deferred []deferred   // commands that arrived while it was
	waiters  []*actor.PID // callers to answer when a pending insert lands (duplicates of the first)
	stop     func() bool  // the expiry timer of a hold
}

type deferred struct {
	msg    any
	sender *actor.PID
}

// Actor is the single writer of one resource's calendar.
type Actor struct {
	deps                 *Deps
	identity             string
	tenantID, resourceID string

	cfg      *tenant.Config
	res      tenant.Resource
	retired  bool // no longer in the tenant's config
	loc      *time.Location
	weekly   tenant.Weekly
	loadErr  error
	claims   map[uuid.UUID]*entry // live and pending claims, by id...
	occupied occupancy            // ...and by time
	byAppt   map[uuid.UUID]uuid.UUID
	busy     []Interval
	readAt   time.Time
	inFlight int
	flushers []*actor.PID
}

// Receive dispatches; decisions live in the onX methods and the pure functions they call.
func (a *Actor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		a.onStarted(c)
	case *actor.Stopping:
		a.onStopping()
	case *actor.Restarting:
		a.onStopping()
	case *actor.ReceiveTimeout:
		a.onIdle(c)
	case *written:
		a.onWritten(c, m)
	case *holdExpired:
		a.onHoldExpired(c, m)
	case *actor.Stopped, *actor.PoisonPill:
	default:
		if a.loadErr != nil {
			if err := a.load(c); err != nil {
				a.reply(c, c.Sender(), failure(c.Message(), fmt.Errorf("load resource %s: %w", a.identity, err)))
				return
			}
		}
		a.handle(c, c.Message(), c.Sender())
	}
}

// handle runs a command or query; it is also how deferred commands are replayed, which is
// why the sender is explicit rather than c.Sender().
func (a *Actor) handle(c actor.Context, msg any, sender *actor.PID) {
	switch m := msg.(type) {
	case *PlaceHold:
		a.onPlaceHold(c, m, sender)
	case *ReleaseHold:
		a.onReleaseHold(c, m, sender)
	case *ConfirmHold:
		a.onConfirmHold(c, m, sender)
	case *CancelAppointment:
		a.onCancel(c, m, sender)
	case *RescheduleAppointment:
		a.onReschedule(c, m, sender)
	case *ConfirmAttendance:
		a.onConfirmAttendance(c, m, sender)
	case *FlagUnconfirmed:
		a.onFlagUnconfirmed(c, m, sender)
	case *SlotsRequest:
		a.reply(c, sender, a.onSlots(m))
	case *BusyTimeImported:
		a.busy, a.readAt = slices.Clone(m.Busy), m.ReadAt
	case *ConfigChanged:
		if err := a.loadConfig(); err != nil {
			a.deps.Log.Warn("resource config reload failed", "resource", a.identity, "err", err)
		}
	case *FlushRequest:
		if a.inFlight == 0 {
			a.reply(c, sender, &FlushResponse{})
		} else {
			a.flushers = append(a.flushers, sender)
		}
	default:
		a.deps.Log.Warn("resource actor got an unknown message", "resource", a.identity, "type", fmt.Sprintf("%T", msg))
	}
}

func (a *Actor) reply(c actor.Context, to *actor.PID, msg any) {
	if to != nil && msg != nil {
		c.Send(to, msg)
	}
}

// failure is the answer of the right type for msg carrying err.
func failure(msg any, err error) any {
	switch msg.(type) {
	case *PlaceHold:
		return &HoldResponse{Err: err}
	case *ReleaseHold:
		return &ReleaseResponse{Err: err}
	case *ConfirmHold, *CancelAppointment, *RescheduleAppointment, *ConfirmAttendance, *FlagUnconfirmed:
		return &AppointmentResponse{Err: err}
	case *SlotsRequest:
		return &SlotsResponse{Err: err}
	case *FlushRequest:
		return &FlushResponse{}
	}
	return nil
}

// --- lifecycle -------------------------------------------------------------------------

func (a *Actor) onStarted(c actor.Context) {
	if err := a.load(c); err != nil {
		a.deps.Log.Warn("resource actor could not load; will retry on the next message", "resource", a.identity, "err", err)
	}
	c.SetReceiveTimeout(a.deps.IdleTimeout)
}

// load reads the config and the live claims (one database round trip unless the config
// is not cached) and re-arms the expiry timers of live holds.
func (a *Actor) load(c actor.Context) error {
	a.loadErr = a.loadConfig()
	if a.loadErr != nil {
		return a.loadErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.deps.LoadTimeout)
	defer cancel()
	snap, err := a.deps.Store.Load(ctx, a.tenantID, a.resourceID, a.deps.Clock.Now())
	if err != nil {
		a.loadErr = err
		return err
	}
	a.stopTimers()
	a.claims = make(map[uuid.UUID]*entry, len(snap.Claims))
	a.occupied = occupancy{}
	a.byAppt = map[uuid.UUID]uuid.UUID{}
	for _, cl := range snap.Claims {
		a.add(c, cl)
	}
	a.busy, a.readAt = snap.Busy, snap.CalendarReadAt
	return nil
}

func (a *Actor) loadConfig() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.deps.LoadTimeout)
	defer cancel()
	cfg, err := a.deps.Catalog.Tenant(ctx, a.tenantID)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return err
	}
	res, ok := cfg.Resource(a.resourceID)
	a.cfg, a.res, a.loc, a.retired = cfg, res, loc, !ok
	a.weekly = res.Weekly()
	return nil
}

func (a *Actor) onStopping() {
	a.stopTimers()
}

func (a *Actor) stopTimers() {
	for _, e := range a.claims {
		if e.stop != nil {
			e.stop()
			a.deps.Metrics.HoldsActive.Dec()
			e.stop = nil
		}
	}
}

// onIdle passivates the actor when it holds nothing a timer must watch and no write is in
// flight; its booked claims are reloaded from Postgres on the next activation.
func (a *Actor) onIdle(c actor.Context) {
	if a.inFlight > 0 || a.liveHolds() > 0 {
		c.SetReceiveTimeout(a.deps.IdleTimeout)
		return
	}
	a.deps.Directory.Forget(Kind, a.identity, c.Self())
	c.Stop(c.Self())
}

func (a *Actor) liveHolds() int {
	n := 0
	for _, e := range a.claims {
		if e.Status == Held {
			n++
		}
	}
	return n
}

// track puts e in memory: it occupies its interval from now on.
func (a *Actor) track(e *entry) {
	a.claims[e.ID] = e
	a.occupied.add(e)
}

// untrack drops e from memory (its timer, if any, is the caller's business).
func (a *Actor) untrack(e *entry) {
	delete(a.claims, e.ID)
	a.occupied.remove(e)
}

// add puts a committed live claim in memory, arming the expiry timer of a hold.
func (a *Actor) add(c actor.Context, cl Claim) *entry {
	e := &entry{Claim: cl}
	a.track(e)
	if cl.Status == Booked && cl.AppointmentID != uuid.Nil {
		a.byAppt[cl.AppointmentID] = cl.ID
	}
	if cl.Status == Held {
		a.arm(c, e)
	}
	return e
}

func (a *Actor) arm(c actor.Context, e *entry) {
	self, root, id := c.Self(), c.ActorSystem().Root, e.ID
	e.stop = a.deps.Clock.AfterFunc(e.ExpiresAt.Sub(a.deps.Clock.Now()), func() {
		root.Send(self, &holdExpired{id: id})
	})
	a.deps.Metrics.HoldsActive.Inc()
}

// disarm stops a hold's timer (it is leaving the held state).
func (a *Actor) disarm(e *entry) {
	if e.stop != nil {
		e.stop()
		e.stop = nil
		a.deps.Metrics.HoldsActive.Dec()
	}
}

func (a *Actor) remove(e *entry) {
	a.disarm(e)
	a.untrack(e)
	if e.AppointmentID != uuid.Nil && a.byAppt[e.AppointmentID] == e.ID {
		delete(a.byAppt, e.AppointmentID)
	}
}

// submit sends a write to the writer; the outcome comes back as a *written message.
// replyTo is the caller to answer when no entry carries it (may be nil).
func (a *Actor) submit(c actor.Context, w Write, replyTo *actor.PID) {
	a.inFlight++
	self, root := c.Self(), c.ActorSystem().Root
	a.deps.Writer.Submit(a.identity, w, func(res WriteResult) {
		root.Send(self, &written{w: w, res: res, replyTo: replyTo})
	})
}

func (a *Actor) onWritten(c actor.Context, m *written) {
	a.inFlight--
	switch w := m.w.(type) {
	case *InsertHold:
		a.onHoldWritten(c, w, m.res)
	case *EndHold:
		switch m.res.Outcome {
		case Done:
			kind := analytics.HoldReleased
			if w.Status == Expired {
				kind = analytics.HoldExpired
			}
			a.record(kind, w.ID, w.At, analytics.HoldEndedData{ResourceID: a.resourceID})
		case Failed:
			a.deps.Log.Error("could not end hold; the sweeper will", "resource", a.identity, "hold", w.ID, "err", m.res.Err)
		}
	case *Confirm:
		a.onConfirmWritten(c, w, m.res)
	case *Cancel:
		a.onCancelWritten(c, w, m.res, m.replyTo)
	case *Reschedule:
		a.onRescheduleWritten(c, w, m.res)
	case *MarkConfirmed, *MarkUnconfirmed:
		a.reply(c, m.replyTo, markAnswer(m.res))
	}
	if m.res.Outcome == Done {
		a.countSkippedReminders(m.w)
	}
	if m.res.Outcome == Done && a.deps.SyncQueued != nil {
		if targets := syncTargetsOf(m.w); len(targets) > 0 {
			a.deps.SyncQueued(a.tenantID, targets)
		}
	}
	if a.inFlight == 0 {
		for _, f := range a.flushers {
			a.reply(c, f, &FlushResponse{})
		}
		a.flushers = nil
	}
}

// record hands a committed change to the event log; a zero at is now.
func (a *Actor) record(kind analytics.Kind, subject uuid.UUID, at time.Time, data any) {
	if at.IsZero() {
		at = a.deps.Clock.Now()
	}
	a.deps.Events.Record(analytics.Event{TenantID: a.tenantID, Kind: kind, OccurredAt: at, Subject: subject.String(), Data: data})
}

// settle ends the pending state of e and replays the commands that waited for it.
func (a *Actor) settle(c actor.Context, e *entry) {
	e.pending = false
	waiting := e.deferred
	e.deferred = nil
	for _, d := range waiting {
		a.handle(c, d.msg, d.sender)
	}
}

// wait defers msg until the write in flight on e lands; it reports whether it did.
func (a *Actor) wait(e *entry, msg any, sender *actor.PID) bool {
	if !e.pending {
		return false
	}
	e.deferred = append(e.deferred, deferred{msg: msg, sender: sender})
	return true
}

// conflictInDB counts and logs an overlap Postgres refused after this actor allowed it:
// another activation of the resource wrote first. The actor reloads from Postgres.
func (a *Actor) conflictInDB(c actor.Context, op string) {
	a.deps.Metrics.ClaimConflictsInDB.WithLabelValues(op).Inc()
	a.deps.Log.Error("postgres refused an overlapping claim the actor allowed: another activation of this resource wrote first; reloading",
		"resource", a.identity, "operation", op)
	if err := a.reload(c); err != nil {
		a.deps.Log.Error("reload after conflict failed", "resource", a.identity, "err", err)
	}
}

// reload replaces committed state with Postgres's, keeping pending entries.
func (a *Actor) reload(c actor.Context) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.deps.LoadTimeout)
	defer cancel()
	snap, err := a.deps.Store.Load(ctx, a.tenantID, a.resourceID, a.deps.Clock.Now())
	if err != nil {
		return err
	}
	for _, e := range a.claims {
		if !e.pending {
			a.remove(e)
		}
	}
	for _, cl := range snap.Claims {
		if _, ok := a.claims[cl.ID]; !ok {
			a.add(c, cl)
		}
	}
	a.busy, a.readAt = snap.Busy, snap.CalendarReadAt
	return nil
}

// --- availability ----------------------------------------------------------------------

// rules are the slot rules of serviceID on this resource, or a RuleError.
func (a *Actor) rules(serviceID string) (SlotRules, error) {
	if a.retired {
		return SlotRules{}, ErrResourceRetired
	}
	svc, ok := a.cfg.Service(serviceID)
	if !ok || !slices.Contains(a.res.Services, serviceID) {
		return SlotRules{}, &RuleError{Field: "service", Message: fmt.Sprintf("resource %s does not offer service %q", a.resourceID, serviceID)}
	}
	p := a.cfg.Policies
	return SlotRules{
		Location:  a.loc,
		Weekly:    a.weekly,
		Duration:  svc.Duration.Std(),
		Step:      p.SlotStep.Std(),
		MinNotice: p.MinNotice.Std(),
		Horizon:   p.Horizon.Std(),
	}, nil
}

// calendarFresh reports whether the resource's external calendar (if it has one) was read
// recently enough to trust the slots computed without it.
func (a *Actor) calendarFresh(now time.Time) bool {
	if a.res.Calendar == nil {
		return true
	}
	return !a.readAt.IsZero() && now.Sub(a.readAt) <= a.cfg.Policies.CalendarStaleAfter.Std()
}

// busyWithin lists what occupies [start, end): claims and imported busy blocks. A busy
// block with exactly a claim's span is taken for that claim's own calendar event (the
// sync actors put our appointments in the same calendar we read), so a reschedule
// overlapping its own old time is not refused by its own shadow.
func (a *Actor) busyWithin(start, end time.Time) []Interval {
	out := a.occupied.intervals(start, end)
	claims := len(out)
	for _, b := range a.busy {
		if b.End.After(start) && b.Start.Before(end) && !sameSpanAsAny(b, out[:claims]) {
			out = append(out, b)
		}
	}
	return out
}

func sameSpanAsAny(b Interval, ivs []Interval) bool {
	for _, iv := range ivs {
		if iv.Start.Equal(b.Start) && iv.End.Equal(b.End) {
			return true
		}
	}
	return false
}

func (a *Actor) onSlots(m *SlotsRequest) *SlotsResponse {
	r, err := a.rules(m.ServiceID)
	if err != nil {
		return &SlotsResponse{ResourceID: a.resourceID, Err: err}
	}
	now := a.deps.Clock.Now()
	if !a.calendarFresh(now) {
		return &SlotsResponse{ResourceID: a.resourceID, Duration: r.Duration, Withheld: ErrCalendarStale.Error()}
	}
	return &SlotsResponse{
		ResourceID: a.resourceID,
		Duration:   r.Duration,
		Slots:      OpenSlots(r, a.busyWithin(m.From, m.To.Add(r.Duration)), now, m.From, m.To, m.Limit),
	}
}

// checkSlot decides whether [start, start+duration) may be claimed now, ignoring except.
func (a *Actor) checkSlot(r SlotRules, start time.Time, except uuid.UUID) error {
	now := a.deps.Clock.Now()
	if !a.calendarFresh(now) {
		return ErrCalendarStale
	}
	if !r.Fits(nil, now, start) {
		return &RuleError{Field: "starts_at", Message: "is not an open slot of this resource (outside its hours, off the slot grid, inside the minimum notice or beyond the horizon)"}
	}
	end := start.Add(r.Duration)
	if a.occupied.overlaps(start, end, except) {
		return ErrConflict
	}
	for _, b := range a.busy {
		// A claim's own calendar event is not a conflict (see busyWithin).
		if b.End.After(start) && b.Start.Before(end) && !sameSpanAsAny(b, a.occupied.intervals(b.Start, b.End)) {
			return ErrConflict
		}
	}
	return nil
}

// --- holds -----------------------------------------------------------------------------

func (a *Actor) onPlaceHold(c actor.Context, m *PlaceHold, sender *actor.PID) {
	if e, ok := a.claims[m.ID]; ok {
		if !sameHold(e.Claim, m) {
			a.reply(c, sender, &HoldResponse{Err: ErrKeyReused})
			return
		}
		if e.pending && e.Status == Held {
			e.waiters = append(e.waiters, sender)
			return
		}
		a.reply(c, sender, &HoldResponse{Hold: e.Claim, Replayed: true})
		return
	}
	r, err := a.rules(m.ServiceID)
	if err != nil {
		a.reply(c, sender, &HoldResponse{Err: err})
		return
	}
	if err := a.checkSlot(r, m.Start, uuid.Nil); err != nil {
		if errors.Is(err, ErrConflict) {
			a.deps.Metrics.Bookings.WithLabelValues(a.deps.Metrics.Tenant(a.tenantID), "conflict").Inc()
		}
		a.reply(c, sender, &HoldResponse{Err: err})
		return
	}
	now := a.deps.Clock.Now()
	svc, _ := a.cfg.Service(m.ServiceID)
	cl := Claim{
		ID: m.ID, TenantID: a.tenantID, ResourceID: a.resourceID, ServiceID: m.ServiceID,
		Start: m.Start.UTC(), End: m.Start.Add(r.Duration).UTC(), Status: Held,
		ExpiresAt: now.Add(a.cfg.Policies.HoldTTL.Std()).UTC(),
		Customer:  m.Customer,
		Quote:     Quote{AmountMinor: svc.Price.Quote(r.Duration), Currency: svc.Price.Currency},
	}
	e := &entry{Claim: cl, pending: true, waiters: []*actor.PID{sender}}
	a.track(e)
	a.submit(c, &InsertHold{Claim: cl}, nil)
}

// sameHold reports whether a replayed PlaceHold asks for what the existing hold is.
func sameHold(cl Claim, m *PlaceHold) bool {
	return cl.ServiceID == m.ServiceID && cl.Start.Equal(m.Start) && cl.Customer.Phone == m.Customer.Phone
}

func (a *Actor) onHoldWritten(c actor.Context, w *InsertHold, res WriteResult) {
	if res.Outcome == Done { // not Duplicate: a replayed request placed nothing
		cl := w.Claim
		a.record(analytics.HoldPlaced, cl.ID, time.Time{}, analytics.HoldPlacedData{
			ResourceID: cl.ResourceID, ServiceID: cl.ServiceID, StartsAt: cl.Start.UTC(), EndsAt: cl.End.UTC(),
			ExpiresAt: cl.ExpiresAt.UTC(), QuoteMinor: cl.Quote.AmountMinor, Currency: cl.Quote.Currency,
		})
	}
	e := a.claims[w.Claim.ID]
	if e == nil { // an earlier activation's write landing after a restart
		if res.Outcome == Done {
			a.add(c, w.Claim)
		}
		return
	}
	waiters := e.waiters
	e.waiters = nil
	answer := func(r *HoldResponse) {
		for _, to := range waiters {
			a.reply(c, to, r)
		}
	}
	switch res.Outcome {
	case Done:
		a.arm(c, e)
		answer(&HoldResponse{Hold: e.Claim})
		a.settle(c, e)
	case Duplicate:
		// The id exists in Postgres: this is a replay of a request made before this
		// activation (or on another resource). The first answer stands.
		a.untrack(e)
		first := *res.Claim
		if first.ResourceID == a.resourceID && first.Status == Held && first.ExpiresAt.After(a.deps.Clock.Now()) {
			a.add(c, first)
		}
		if first.ServiceID != w.Claim.ServiceID || !first.Start.Equal(w.Claim.Start) || first.Customer.Phone != w.Claim.Customer.Phone {
			answer(&HoldResponse{Err: ErrKeyReused})
		} else {
			answer(&HoldResponse{Hold: first, Replayed: true})
		}
		a.replayDeferred(c, e)
	case Conflict:
		a.untrack(e)
		a.deps.Metrics.Bookings.WithLabelValues(a.deps.Metrics.Tenant(a.tenantID), "conflict").Inc()
		a.conflictInDB(c, "hold") // counted and reloaded before the caller hears of it
		answer(&HoldResponse{Err: ErrConflict})
		a.replayDeferred(c, e)
	default:
		a.untrack(e)
		answer(&HoldResponse{Err: res.Err})
		a.replayDeferred(c, e)
	}
}

// replayDeferred re-runs commands that waited on an entry that is gone.
func (a *Actor) replayDeferred(c actor.Context, e *entry) {
	waiting := e.deferred
	e.deferred = nil
	for _, d := range waiting {
		a.handle(c, d.msg, d.sender)
	}
}

func (a *Actor) onHoldExpired(c actor.Context, m *holdExpired) {
	e, ok := a.claims[m.id]
	if !ok || e.Status != Held || e.pending {
		return
	}
	now := a.deps.Clock.Now()
	if now.Before(e.ExpiresAt) { // the timer fired early (clock adjustment): wait again
		a.disarm(e)
		a.arm(c, e)
		return
	}
	a.remove(e)
	a.deps.Metrics.Bookings.WithLabelValues(a.deps.Metrics.Tenant(a.tenantID), "expired").Inc()
	a.submit(c, &EndHold{ID: e.ID, Status: Expired, At: now}, nil)
}

func (a *Actor) onReleaseHold(c actor.Context, m *ReleaseHold, sender *actor.PID) {
	e, ok := a.claims[m.ID]
	if ok && a.wait(e, m, sender) {
		return
	}
	if !ok {
		adopted, err := a.unknownHold(c, m.ID, true)
		if adopted {
			a.onReleaseHold(c, m, sender)
			return
		}
		a.reply(c, sender, &ReleaseResponse{Err: err})
		return
	}
	if e.Status == Booked {
		a.reply(c, sender, &ReleaseResponse{Err: ErrAlreadyBooked})
		return
	}
	a.remove(e)
	a.submit(c, &EndHold{ID: e.ID, Status: Released, At: a.deps.Clock.Now()}, nil)
	a.reply(c, sender, &ReleaseResponse{})
}

// unknownHold explains a hold id the actor does not hold: nil when releasing an ended
// hold (releasing is idempotent), ErrGone, ErrAlreadyBooked, or ErrNotFound. A hold that
// Postgres has as live was taken by another activation of this resource (in a cluster
// two can live for a moment while the membership changes): Postgres decides, so this
// activation adopts it (adopted) and the caller handles the command again.
func (a *Actor) unknownHold(c actor.Context, id uuid.UUID, releasing bool) (adopted bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.deps.LoadTimeout)
	defer cancel()
	cl, err := a.deps.Store.FindClaim(ctx, a.tenantID, id)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && cl.ResourceID != a.resourceID:
		return false, ErrNotFound
	case err != nil:
		return false, err
	case cl.Status == Booked || cl.AppointmentID != uuid.Nil:
		return false, ErrAlreadyBooked
	case cl.Status == Held && a.deps.Clock.Now().Before(cl.ExpiresAt):
		a.add(c, cl)
		return true, nil
	case releasing:
		return false, nil
	default:
		return false, ErrGone
	}
}

// --- appointments ----------------------------------------------------------------------

// syncTargets are the vendor connections that must hear about this resource's appointments:
// the tenant's Jobber connection, and the Google connection of the resource's calendar.
func (a *Actor) syncTargets() []SyncTarget {
	var out []SyncTarget
	for _, conn := range a.cfg.Connections {
		if conn.Provider == "jobber" || (conn.Provider == "google" && a.res.Calendar != nil && a.res.Calendar.Connection == conn.ID) {
			out = append(out, SyncTarget{ConnectionID: conn.ID, Provider: conn.Provider})
		}
	}
	return out
}

// syncTargetsOf lists the connections a committed write queued sync jobs for.
func syncTargetsOf(w Write) []SyncTarget {
	switch w := w.(type) {
	case *Confirm:
		return w.Sync
	case *Cancel:
		return w.Sync
	case *Reschedule:
		return w.Sync
	case *MarkConfirmed:
		return w.Sync // a repeat queued nothing; the kick then finds nothing to do
	}
	return nil
}

func (a *Actor) appointment(e *entry) Appointment {
	return Appointment{
		ID: e.AppointmentID, TenantID: a.tenantID, ResourceID: a.resourceID, ServiceID: e.ServiceID,
		ClaimID: e.ID, Start: e.Start, End: e.End, Status: "booked", Customer: e.Customer, Quote: e.Quote,
	}
}

func (a *Actor) onConfirmHold(c actor.Context, m *ConfirmHold, sender *actor.PID) {
	e, ok := a.claims[m.ID]
	if ok && a.wait(e, m, sender) {
		return
	}
	if !ok {
		a.confirmUnknown(c, m, sender)
		return
	}
	if e.Status == Booked {
		if e.AppointmentID != AppointmentID(m.ID) { // the slot of a rescheduled appointment
			a.reply(c, sender, &AppointmentResponse{Err: ErrNotFound})
			return
		}
		a.replyAppointment(c, sender, e.AppointmentID)
		return
	}
	now := a.deps.Clock.Now()
	if !now.Before(e.ExpiresAt) {
		a.onHoldExpired(c, &holdExpired{id: e.ID})
		a.reply(c, sender, &AppointmentResponse{Err: ErrGone})
		return
	}
	e.pending = true
	e.waiters = []*actor.PID{sender}
	a.submit(c, &Confirm{HoldID: e.ID, AppointmentID: AppointmentID(e.ID), At: now, Sync: a.syncTargets(), Reminders: a.reminderPlan(e.Claim, now)}, nil)
}

// confirmUnknown answers a confirm for a hold not in memory: confirmed before (the same
// appointment), ended (410) or someone else's (404); one live in Postgres is adopted and
// confirmed.
func (a *Actor) confirmUnknown(c actor.Context, m *ConfirmHold, sender *actor.PID) {
	adopted, err := a.unknownHold(c, m.ID, false)
	switch {
	case adopted:
		a.onConfirmHold(c, m, sender)
	case errors.Is(err, ErrAlreadyBooked):
		a.replyAppointment(c, sender, AppointmentID(m.ID))
	default:
		a.reply(c, sender, &AppointmentResponse{Err: err})
	}
}

// replyAppointment answers with the stored appointment (a replayed confirm or cancel).
func (a *Actor) replyAppointment(c actor.Context, to *actor.PID, id uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.Background(), a.deps.LoadTimeout)
	defer cancel()
	appt, err := a.deps.Store.FindAppointment(ctx, a.tenantID, id)
	if err == nil && appt.ResourceID != a.resourceID {
		err = ErrNotFound
	}
	a.reply(c, to, &AppointmentResponse{Appointment: appt, Err: err})
}

func (a *Actor) onConfirmWritten(c actor.Context, w *Confirm, res WriteResult) {
	if res.Outcome == Done { // a repeated confirm never writes: it is answered from memory or Postgres
		appt := res.Appointment
		a.record(analytics.AppointmentBooked, w.AppointmentID, w.At, analytics.AppointmentBookedData{
			ReservationID: w.HoldID.String(), ResourceID: appt.ResourceID, ServiceID: appt.ServiceID,
			StartsAt: appt.Start.UTC(), EndsAt: appt.End.UTC(), QuoteMinor: appt.Quote.AmountMinor, Currency: appt.Quote.Currency,
		})
	}
	e := a.claims[w.HoldID]
	if e == nil {
		return
	}
	waiters := e.waiters
	e.waiters = nil
	var answer *AppointmentResponse
	switch res.Outcome {
	case Done:
		a.disarm(e)
		e.Status, e.AppointmentID, e.ExpiresAt = Booked, w.AppointmentID, time.Time{}
		a.byAppt[w.AppointmentID] = e.ID
		a.deps.Metrics.Bookings.WithLabelValues(a.deps.Metrics.Tenant(a.tenantID), "confirmed").Inc()
		answer = &AppointmentResponse{Appointment: *res.Appointment}
	case Gone:
		a.remove(e)
		answer = a.confirmedElsewhere(c, w)
	default:
		answer = &AppointmentResponse{Err: res.Err}
	}
	for _, to := range waiters {
		a.reply(c, to, answer)
	}
	a.settle(c, e)
}

// confirmedElsewhere answers a confirm Postgres refused because the hold is no longer
// live: ended (410), or booked as this very appointment by another activation of the
// resource (in a cluster, for a moment), which this one then tracks as booked too.
func (a *Actor) confirmedElsewhere(c actor.Context, w *Confirm) *AppointmentResponse {
	ctx, cancel := context.WithTimeout(context.Background(), a.deps.LoadTimeout)
	defer cancel()
	cl, err := a.deps.Store.FindClaim(ctx, a.tenantID, w.HoldID)
	if err != nil || cl.Status != Booked || cl.AppointmentID != w.AppointmentID || cl.ResourceID != a.resourceID {
		return &AppointmentResponse{Err: ErrGone}
	}
	a.add(c, cl)
	appt, err := a.deps.Store.FindAppointment(ctx, a.tenantID, w.AppointmentID)
	return &AppointmentResponse{Appointment: appt, Err: err}
}

func (a *Actor) onCancel(c actor.Context, m *CancelAppointment, sender *actor.PID) {
	w := &Cancel{TenantID: a.tenantID, ResourceID: a.resourceID, AppointmentID: m.ID, At: a.deps.Clock.Now(), Sync: a.syncTargets()}
	claimID, ok := a.byAppt[m.ID]
	if !ok {
		// Not live in memory: cancelled already (answer it again), in the past, or
		// unknown. Postgres decides, and the caller is answered when it has.
		a.submit(c, w, sender)
		return
	}
	e := a.claims[claimID]
	if a.wait(e, m, sender) {
		return
	}
	e.pending = true
	e.waiters = []*actor.PID{sender}
	a.submit(c, w, nil)
}

func cancelAnswer(res WriteResult) *AppointmentResponse {
	switch res.Outcome {
	case Done:
		return &AppointmentResponse{Appointment: *res.Appointment}
	case Gone:
		return &AppointmentResponse{Err: ErrNotFound}
	default:
		return &AppointmentResponse{Err: res.Err}
	}
}

func (a *Actor) onCancelWritten(c actor.Context, w *Cancel, res WriteResult, replyTo *actor.PID) {
	if res.Outcome == Done && !res.Replayed {
		a.record(analytics.AppointmentCancelled, w.AppointmentID, w.At, analytics.AppointmentCancelledData{
			ResourceID: a.resourceID, StartsAt: res.Appointment.Start.UTC(),
		})
	}
	claimID, ok := a.byAppt[w.AppointmentID]
	if !ok {
		a.reply(c, replyTo, cancelAnswer(res))
		return
	}
	e := a.claims[claimID]
	waiters := e.waiters
	e.waiters = nil
	if res.Outcome == Done {
		a.remove(e)
		a.deps.Metrics.Bookings.WithLabelValues(a.deps.Metrics.Tenant(a.tenantID), "cancelled").Inc()
	}
	answer := cancelAnswer(res)
	for _, to := range waiters {
		a.reply(c, to, answer)
	}
	if res.Outcome == Done {
		a.replayDeferred(c, e)
	} else {
		a.settle(c, e)
	}
}

func (a *Actor) onReschedule(c actor.Context, m *RescheduleAppointment, sender *actor.PID) {
	claimID, ok := a.byAppt[m.ID]
	if !ok {
		err := ErrNotFound
		ctx, cancel := context.WithTimeout(context.Background(), a.deps.LoadTimeout)
		appt, ferr := a.deps.Store.FindAppointment(ctx, a.tenantID, m.ID)
		cancel()
		switch {
		case ferr == nil && appt.ResourceID == a.resourceID && appt.ClaimID == m.NewClaimID:
			a.reply(c, sender, &AppointmentResponse{Appointment: appt}) // a replay
			return
		case ferr == nil && appt.ResourceID == a.resourceID && appt.Status == "cancelled":
			err = ErrGone
		case ferr == nil && appt.ResourceID == a.resourceID:
			err = &RuleError{Field: "appointment", Message: "only future appointments can be rescheduled"}
		}
		a.reply(c, sender, &AppointmentResponse{Err: err})
		return
	}
	old := a.claims[claimID]
	if a.wait(old, m, sender) {
		return
	}
	if old.ID == m.NewClaimID || old.Start.Equal(m.Start) { // a replay, or no move at all
		a.reply(c, sender, &AppointmentResponse{Appointment: a.appointment(old)})
		return
	}
	r, err := a.rules(old.ServiceID)
	if err != nil {
		a.reply(c, sender, &AppointmentResponse{Err: err})
		return
	}
	if err := a.checkSlot(r, m.Start, old.ID); err != nil {
		a.reply(c, sender, &AppointmentResponse{Err: err})
		return
	}
	if _, taken := a.claims[m.NewClaimID]; taken {
		a.reply(c, sender, &AppointmentResponse{Err: ErrKeyReused})
		return
	}
	nc := old.Claim
	nc.ID, nc.Start, nc.End = m.NewClaimID, m.Start.UTC(), m.Start.Add(r.Duration).UTC()
	// The new claim counts as taken while the write is in flight; the old one stays too
	// until Postgres has moved the appointment.
	a.track(&entry{Claim: nc, pending: true})
	old.pending = true
	old.waiters = []*actor.PID{sender}
	now := a.deps.Clock.Now()
	a.submit(c, &Reschedule{AppointmentID: m.ID, New: nc, At: now, Sync: a.syncTargets(), Reminders: a.reminderPlan(nc, now)}, nil)
}

func (a *Actor) onRescheduleWritten(c actor.Context, w *Reschedule, res WriteResult) {
	nc := a.claims[w.New.ID]
	oldID := a.byAppt[w.AppointmentID]
	old := a.claims[oldID]
	if nc == nil || old == nil {
		return
	}
	waiters := old.waiters
	old.waiters = nil
	var answer *AppointmentResponse
	switch res.Outcome {
	case Done:
		a.record(analytics.AppointmentRescheduled, w.AppointmentID, w.At, analytics.AppointmentRescheduledData{
			ResourceID: a.resourceID, FromStartsAt: old.Start.UTC(), StartsAt: w.New.Start.UTC(), EndsAt: w.New.End.UTC(),
		})
		a.remove(old)
		nc.pending = false
		a.byAppt[w.AppointmentID] = nc.ID
		a.deps.Metrics.Bookings.WithLabelValues(a.deps.Metrics.Tenant(a.tenantID), "rescheduled").Inc()
		answer = &AppointmentResponse{Appointment: *res.Appointment}
	case Conflict:
		a.untrack(nc)
		answer = &AppointmentResponse{Err: ErrConflict}
		a.conflictInDB(c, "reschedule")
	case Gone:
		a.untrack(nc)
		a.remove(old)
		answer = &AppointmentResponse{Err: ErrGone}
	default:
		a.untrack(nc)
		answer = &AppointmentResponse{Err: res.Err}
	}
	for _, to := range waiters {
		a.reply(c, to, answer)
	}
	if res.Outcome == Done || res.Outcome == Gone {
		a.replayDeferred(c, old)
	} else if cur, ok := a.claims[old.ID]; ok {
		a.settle(c, cur)
	}
}
