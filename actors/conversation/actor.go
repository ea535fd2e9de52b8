package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"ringback/actors"
	"ringback/actors/resource"
	"ringback/analytics"
	"ringback/clock"
	"ringback/metrics"
	"ringback/tenant"
	"ringback/tracing"
)

// Kind is the directory kind of conversation actors; identity is "endpoint/phone".
const Kind = "conversation"

// Identity names the conversation of a customer phone with a business number.
func Identity(endpoint, phone string) string { return endpoint + "/" + phone }

// The messages a conversation actor accepts.

// MissedCall is a stored missed-call webhook from Phone to Endpoint.
type MissedCall struct {
	TenantID, Endpoint, Phone string
	EnvelopeKey               string
	ReceivedAt                time.Time
	// CorrelationID is the webhook's (from its envelope): on every log line of the step and
	// every outbox row it writes. TraceParent is the W3C traceparent of the webhook's span
	// ("" when untraced or replayed): the step's span is its child.
	CorrelationID, TraceParent string
}

// InboundSMS is a stored inbound-SMS webhook.
type InboundSMS struct {
	TenantID, Endpoint, Phone  string
	EnvelopeKey, MessageSid    string
	Body                       string
	ReceivedAt                 time.Time
	CorrelationID, TraceParent string // as in MissedCall
}

// CarrierOptOut says the provider refused a send because the customer opted out with the
// carrier (Twilio 21610).
type CarrierOptOut struct{ TenantID string }

// FlushRequest is answered with *FlushResponse once the actor has no event in progress or
// waiting: everything it decided is committed.
type FlushRequest struct{}

// FlushResponse answers FlushRequest.
type FlushResponse struct{}

// StateRequest asks for the conversation's state. Answer: *StateResponse.
type StateRequest struct{}

// StateResponse answers StateRequest.
type StateResponse struct{ State State }

// PersonReply is a business user's reply from the console. It goes through the outbox,
// its rate limit and compliance like the bot's, and takes the conversation over: the bot
// sends nothing more in it until it is handed back. Answer: *ConsoleResponse.
type PersonReply struct {
	TenantID, Body string
	// Key is the form's one-time key; the message's client id derives from it, so a form
	// submitted twice sends once.
	Key string
}

// ConsoleAction changes who answers a conversation, or whether it needs a person.
// Answer: *ConsoleResponse.
type ConsoleAction struct {
	TenantID string
	Action   string // take_over | hand_back | resolve | reopen
}

// ConsoleResponse answers PersonReply and ConsoleAction once the step is committed; Err
// says why nothing was done (ErrOptedOut, ErrUnknownAction, or the failure).
type ConsoleResponse struct{ Err error }

var (
	// ErrOptedOut refuses a person's reply to a customer who opted out of the number.
	ErrOptedOut = errors.New("the customer opted out of texts from this number")
	// ErrUnknownAction refuses a ConsoleAction it does not know.
	ErrUnknownAction = errors.New("unknown console action")
)

// consoleEvent is a console message queued with whom to answer.
type consoleEvent struct {
	tenantID string
	msg      any
	replyTo  *actor.PID
}

// quietEnded is the actor's own timer: a deferred auto-reply may go now.
type quietEnded struct{}

// resumed carries the result of work done off the mailbox back into it.
type resumed struct{ value any }

// Deps are what every conversation actor shares.
type Deps struct {
	Store     Store
	Bookings  Bookings
	Outbox    Outbox
	Catalog   Catalog
	Clock     clock.Clock
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	Directory *actors.Directory
	// Events receives the conversation's events (missed_call.*, auto_reply.*, options.*,
	// consent.*), each once the step that caused it is committed (nil: analytics.Nop{}).
	Events analytics.Recorder
	// Changed is told, after each committed step, that the tenant's conversations changed
	// (the console's live pages); nil for none. It must not block.
	Changed func(tenantID string)
	// ConsoleURL is the console's base ("https://engine.example/console"): an owner alert
	// links to the conversation's thread under it. Empty: alerts carry no link.
	ConsoleURL string
	// IdleTimeout passivates an idle conversation (default 2m).
	IdleTimeout time.Duration
	// CallTimeout bounds each call to the fulfillment actors (default 5s).
	CallTimeout time.Duration
}

// Props builds conversation actors; a panic restarts the actor, which reloads from Postgres.
func Props(deps *Deps) actors.Kind {
	if deps.IdleTimeout == 0 {
		deps.IdleTimeout = 2 * time.Minute
	}
	if deps.CallTimeout == 0 {
		deps.CallTimeout = 5 * time.Second
	}
	if deps.Events == nil {
		deps.Events = analytics.Nop{}
	}
	guardian := actors.RestartingGuardian(Kind, deps.Metrics.ActorRestarts, deps.Log)
	return actors.Kind{
		Produce: func(identity string) actor.Actor {
			endpoint, phone, _ := strings.Cut(identity, "/")
			return &Actor{deps: deps, identity: identity, endpoint: endpoint, phone: phone}
		},
		Options:  []actor.PropsOption{actors.Instrument(Kind, deps.Metrics)},
		Guardian: guardian,
		Codec:    wireCodec,
	}
}

