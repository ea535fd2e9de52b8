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
	// IdleTimeout passivates an idle conversation (default 2m).
	IdleTimeout time.Duration
	// CallTimeout bounds each call to the fulfillment actors (default 5s).
	CallTimeout time.Duration
}

// Props builds conversation actors; a panic restarts the actor, which reloads from Postgres.
func Props(deps *Deps) actors.PropsFunc {
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
	return func(identity string) *actor.Props {
		endpoint, phone, _ := strings.Cut(identity, "/")
		return actor.PropsFromProducer(func() actor.Actor {
			return &Actor{deps: deps, identity: identity, endpoint: endpoint, phone: phone}
		}, actor.WithGuardian(guardian), actors.Instrument(Kind, deps.Metrics))
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
		if errors.Is(err, ErrRepeated) {
			a.log.Info("webhook handed to the conversation again; already processed", "conversation", a.logID())
		} else {
			a.fail("conversation commit failed", err)
		}
		a.loaded = false
		a.done(c)
		return
	}
	a.st, a.storedOptOut = next, next.Caller.OptedOut
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
	verdict, at := AutoReply(e.policy, a.st.Caller, now)
	switch verdict {
	case Send:
		a.offer(c, e, now, "auto_reply", m.EnvelopeKey, m.ReceivedAt, nil, func(opts []Offer) string { return e.texts.Offer(options(opts)) })
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
		a.offer(c, e, now, "auto_reply", "quiet:"+d.EnvelopeKey, d.ReceivedAt, nil, func(opts []Offer) string { return e.texts.Offer(options(opts)) })
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

// offer looks up the next open slots of the endpoint's default service from `from` and
// sends them with text (or the no-slots text). An auto-reply also starts the cooldown.
func (a *Actor) offer(c actor.Context, e env, from time.Time, kind, key string, trigger time.Time, in *Received, text func([]Offer) string) {
	svc, ok := e.cfg.Service(e.ep.DefaultService)
	if !ok {
		a.fail("endpoint's default service is not configured", fmt.Errorf("service %q not found", e.ep.DefaultService))
		a.done(c)
		return
	}
	tenantID, count, horizon := a.st.TenantID, e.cfg.Policies.OfferCount, e.cfg.Policies.Horizon.Std()
	now := a.deps.Clock.Now()
	a.await(c, func(ctx context.Context) any {
		slots, _, err := a.deps.Bookings.Availability(ctx, tenantID, svc.ID, "", from, now.Add(horizon), count)
		if err != nil {
			return err
		}
		return slots
	}, func(c actor.Context, v any) {
		slots, _ := v.([]resource.Slot)
		if err, isErr := v.(error); isErr {
			a.fail("availability failed; answering without options", err)
		}
		offers := make([]Offer, len(slots))
		for i, s := range slots {
			offers[i] = Offer{ResourceID: s.ResourceID, ServiceID: svc.ID, Start: s.Start, End: s.End,
				QuoteMinor: svc.Price.Quote(svc.Duration.Std()), Currency: svc.Price.Currency}
		}
		body := e.texts.NoSlots()
		a.st.Stage, a.st.Options, a.st.Hold = Idle, nil, nil
		if len(offers) > 0 {
			body = text(offers)
			a.st.Stage, a.st.Options, a.st.SearchFrom = Offered, offers, offers[len(offers)-1].Start.Add(time.Nanosecond)
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
	reply := ParseReply(m.Body)
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
		// Already opted out: only the confirmation owed for that opt-out goes now.
		if !a.st.Caller.OptedOut {
			a.stage(analytics.ConsentOptedOut, analytics.ConsentData{Endpoint: a.endpoint, Source: "sms"})
		}
		compliance(e.texts.OptOut())
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
	now := a.deps.Clock.Now()
	fresh := func(text func([]Offer) string) {
		a.offer(c, e, now, "reply", m.EnvelopeKey, time.Time{}, in, text)
	}
	switch reply.Kind {
	case ReplyOption:
		if a.st.Stage == Offered && reply.Option >= 1 && reply.Option <= len(a.st.Options) {
			a.hold(c, e, m, in, reply.Option, a.st.Options[reply.Option-1])
			return
		}
	case ReplyMore:
		from := a.st.SearchFrom
		if from.Before(now) {
			from = now
		}
		a.offer(c, e, from, "reply", m.EnvelopeKey, time.Time{}, in, func(opts []Offer) string { return e.texts.Offer(options(opts)) })
		return
	case ReplyConfirm:
		if a.st.Stage == Holding && a.st.Hold != nil {
			a.confirm(c, e, m, in)
			return
		}
		// No live hold: never "booked". Fresh options instead.
		fresh(func(opts []Offer) string { return e.texts.Expired(options(opts)) })
		return
	}
	// Anything else is kept for the business; at most one acknowledgement per day.
	var out []Outgoing
	if now.Sub(a.st.LastAckAt) >= 24*time.Hour {
		a.st.LastAckAt = now
		out = []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.Ack(), time.Time{})}
	}
	a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: out})
}

// hold places a hold on the option the customer replied with (its number is option).
func (a *Actor) hold(c actor.Context, e env, m *InboundSMS, in *Received, option int, o Offer) {
	tenantID := a.st.TenantID
	req := resource.HoldRequest{ServiceID: o.ServiceID, Start: o.Start, ResourceID: o.ResourceID,
		Customer: resource.Customer{Phone: a.phone}, Key: "sms:" + m.MessageSid}
	a.await(c, func(ctx context.Context) any {
		h, _, err := a.deps.Bookings.Hold(ctx, tenantID, req)
		if err != nil {
			return err
		}
		return h
	}, func(c actor.Context, v any) {
		h, ok := v.(resource.Claim)
		if !ok {
			a.log.Info("hold refused; offering fresh options", "conversation", a.logID(), "err", v)
			a.offer(c, e, a.deps.Clock.Now(), "reply", m.EnvelopeKey, time.Time{}, in, func(opts []Offer) string { return e.texts.Expired(options(opts)) })
			return
		}
		o.HoldID, o.ExpiresAt, o.QuoteMinor, o.Currency = h.ID, h.ExpiresAt, h.Quote.AmountMinor, h.Quote.Currency
		a.st.Stage, a.st.Hold = Holding, &o
		// Also for a replayed hold: its first step (whose events these are) never committed,
		// or this one is a repeat that Save refuses.
		a.stage(analytics.OptionChosen, analytics.OptionChosenData{Option: option, HoldID: h.ID.String(),
			ResourceID: h.ResourceID, ServiceID: h.ServiceID, StartsAt: h.Start.UTC()})
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.Held(o.option()), time.Time{})}})
	})
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
			a.offer(c, e, a.deps.Clock.Now(), "reply", m.EnvelopeKey, time.Time{}, in, func(opts []Offer) string { return e.texts.Expired(options(opts)) })
			return
		}
		a.st.Stage, a.st.AppointmentID, a.st.Options = Booked, appt.ID, nil
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.Booked(held.option()), time.Time{})}})
	})
}

// logID names the conversation in logs without the customer's full number (no PII in logs).
func (a *Actor) logID() string { return a.endpoint + "/" + tenant.MaskPhone(a.phone) }