// Actor is one conversation. It handles one event at a time: while a step waits for the
// fulfillment actors (off the mailbox), later events queue in order behind it, so a STOP
// that arrives while options are being computed is decided after them, before anything
// else is sent.
type Actor struct {
	deps                      *Deps
	identity, endpoint, phone string

	st     State
	loaded bool
	// storedOptOut is the caller's opt-out as the store holds it (as of the last load
	// or save), so a step that does not change it does not write it.
	storedOptOut bool
	queue        []any
	busy         bool
	then         func(c actor.Context, v any) // continuation of the step in progress
	flushers     []*actor.PID
	stopWait     func() bool // the deferred auto-reply timer
	// current is the event of the step in progress, and retried says it is being decided
	// again after a stale write.
	current any
	retried bool
	// staged are the events of the step in progress: recorded once Store.Save has
	// committed the step, dropped if it did not (nothing happened, and a new conversation's
	// id is drawn again after a failed first save).
	staged []analytics.Event

	envOf *tenant.Config // the config env was built from; a new one (an apply) rebuilds it
	env   env

	// The step in progress: its logger (with the webhook's correlation id), its span and
	// the span's traceparent, and the correlation id its outbox rows carry.
	log         *slog.Logger
	span        trace.Span
	traceParent string
	correlation string
	// replyTo waits for the step's outcome (a console or reminder event), stepErr is its
	// failure; outcome is the answer of a reminder event (nil: a ConsoleResponse).
	replyTo *actor.PID
	stepErr error
	outcome *ReminderResponse
}

// Receive dispatches.
func (a *Actor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		c.SetReceiveTimeout(a.deps.IdleTimeout)
	case *actor.Stopping, *actor.Restarting:
		if a.stopWait != nil {
			a.stopWait()
		}
	case *actor.ReceiveTimeout:
		if !a.busy && len(a.queue) == 0 && a.stopWait == nil {
			a.deps.Directory.Forget(Kind, a.identity, c.Self())
			c.Stop(c.Self())
			return
		}
		c.SetReceiveTimeout(a.deps.IdleTimeout)
	case *MissedCall, *InboundSMS, *CarrierOptOut, *quietEnded:
		a.queue = append(a.queue, m)
		a.pump(c)
	case *PersonReply:
		a.queue = append(a.queue, &consoleEvent{tenantID: m.TenantID, msg: m, replyTo: c.Sender()})
		a.pump(c)
	case *ConsoleAction:
		a.queue = append(a.queue, &consoleEvent{tenantID: m.TenantID, msg: m, replyTo: c.Sender()})
		a.pump(c)
	case *SendReminder:
		a.queue = append(a.queue, &consoleEvent{tenantID: m.TenantID, msg: m, replyTo: c.Sender()})
		a.pump(c)
	case *AlertUnconfirmed:
		a.queue = append(a.queue, &consoleEvent{tenantID: m.TenantID, msg: m, replyTo: c.Sender()})
		a.pump(c)
	case *VisitChanged:
		a.queue = append(a.queue, &consoleEvent{tenantID: m.TenantID, msg: m, replyTo: c.Sender()})
		a.pump(c)
	case *resumed:
		then := a.then
		a.then = nil
		then(c, m.value)
	case *FlushRequest:
		if !a.busy && len(a.queue) == 0 {
			c.Respond(&FlushResponse{})
			return
		}
		a.flushers = append(a.flushers, c.Sender())
	case *StateRequest:
		c.Respond(&StateResponse{State: a.st})
	case *actor.Stopped, *actor.PoisonPill:
	default:
		a.deps.Log.Warn("conversation actor got an unknown message", "type", fmt.Sprintf("%T", m))
	}
}

// pump starts the next queued event when none is in progress.
func (a *Actor) pump(c actor.Context) {
	for !a.busy && len(a.queue) > 0 {
		ev := a.queue[0]
		a.queue = a.queue[1:]
		a.busy = true
		a.start(c, ev)
	}
	if !a.busy && len(a.queue) == 0 {
		for _, f := range a.flushers {
			c.Send(f, &FlushResponse{})
		}
		a.flushers = nil
	}
}

// done ends the step in progress and moves to the next event.
func (a *Actor) done(c actor.Context) {
	if a.replyTo != nil {
		if a.outcome != nil {
			a.outcome.Err = a.stepErr
			c.Send(a.replyTo, a.outcome)
		} else {
			c.Send(a.replyTo, &ConsoleResponse{Err: a.stepErr})
		}
		a.replyTo, a.outcome = nil, nil
	}
	if a.span != nil {
		a.span.End()
		a.span = nil
	}
	a.busy = false
	a.pump(c)
}

// await runs work off the mailbox and continues the step with its result.
func (a *Actor) await(c actor.Context, work func(ctx context.Context) any, then func(c actor.Context, v any)) {
	a.then = then
	self, root, timeout := c.Self(), c.ActorSystem().Root, a.deps.CallTimeout
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		root.Send(self, &resumed{value: work(ctx)})
	}()
}

// env is what a step needs to know about the business.
type env struct {
	cfg    *tenant.Config
	ep     tenant.Endpoint
	loc    *time.Location
	policy Policy
	texts  Texts
}

// business returns what a step needs to know about the business, rebuilt only when the
// tenant's config changed (the catalog hands out the same *Config until an apply), so a
// busy number does not reload its time zone on every message.
func (a *Actor) business(tenantID string) (env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.deps.CallTimeout)
	defer cancel()
	cfg, err := a.deps.Catalog.Tenant(ctx, tenantID)
	if err != nil {
		return env{}, err
	}
	if cfg == a.envOf {
		return a.env, nil
	}
	var ep tenant.Endpoint
	found := false
	for _, e := range cfg.Endpoints {
		if e.Number == a.endpoint {
			ep, found = e, true
		}
	}
	if !found {
		return env{}, fmt.Errorf("endpoint %s is no longer configured for tenant %s", a.endpoint, tenantID)
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return env{}, err
	}
	a.envOf = cfg
	a.env = env{cfg: cfg, ep: ep, loc: loc, policy: PolicyFor(loc, ep, cfg.Policies), texts: NewTexts(cfg.Name, loc, cfg.Templates, ep.AutoReply)}
	return a.env, nil
}

// ensureLoaded reads the conversation once per activation.
func (a *Actor) ensureLoaded(c actor.Context, tenantID string) error {
	if a.loaded {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.deps.CallTimeout)
	defer cancel()
	st, err := a.deps.Store.Load(ctx, a.endpoint, a.phone)
	switch {
	case errors.Is(err, ErrNoConversation):
		st = State{ID: uuid.Must(uuid.NewV7()), TenantID: tenantID, Endpoint: a.endpoint, Phone: a.phone, Stage: Idle}
	case err != nil:
		return err
	}
	a.st, a.loaded, a.storedOptOut = st, true, st.Caller.OptedOut
	a.armDeferred(c)
	return nil
}

func (a *Actor) armDeferred(c actor.Context) {
	if a.stopWait != nil {
		a.stopWait()
		a.stopWait = nil
	}
	if a.st.Deferred == nil {
		return
	}
	self, root := c.Self(), c.ActorSystem().Root
	a.stopWait = a.deps.Clock.AfterFunc(a.st.Deferred.At.Sub(a.deps.Clock.Now()), func() { root.Send(self, &quietEnded{}) })
}

// start begins the step of one event.
func (a *Actor) start(c actor.Context, ev any) {
	a.staged = nil
	if ev != a.current {
		a.current, a.retried = ev, false
	}
	tenantID, event, correlation, parent := "", "", "", ""
	switch m := ev.(type) {
	case *MissedCall:
		tenantID, event, correlation, parent = m.TenantID, "missed_call", m.CorrelationID, m.TraceParent
	case *InboundSMS:
		tenantID, event, correlation, parent = m.TenantID, "inbound_sms", m.CorrelationID, m.TraceParent
	case *CarrierOptOut:
		tenantID, event = m.TenantID, "carrier_opt_out"
	case *quietEnded:
		tenantID, event = a.st.TenantID, "quiet_hours_ended"
		if a.st.Deferred != nil {
			correlation = a.st.Deferred.CorrelationID
		}
	case *consoleEvent:
		tenantID, event = m.tenantID, "console"
		a.replyTo, a.stepErr, a.outcome = m.replyTo, nil, nil
		switch m.msg.(type) {
		case *SendReminder, *AlertUnconfirmed:
			event = "reminder"
			a.outcome = &ReminderResponse{}
		}
	}
	a.beginStep(event, tenantID, correlation, parent)
	if err := a.ensureLoaded(c, tenantID); err != nil {
		a.fail("conversation load failed; the webhook stays unprocessed and is replayed", err)
		a.done(c)
		return
	}
	e, err := a.business(a.st.TenantID)
	if err != nil {
		a.fail("conversation has no usable config", err)
		a.done(c)
		return
	}
	switch m := ev.(type) {
	case *MissedCall:
		a.onMissedCall(c, e, m)
	case *InboundSMS:
		a.onInbound(c, e, m)
	case *CarrierOptOut:
		if !a.st.Caller.OptedOut {
			a.stage(analytics.ConsentOptedOut, analytics.ConsentData{Endpoint: a.endpoint, Source: "carrier"})
		}
		a.st.Caller.OptedOut, a.st.Caller.OptOutConfirmed = true, true
		a.commit(c, Commit{})
	case *quietEnded:
		a.onQuietEnded(c, e)
	case *consoleEvent:
		switch r := m.msg.(type) {
		case *SendReminder:
			a.onReminder(c, e, r)
		case *AlertUnconfirmed:
			a.onUnconfirmed(c, e, r)
		case *VisitChanged:
			a.onVisitChanged(c, e, r)
		default:
			a.onConsole(c, m)
		}
	}
}

// onConsole carries out a business user's reply or action.
func (a *Actor) onConsole(c actor.Context, ev *consoleEvent) {
	switch m := ev.msg.(type) {
	case *PersonReply:
		if a.st.Caller.OptedOut {
			a.stepErr = ErrOptedOut
			a.done(c)
			return
		}
		a.st.TakenOver, a.st.NeedsAttention = true, false
		a.commit(c, Commit{Outgoing: []Outgoing{outgoing("console:"+m.Key, 0, "person", m.Body, time.Time{})}})
	case *ConsoleAction:
		switch m.Action {
		case "take_over":
			a.st.TakenOver = true
		case "hand_back":
			a.st.TakenOver = false
		case "resolve":
			a.st.NeedsAttention, a.st.TakenOver = false, false
		case "reopen":
			a.st.NeedsAttention = true
		default:
			a.stepErr = ErrUnknownAction
			a.done(c)
			return
		}
		a.commit(c, Commit{})
	}
}

// beginStep starts the span and the logger of the step of an event: the span is a child
// of the webhook's (parent, a traceparent) when there is one.
func (a *Actor) beginStep(event, tenantID, correlation, parent string) {
	a.correlation, a.log = correlation, a.deps.Log
	if correlation != "" {
		a.log = a.deps.Log.With("correlation_id", correlation)
	}
	ctx, span := tracing.Tracer().Start(tracing.Extract(context.Background(), parent), "conversation.step",
		trace.WithAttributes(tracing.AttrCorrelationID.String(correlation), tracing.AttrTenant.String(tenantID),
			attribute.String("ringback.event", event)))
	a.span, a.traceParent = span, tracing.Inject(ctx)
}

// fail logs an error of the step in progress and records it on the step's span.
func (a *Actor) fail(msg string, err error) {
	a.stepErr = err
	a.log.Error(msg, "conversation", a.logID(), "err", err)
	tracing.Fail(a.span, err)
}

// commit writes the step and hands its messages to the outbox, then ends the step.
func (a *Actor) commit(c actor.Context, cm Commit) {
	next := a.st
	next.Version++
	cm.State = next
	cm.CorrelationID, cm.TraceParent = a.correlation, a.traceParent
	cm.OptOutUnchanged = next.Caller.OptedOut == a.storedOptOut
	ctx, cancel := context.WithTimeout(context.Background(), a.deps.CallTimeout)
	err := a.deps.Store.Save(ctx, cm)
	cancel()
	staged := a.staged
	a.staged = nil
	if err != nil {
		// Nothing was written, so nothing happened: the events go. The envelope stays
		// unprocessed and is replayed on restart (or was processed before: a repeat).
		a.stepErr = err
		a.loaded = false
		switch {
		case errors.Is(err, ErrRepeated):
			a.log.Info("webhook handed to the conversation again; already processed", "conversation", a.logID())
		case errors.Is(err, ErrStale) && !a.retried:
			// Another activation of this conversation wrote first (a cluster's topology
			// change): read what it wrote and decide this event again, once, now.
			a.log.Info("another activation wrote first; reloading and deciding again", "conversation", a.logID())
			a.retried = true
			a.queue = append([]any{a.current}, a.queue...)
			a.stepErr, a.replyTo, a.outcome = nil, nil, nil // the retry answers (its event still has whom to)
		default:
			a.fail("conversation commit failed", err)
		}
		a.done(c)
		return
	}
	a.st, a.storedOptOut = next, next.Caller.OptedOut
	if a.deps.Changed != nil {
		a.deps.Changed(next.TenantID)
	}
	// Recorded before the outbox hears of the messages, so an auto_reply.sent precedes
	// the delivery.status of its message in the log.
	now := a.deps.Clock.Now()
	for _, e := range staged {
		if e.OccurredAt.IsZero() {
			e.OccurredAt = now
		}
		a.deps.Events.Record(e)
	}
	ids := make([]string, len(cm.Outgoing))
	for i, o := range cm.Outgoing {
		ids[i] = o.ClientMessageID
	}
	if len(ids) > 0 {
		a.deps.Outbox.Enqueue(ids...)
	}
	a.armDeferred(c)
	a.done(c)
}

// stage keeps an event of the step in progress for commit to record.
func (a *Actor) stage(kind analytics.Kind, data any) {
	a.stageAt(kind, time.Time{}, data)
}

// stageAt is stage for an event that happened at a known instant (zero: when committed).
func (a *Actor) stageAt(kind analytics.Kind, at time.Time, data any) {
	a.staged = append(a.staged, analytics.Event{TenantID: a.st.TenantID, Kind: kind, OccurredAt: at, Subject: a.st.ID.String(), Data: data})
}

// suppressed stages the auto_reply.suppressed of a verdict other than Send.
func (a *Actor) suppressed(v Verdict, until time.Time) {
	d := analytics.AutoReplySuppressedData{Endpoint: a.endpoint}
	switch v {
	case DeferQuietHours:
		d.Reason, d.Until = analytics.ReasonQuietHoursDeferred, until.UTC()
	case SuppressOptedOut:
		d.Reason = analytics.ReasonOptedOut
	case SuppressCooldown:
		d.Reason = analytics.ReasonCooldown
	default:
		return
	}
	a.stage(analytics.AutoReplySuppressed, d)
}

// outgoing builds the i-th message caused by the event with key.
func outgoing(key string, i int, kind, body string, trigger time.Time) Outgoing {
	return Outgoing{ClientMessageID: fmt.Sprintf("%s#%d", key, i), Body: body, Kind: kind, TriggerAt: trigger}
}

// --- missed calls ----------------------------------------------------------------------

func (a *Actor) onMissedCall(c actor.Context, e env, m *MissedCall) {
	source := "twilio"
	if strings.HasPrefix(m.EnvelopeKey, "pbx:") {
		source = "pbx"
	}
	a.stageAt(analytics.MissedCallReceived, m.ReceivedAt, analytics.MissedCallData{Endpoint: a.endpoint, Source: source})
	now := a.deps.Clock.Now()
	if a.st.TakenOver {
		a.log.Info("auto-reply held back: a person answers this conversation", "conversation", a.logID())
		a.st.NeedsAttention = true // the person hears of the call
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey})
		return
	}
	verdict, at := AutoReply(e.policy, a.st.Caller, now)
	switch verdict {
	case Send:
		a.offer(c, e, search{from: now}, "auto_reply", m.EnvelopeKey, m.ReceivedAt, nil, func(f found) string { return e.texts.Offer(options(f.offers)) })
	case DeferQuietHours:
		a.st.Deferred = &Deferred{At: at, ReceivedAt: m.ReceivedAt, EnvelopeKey: m.EnvelopeKey, CorrelationID: m.CorrelationID}
		a.log.Info("auto-reply deferred to the end of quiet hours", "conversation", a.logID(), "at", at)
		a.suppressed(verdict, at)
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey})
	default:
		a.log.Info("auto-reply suppressed", "conversation", a.logID(), "reason", verdict.String())
		a.suppressed(verdict, at)
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey})
	}
}

func (a *Actor) onQuietEnded(c actor.Context, e env) {
	d := a.st.Deferred
	now := a.deps.Clock.Now()
	if d == nil || now.Before(d.At) {
		a.done(c)
		return
	}
	a.st.Deferred = nil
	verdict, at := AutoReply(e.policy, a.st.Caller, now)
	switch verdict {
	case Send:
		a.offer(c, e, search{from: now}, "auto_reply", "quiet:"+d.EnvelopeKey, d.ReceivedAt, nil, func(f found) string { return e.texts.Offer(options(f.offers)) })
	case DeferQuietHours:
		a.st.Deferred = &Deferred{At: at, ReceivedAt: d.ReceivedAt, EnvelopeKey: d.EnvelopeKey, CorrelationID: d.CorrelationID}
		a.suppressed(verdict, at)
		a.commit(c, Commit{})
	default:
		a.suppressed(verdict, at)
		a.commit(c, Commit{})
	}
}

func options(offers []Offer) []Option {
	out := make([]Option, len(offers))
	for i, o := range offers {
		out[i] = o.option()
	}
	return out
}

// search is what offer looks for: open slots of a service from an instant, on one
// resource or any, inside the window the customer asked for or at any time.
type search struct {
	from     time.Time
	window   *Window   // nil: any time up to the horizon
	service  string    // "": the endpoint's default service
	resource string    // "": any resource offering the service
	exclude  time.Time // a start never offered: the visit being moved
	moving   bool      // the options are new times for the booked visit
}

// found is what a search found: the options, and whether they are the nearest ones
// because nothing is open inside the window asked for.
type found struct {
	offers  []Offer
	nearest bool
}

// slotsFound is the result of a search's availability calls, off the mailbox.
type slotsFound struct {
	slots   []resource.Slot
	nearest bool
}

// offer looks up open slots as s says and sends them with text (or, with none, the
// no-slots text). An auto-reply also starts the cooldown. The missed-call search (no
// window, no exclusion) is one availability call, as it always was.
func (a *Actor) offer(c actor.Context, e env, s search, kind, key string, trigger time.Time, in *Received, text func(f found) string) {
	svcID := s.service
	if svcID == "" {
		svcID = e.ep.DefaultService
	}
	svc, ok := e.cfg.Service(svcID)
	if !ok {
		a.fail("the service to offer is not configured", fmt.Errorf("service %q not found", svcID))
		a.done(c)
		return
	}
	tenantID, count, horizon := a.st.TenantID, e.cfg.Policies.OfferCount, e.cfg.Policies.Horizon.Std()
	now := a.deps.Clock.Now()
	a.await(c, func(ctx context.Context) any {
		return a.findSlots(ctx, tenantID, svc.ID, s, count, now.Add(horizon), e.loc)
	}, func(c actor.Context, v any) {
		res, _ := v.(slotsFound)
		if err, isErr := v.(error); isErr {
			a.fail("availability failed; answering without options", err)
		}
		offers := make([]Offer, len(res.slots))
		for i, sl := range res.slots {
			offers[i] = Offer{ResourceID: sl.ResourceID, ServiceID: svc.ID, Start: sl.Start, End: sl.End,
				QuoteMinor: svc.Price.Quote(svc.Duration.Std()), Currency: svc.Price.Currency}
		}
		var body string
		switch {
		case len(offers) > 0:
			body = text(found{offers: offers, nearest: res.nearest})
			a.st.Stage, a.st.Options, a.st.Hold, a.st.Moving = Offered, offers, nil, s.moving
			a.st.SearchFrom = offers[len(offers)-1].Start.Add(time.Nanosecond)
		case s.moving:
			// Nothing to move to: the visit stays as it is.
			a.st.Stage, a.st.Options, a.st.Hold, a.st.Moving = Booked, nil, nil, false
			body = e.texts.MoveNone(a.st.visit().option())
		default:
			a.st.Stage, a.st.Options, a.st.Hold, a.st.Moving = Idle, nil, nil, false
			body = e.texts.NoSlots()
		}
		out := outgoing(key, 0, kind, body, trigger)
		via := "reply"
		if kind == "auto_reply" {
			via = "auto_reply"
			a.st.Caller.LastAutoReply = a.deps.Clock.Now()
			a.stage(analytics.AutoReplySent, analytics.AutoReplySentData{Endpoint: a.endpoint, ClientMessageID: out.ClientMessageID,
				// To the microsecond, as Postgres keeps the call's occurred_at.
				Options: len(offers), Deferred: strings.HasPrefix(key, "quiet:"), MissedCallAt: trigger.UTC().Truncate(time.Microsecond)})
		}
		if len(offers) > 0 {
			slots := make([]analytics.OfferedSlot, len(offers))
			for i, o := range offers {
				slots[i] = analytics.OfferedSlot{ResourceID: o.ResourceID, StartsAt: o.Start.UTC(), QuoteMinor: o.QuoteMinor, Currency: o.Currency}
			}
			a.stage(analytics.OptionsOffered, analytics.OptionsOfferedData{Via: via, ServiceID: svc.ID, Count: len(offers), Slots: slots})
		}
		a.commit(c, Commit{EnvelopeKey: envelopeOf(key), Received: in, Outgoing: []Outgoing{out}})
	})
}

// findSlots runs a search's availability calls: up to count slots from s.from, inside
// s.window when there is one, else (nearest) the first ones after s.from.
func (a *Actor) findSlots(ctx context.Context, tenantID, serviceID string, s search, count int, horizonEnd time.Time, loc *time.Location) any {
	keep := func(slots []resource.Slot, in *Window) []resource.Slot {
		out := slots[:0]
		for _, sl := range slots {
			if sl.Start.Equal(s.exclude) || in != nil && !in.Contains(sl.Start, loc) {
				continue
			}
			if out = append(out, sl); len(out) == count {
				break
			}
		}
		return out
	}
	limit := count
	if !s.exclude.IsZero() {
		limit++
	}
	if w := s.window; w != nil {
		from, to := s.from, horizonEnd
		if w.From.After(from) {
			from = w.From
		}
		if !w.To.IsZero() && w.To.Before(to) {
			to = w.To
		}
		if from.Before(to) {
			all, _, err := a.deps.Bookings.Availability(ctx, tenantID, serviceID, s.resource, from, to, 0)
			if err != nil {
				return err
			}
			if in := keep(all, w); len(in) > 0 {
				return slotsFound{slots: in}
			}
		}
		near, _, err := a.deps.Bookings.Availability(ctx, tenantID, serviceID, s.resource, s.from, horizonEnd, limit)
		if err != nil {
			return err
		}
		return slotsFound{slots: keep(near, nil), nearest: true}
	}
	slots, _, err := a.deps.Bookings.Availability(ctx, tenantID, serviceID, s.resource, s.from, horizonEnd, limit)
	if err != nil {
		return err
	}
	return slotsFound{slots: keep(slots, nil)}
}

// envelopeOf is the envelope a message key names ("" for the actor's own timers).
func envelopeOf(key string) string {
	if strings.HasPrefix(key, "quiet:") {
		return ""
	}
	return key
}

// --- inbound SMS -----------------------------------------------------------------------

func (a *Actor) onInbound(c actor.Context, e env, m *InboundSMS) {
	in := &Received{MessageSid: m.MessageSid, Body: m.Body}
	now := a.deps.Clock.Now()
	reply := Read(m.Body, a.st.thread(), e.loc, now)
	if reply.Kind != ReplyOptIn {
		a.deps.Metrics.Replies.WithLabelValues(reply.Kind.String()).Inc()
	}
	caller, action := Inbound(a.st.Caller, reply)
	compliance := func(body string) {
		a.st.Caller = caller
		cm := Commit{EnvelopeKey: m.EnvelopeKey, Received: in}
		if body != "" {
			cm.Outgoing = []Outgoing{outgoing(m.EnvelopeKey, 0, "compliance", body, time.Time{})}
		}
		a.commit(c, cm)
	}
	switch action {
	case ConfirmOptOut:
		if a.st.Deferred != nil {
			a.suppressed(SuppressOptedOut, time.Time{})
		}
		a.st.Deferred = nil // nothing more goes to this number, auto-replies included
		a.st.CancelAsked = false
		// Already opted out: only the confirmation owed for that opt-out goes now.
		if !a.st.Caller.OptedOut {
			a.stage(analytics.ConsentOptedOut, analytics.ConsentData{Endpoint: a.endpoint, Source: "sms"})
		}
		body := e.texts.OptOut()
		if v := a.st.visit(); v != nil {
			body = joinLines(body, e.texts.StillBooked(v.option()))
		}
		compliance(body)
		return
	case AlreadyOptedOut, IgnoreWhileOptedOut:
		compliance("")
		return
	case ConfirmOptIn:
		if a.st.Caller.OptedOut { // START while subscribed is answered, but changes nothing
			a.stage(analytics.ConsentOptedIn, analytics.ConsentData{Endpoint: a.endpoint, Source: "sms"})
		}
		compliance(e.texts.OptIn())
		return
	case AnswerHelp:
		compliance(e.texts.Help())
		return
	}

	if a.st.TakenOver {
		// A person answers: the message waits for them, the bot says nothing.
		a.st.NeedsAttention = true
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in})
		return
	}
	if reply.Kind != ReplyUnknown {
		a.st.NeedsAttention = false // the engine acts on this one
	}
	send := func(body string) { // answer within this step, changing nothing else
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", body, time.Time{})}})
	}
	reply2 := func(s search, text func(f found) string) {
		a.offer(c, e, s, "reply", m.EnvelopeKey, time.Time{}, in, text)
	}
	visit := a.st.visit()

	// The one question before a cancellation waits for its answer.
	if a.st.CancelAsked {
		a.st.CancelAsked = false
		switch reply.Kind {
		case ReplyConfirm, ReplyCancel:
			a.cancelVisit(c, e, m, in)
			return
		case ReplyMore:
			if visit != nil {
				send(e.texts.Kept(visit.option()))
				return
			}
		}
	}

	switch reply.Kind {
	case ReplyCancel:
		switch {
		case visit != nil:
			a.st.CancelAsked = true
			send(e.texts.CancelAsk(visit.option()))
		case a.st.Stage == Holding && a.st.Hold != nil:
			a.releaseHold(c, e, m, in)
		default:
			a.st.Stage, a.st.Options, a.st.Hold = Idle, nil, nil
			send(e.texts.Released())
		}
		return

	case ReplyReschedule:
		a.moveOptions(c, e, m, in, reply.Window)
		return

	case ReplyPick:
		o := a.st.Options[reply.Option-1]
		if a.st.Stage == Holding && a.st.Hold != nil && a.st.Hold.Start.Equal(o.Start) && a.st.Hold.ResourceID == o.ResourceID {
			send(a.heldText(e, *a.st.Hold)) // the same pick again: the hold stands
			return
		}
		a.hold(c, e, m, in, reply.Option, o)
		return

	case ReplyConfirm:
		switch {
		case a.st.Stage == Holding && a.st.Hold != nil && a.st.Moving && visit != nil:
			a.confirmMove(c, e, m, in)
		case a.st.Stage == Holding && a.st.Hold != nil:
			a.confirm(c, e, m, in)
		case a.st.Stage == Offered && len(a.st.Options) > 0:
			send(e.texts.PickWhich(options(a.st.Options)))
		case visit != nil && a.reminded():
			a.confirmAttendance(c, e, m, in)
		case visit != nil:
			// "ok thanks" after booking: nothing to do and nothing to say.
			a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in})
		case a.st.Stage == Holding:
			// No live hold: never "booked". Fresh options instead.
			reply2(search{from: now}, func(f found) string { return e.texts.Expired(options(f.offers)) })
		default:
			reply2(search{from: now}, func(f found) string { return e.texts.Options(options(f.offers)) })
		}
		return

	case ReplyMore:
		if visit != nil && !a.st.Moving {
			a.moveOptions(c, e, m, in, nil)
			return
		}
		from := a.st.SearchFrom
		if from.Before(now) {
			from = now
		}
		s := search{from: from}
		if a.st.Moving && visit != nil {
			s.service, s.resource, s.exclude, s.moving = visit.ServiceID, visit.ResourceID, visit.Start, true
		}
		reply2(s, func(f found) string {
			if s.moving {
				return e.texts.MoveOptions(visit.option(), "", options(f.offers))
			}
			return e.texts.Options(options(f.offers)) // not "Sorry we missed your call" again
		})
		return

	case ReplyWindow:
		if visit != nil {
			a.moveOptions(c, e, m, in, reply.Window)
			return
		}
		w := reply.Window
		reply2(search{from: now, window: w}, func(f found) string {
			if f.nearest {
				return e.texts.WindowNearest(w.Label, options(f.offers))
			}
			return e.texts.WindowOptions(w.Label, options(f.offers))
		})
		return
	}
	a.needsPerson(c, e, m, in)
}

// needsPerson keeps a message the engine cannot act on for the business: the
// conversation needs attention, the customer is told (at most once a day) that a person
// will answer, and the business's owner_phone is alerted (at most once an hour).
func (a *Actor) needsPerson(c actor.Context, e env, m *InboundSMS, in *Received) {
	now := a.deps.Clock.Now()
	a.st.NeedsAttention = true
	var out []Outgoing
	if now.Sub(a.st.LastAckAt) >= 24*time.Hour {
		a.st.LastAckAt = now
		out = append(out, outgoing(m.EnvelopeKey, 0, "reply", e.texts.Ack(), time.Time{}))
	}
	if e.ep.OwnerPhone != "" && now.Sub(a.st.LastAlertAt) >= time.Hour {
		a.st.LastAlertAt = now
		alert := outgoing(m.EnvelopeKey, 1, "alert", e.texts.OwnerAlert(tenant.MaskPhone(a.phone), m.Body, a.threadLink()), time.Time{})
		alert.To = e.ep.OwnerPhone
		out = append(out, alert)
	}
	a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: out})
}

// heldText is the answer to a hold: a plain hold asks for YES to book, a new time for a
// booked visit asks for YES to move it.
func (a *Actor) heldText(e env, o Offer) string {
	if v := a.st.visit(); a.st.Moving && v != nil {
		return e.texts.MoveHeld(v.option(), o.option())
	}
	return e.texts.Held(o.option())
}

// moveOptions offers new times for the booked visit, on its resource, inside w when the
// customer named a window. The visit stays booked until a new time is confirmed.
func (a *Actor) moveOptions(c actor.Context, e env, m *InboundSMS, in *Received, w *Window) {
	visit := a.st.visit()
	if visit == nil {
		a.needsPerson(c, e, m, in)
		return
	}
	v := *visit
	s := search{from: a.deps.Clock.Now(), window: w, service: v.ServiceID, resource: v.ResourceID, exclude: v.Start, moving: true}
	a.offer(c, e, s, "reply", m.EnvelopeKey, time.Time{}, in, func(f found) string {
		switch {
		case w == nil:
			return e.texts.MoveOptions(v.option(), "", options(f.offers))
		case f.nearest:
			return e.texts.MoveNearest(v.option(), w.Label, options(f.offers))
		}
		return e.texts.MoveOptions(v.option(), w.Label, options(f.offers))
	})
}

// hold places a hold on the option the customer replied with (its number is option). A
// hold the customer had on another option is let go once the new one is placed.
func (a *Actor) hold(c actor.Context, e env, m *InboundSMS, in *Received, option int, o Offer) {
	tenantID := a.st.TenantID
	var previous uuid.UUID
	if a.st.Stage == Holding && a.st.Hold != nil {
		previous = a.st.Hold.HoldID
	}
	req := resource.HoldRequest{ServiceID: o.ServiceID, Start: o.Start, ResourceID: o.ResourceID,
		Customer: resource.Customer{Phone: a.phone, Endpoint: a.endpoint}, Key: "sms:" + m.MessageSid}
	a.await(c, func(ctx context.Context) any {
		h, _, err := a.deps.Bookings.Hold(ctx, tenantID, req)
		if err != nil {
			return err
		}
		if previous != uuid.Nil && previous != h.ID {
			if err := a.deps.Bookings.Release(ctx, tenantID, previous); err != nil {
				a.log.Info("the earlier hold was not released; it expires on its own", "conversation", a.logID(), "err", err)
			}
		}
		return h
	}, func(c actor.Context, v any) {
		h, ok := v.(resource.Claim)
		if !ok {
			a.log.Info("hold refused; offering fresh options", "conversation", a.logID(), "err", v)
			a.retryOptions(c, e, m, in)
			return
		}
		o.HoldID, o.ExpiresAt, o.QuoteMinor, o.Currency = h.ID, h.ExpiresAt, h.Quote.AmountMinor, h.Quote.Currency
		a.st.Stage, a.st.Hold = Holding, &o
		// Also for a replayed hold: its first step (whose events these are) never committed,
		// or this one is a repeat that Save refuses.
		a.stage(analytics.OptionChosen, analytics.OptionChosenData{Option: option, HoldID: h.ID.String(),
			ResourceID: h.ResourceID, ServiceID: h.ServiceID, StartsAt: h.Start.UTC()})
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", a.heldText(e, o), time.Time{})}})
	})
}

// retryOptions answers a pick or a yes that lost its slot: never "booked", fresh options
// instead (for a visit being moved, new times for it; it stays booked).
func (a *Actor) retryOptions(c actor.Context, e env, m *InboundSMS, in *Received) {
	now := a.deps.Clock.Now()
	if v := a.st.visit(); a.st.Moving && v != nil {
		vv := *v
		s := search{from: now, service: vv.ServiceID, resource: vv.ResourceID, exclude: vv.Start, moving: true}
		a.offer(c, e, s, "reply", m.EnvelopeKey, time.Time{}, in, func(f found) string { return e.texts.MoveLost(vv.option(), options(f.offers)) })
		return
	}
	a.offer(c, e, search{from: now}, "reply", m.EnvelopeKey, time.Time{}, in, func(f found) string { return e.texts.Expired(options(f.offers)) })
}

func (a *Actor) confirm(c actor.Context, e env, m *InboundSMS, in *Received) {
	tenantID, held := a.st.TenantID, *a.st.Hold
	a.await(c, func(ctx context.Context) any {
		appt, err := a.deps.Bookings.Confirm(ctx, tenantID, held.HoldID)
		if err != nil {
			return err
		}
		return appt
	}, func(c actor.Context, v any) {
		appt, ok := v.(resource.Appointment)
		if !ok {
			// Expired, released or lost: never "booked". Fresh options instead.
			a.log.Info("confirm refused; offering fresh options", "conversation", a.logID(), "err", v)
			a.retryOptions(c, e, m, in)
			return
		}
		visit := held
		a.st.Stage, a.st.AppointmentID, a.st.Options, a.st.Visit, a.st.Moving = Booked, appt.ID, nil, &visit, false
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.Booked(held.option()), time.Time{})}})
	})
}

// confirmMove moves the booked visit to the held new time: the hold is let go and the
// appointment rescheduled onto its slot in one step of the resource actor, so the visit
// is never without a time. If the slot went meanwhile, the visit stays where it was.
func (a *Actor) confirmMove(c actor.Context, e env, m *InboundSMS, in *Received) {
	tenantID, held, apptID := a.st.TenantID, *a.st.Hold, a.st.AppointmentID
	key := "sms:" + m.MessageSid
	a.await(c, func(ctx context.Context) any {
		if err := a.deps.Bookings.Release(ctx, tenantID, held.HoldID); err != nil {
			a.log.Info("the hold on the new time was not released before the move", "conversation", a.logID(), "err", err)
		}
		appt, err := a.deps.Bookings.Reschedule(ctx, tenantID, apptID, held.Start, key)
		if err != nil {
			return err
		}
		return appt
	}, func(c actor.Context, v any) {
		appt, ok := v.(resource.Appointment)
		if !ok {
			a.log.Info("move refused; the visit stays booked", "conversation", a.logID(), "err", v)
			a.retryOptions(c, e, m, in)
			return
		}
		a.answeredReminder("rescheduled")
		moved := held
		moved.Start, moved.End, moved.HoldID, moved.ExpiresAt = appt.Start, appt.End, uuid.Nil, time.Time{}
		a.st.Stage, a.st.AppointmentID, a.st.Visit, a.st.Hold, a.st.Options, a.st.Moving = Booked, appt.ID, &moved, &moved, nil, false
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.Moved(moved.option()), time.Time{})}})
	})
}

// cancelVisit cancels the booked visit (the customer said yes to CancelAsk); the
// resource actor syncs the cancellation to the calendars. A hold on a new time for it
// goes too.
func (a *Actor) cancelVisit(c actor.Context, e env, m *InboundSMS, in *Received) {
	visit := a.st.visit()
	if visit == nil {
		a.st.Stage, a.st.Options, a.st.Hold = Idle, nil, nil
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.Released(), time.Time{})}})
		return
	}
	v := *visit
	tenantID, apptID := a.st.TenantID, a.st.AppointmentID
	var moveHold uuid.UUID
	if a.st.Moving && a.st.Hold != nil {
		moveHold = a.st.Hold.HoldID
	}
	a.await(c, func(ctx context.Context) any {
		if moveHold != uuid.Nil {
			_ = a.deps.Bookings.Release(ctx, tenantID, moveHold) // it expires on its own otherwise
		}
		_, err := a.deps.Bookings.Cancel(ctx, tenantID, apptID)
		return err
	}, func(c actor.Context, v2 any) {
		if err, failed := v2.(error); failed && err != nil {
			a.fail("cancel by SMS failed; a person follows up", err)
			a.st.NeedsAttention = true
			a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.NotCancelled(v.option()), time.Time{})}})
			return
		}
		a.answeredReminder("cancelled")
		a.st.Stage, a.st.AppointmentID, a.st.Visit, a.st.Hold, a.st.Options, a.st.Moving = Idle, uuid.Nil, nil, nil, nil, false
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.Cancelled(v.option()), time.Time{})}})
	})
}

// releaseHold lets the customer's hold go ("never mind, cancel that" before booking).
func (a *Actor) releaseHold(c actor.Context, e env, m *InboundSMS, in *Received) {
	tenantID, holdID := a.st.TenantID, a.st.Hold.HoldID
	a.await(c, func(ctx context.Context) any {
		return a.deps.Bookings.Release(ctx, tenantID, holdID)
	}, func(c actor.Context, v any) {
		if err, failed := v.(error); failed && err != nil {
			a.log.Info("hold release failed; it expires on its own", "conversation", a.logID(), "err", err)
		}
		a.st.Stage, a.st.Options, a.st.Hold = Idle, nil, nil
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.Released(), time.Time{})}})
	})
}

// logID names the conversation in logs without the customer's full number (no PII in logs).
func (a *Actor) logID() string { return a.endpoint + "/" + tenant.MaskPhone(a.phone) }

// threadLink is the console's page of this conversation, for an owner alert; "" with no
// console.
func (a *Actor) threadLink() string {
	if a.deps.ConsoleURL == "" || a.st.ID == uuid.Nil {
		return ""
	}
	return a.deps.ConsoleURL + "/conversations/" + a.st.ID.String()
}
