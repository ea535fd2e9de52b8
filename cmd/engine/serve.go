package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"ringback/actors"
	"ringback/actors/conversation"
	"ringback/actors/grains"
	"ringback/actors/resource"
	vsync "ringback/actors/sync"
	"ringback/analytics"
	"ringback/clock"
	"ringback/comms"
	"ringback/comms/twilio"
	ringhttp "ringback/http"
	"ringback/metrics"
	"ringback/persistence"
	"ringback/reminders"
	"ringback/secrets"
	"ringback/tenant"
	"ringback/tracing"
)

func openDatabase(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set (make run starts a project-local Postgres and sets it)")
	}
	pcfg, err := persistence.PoolConfig(cfg.DatabaseURL, 32)
	if err != nil {
		return nil, err
	}
	return persistence.Open(ctx, pcfg)
}

func migrateOnly(ctx context.Context, cfg Config, log *slog.Logger) error {
	pool, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := persistence.MigratePool(ctx, pool); err != nil {
		return err
	}
	log.Info("database migrated")
	return nil
}

// serve runs the engine until ctx is cancelled (SIGINT/SIGTERM), then stops taking
// requests, stops the actors (draining their mailboxes) and closes the database last.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.GCPercent > 0 {
		debug.SetGCPercent(cfg.GCPercent)
	}
	box, err := secrets.NewBox(cfg.SecretKey)
	if err != nil {
		return err
	}
	stopTracing, err := tracing.Setup(ctx, cfg.Tracing)
	if err != nil {
		return err
	}
	defer func() {
		// Last: flushes the spans of everything stopped before it.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn("tracing: the last spans could not be exported", "err", err)
		}
	}()
	pool, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := persistence.MigratePool(ctx, pool); err != nil {
		return err
	}

	defer startSandboxVendors(&cfg, log)()
	eng, err := assemble(cfg, pool, box, log, clock.Real{})
	if err != nil {
		return err
	}
	defer eng.stop()
	expelled := make(chan struct{})
	if cfg.Cluster.Enabled() {
		var once sync.Once
		node, err := grains.Start(ctx, grains.Config{Name: cfg.Cluster.Name, Provider: cfg.Cluster.Provider,
			EtcdEndpoints: cfg.Cluster.EtcdEndpoints, AdvertiseAddr: cfg.Cluster.AdvertiseAddr, TTL: cfg.Cluster.TTL,
			RequestTimeout: cfg.Cluster.RequestTimeout, Log: log, Restarts: eng.metrics.ActorRestarts,
			Expelled: func() { once.Do(func() { close(expelled) }) }, MembersLeft: eng.membersLeft}, eng.system, eng.directory)
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		eng.node.Store(node)
	}
	if err := eng.recover(ctx); err != nil {
		return err
	}
	sweepCtx, stopSweeper := context.WithCancel(context.Background())
	defer stopSweeper()
	go sweep(sweepCtx, eng, log)
	go eng.reminders.Run(sweepCtx, time.Second)
	if cfg.Cluster.Enabled() {
		// An apply on another engine reaches this one's caches and actors too.
		go persistence.ListenConfig(sweepCtx, pool, log, eng.configChanged)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           eng.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info("engine serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "sandbox", cfg.Sandbox(), "admin_api", cfg.AdminToken != "")

	var exit error
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-expelled:
		// Its actors live elsewhere now: stop at once (no drain delay) and exit non-zero
		// so the process supervisor starts a fresh member.
		exit = errors.New("cluster: expelled from the membership (paused or cut off from etcd for longer than CLUSTER_TTL)")
	}
	log.Info("shutting down")
	// Graceful leave: /readyz says 503 first and the node keeps serving while the load
	// balancer notices and moves away; then it stops taking requests and finishes those
	// in flight; then eng.stop leaves the cluster (others take over its identities) and
	// stops its actors.
	eng.draining.Store(true)
	if cfg.Cluster.Enabled() && cfg.Cluster.DrainDelay > 0 && exit == nil {
		time.Sleep(cfg.Cluster.DrainDelay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	eng.stop()
	log.Info("stopped")
	return exit
}

// engine is the assembled engine minus its listener: what serve runs and tests drive.
type engine struct {
	handler     http.Handler
	metrics     *metrics.Metrics
	system      *actor.ActorSystem
	directory   *actors.Directory
	fulfillment *persistence.Fulfillment

	conversations *persistence.Conversations
	outbox        *comms.Outbox
	dispatcher    dispatcher
	// events is the analytics event log's writer; tests Flush it before reading the log.
	events *analytics.Writer
	// live fans changes out to the open console pages.
	live *ringhttp.Live

	sync      *vsync.Service
	syncStore *persistence.Sync
	jobber    jobberIntake
	pool      *pgxpool.Pool
	log       *slog.Logger
	// configChanged tells this process that a tenant's config was applied ("" for any),
	// by this engine or another.
	configChanged func(tenantID string)
	// node is the cluster membership, nil in a single process; draining says SIGTERM came
	// and /readyz answers 503.
	node     atomic.Pointer[grains.Node]
	draining atomic.Bool
	// reminders hands due reminders to the conversations; serve ticks it every second,
	// tests call Tick after moving the clock.
	reminders *reminders.Scheduler
	bookings  *resource.Bookings
	catalog   *tenant.Cache

	stopOnce sync.Once
	stop     func()
}

// assemble constructs the engine's parts in dependency order; stop takes them down in
// reverse: actors first (draining their mailboxes), then the writer (committing every
// write they issued), then the outbox and the actor system, and last the event log's
// writer, which writes what all of them recorded.
func assemble(cfg Config, pool *pgxpool.Pool, box *secrets.Box, log *slog.Logger, clk clock.Clock) (*engine, error) {
	e := &engine{pool: pool, log: log}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{TenantLabels: !cfg.MetricsAllTenants})
	reg.MustRegister(metrics.NewDBPoolCollector(pool))

	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(&minLevel{Handler: log.Handler(), min: slog.LevelWarn}).With("component", "protoactor")
	}))
	dir := actors.NewDirectory(system)
	eventLog := persistence.NewAnalytics(pool)
	eventWriter := analytics.NewWriter(eventLog, analytics.WithRegisterer(reg), analytics.WithLogger(log), analytics.WithClock(clk))
	live := ringhttp.NewLive()
	events := liveEvents{Writer: eventWriter, live: live}

	tenants := persistence.NewTenants(pool, box)
	catalog := tenant.NewCache(func(ctx context.Context, id string) (*tenant.Config, error) {
		c, _, err := tenants.Get(ctx, id)
		return c, err
	})
	fulfillment := persistence.NewFulfillment(pool)
	writer := resource.NewWriter(fulfillment, resource.WriterConfig{})
	var syncer *vsync.Service // started below; resource actors only reach it after that
	dir.Register(resource.Kind, resource.Props(&resource.Deps{
		Store: fulfillment, Writer: writer, Clock: clk, Catalog: catalog,
		Metrics: m, Log: log, Directory: dir, Events: events,
		SyncQueued: func(tenantID string, targets []resource.SyncTarget) {
			for _, t := range targets {
				syncer.Kick(tenantID, t.ConnectionID, t.Provider)
			}
		},
	}))
	bookings := resource.NewBookings(dir, catalog, fulfillment, 5*time.Second)
	syncStore := persistence.NewSync(pool)
	syncer, err := startSync(cfg, system, dir, syncStore, tenants, catalog, bookings, clk, m, log, events)
	if err != nil {
		events.Close()
		return nil, err
	}
	jobberHooks := jobberIntake{tenants: tenants, store: syncStore, service: syncer, clock: clk, log: log}

	convStore := persistence.NewConversations(pool, box)
	var sender comms.Sender = comms.Sandbox{Log: log}
	if !cfg.Sandbox() {
		tw, err := twilio.New(twilio.Config{AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, APIURL: cfg.TwilioAPIURL})
		if err != nil {
			events.Close()
			return nil, err
		}
		sender = tw
	}
	callback := ""
	if !cfg.Sandbox() {
		callback = cfg.PublicURL + "/webhooks/twilio/sms-status"
	}
	outbox := comms.NewOutbox(comms.Config{
		StatusCallback: callback,
		RateFor: sendRate(convStore, catalog, log, func() int {
			if node := e.node.Load(); node != nil {
				return node.Members()
			}
			return 1
		}),
		OnOptedOut: func(tenantID, from, to string) {
			_ = dir.Send(conversation.Kind, conversation.Identity(from, to), &conversation.CarrierOptOut{TenantID: tenantID})
		},
		Events:  events,
		Current: reminderCurrent(fulfillment),
	}, convStore, sender, clk, m, log)
	dir.Register(conversation.Kind, conversation.Props(&conversation.Deps{
		Store: convStore, Bookings: bookings, Outbox: outbox, Catalog: catalog, Clock: clk,
		Metrics: m, Log: log, Directory: dir, Events: events, Changed: live.Publish, ConsoleURL: cfg.PublicURL + "/console",
	}))
	scheduler := reminders.NewScheduler(reminders.Config{}, fulfillment.Reminders(),
		reminderDispatch{dir: dir, bookings: bookings, catalog: catalog, timeout: 5 * time.Second}, clk, m, log)
	intake := receipts{Conversations: convStore, events: events}
	disp := dispatcher{dir: dir, intake: intake, log: log}

	listener := configListener{catalog: catalog, bookings: bookings, conversations: convStore, sync: syncer}
	e.configChanged = func(id string) {
		tenants.Forget(id)
		listener.TenantChanged(id)
	}
	srv := ringhttp.NewServer(ringhttp.Config{AdminToken: cfg.AdminToken, PublicURL: cfg.PublicURL,
		TwilioAuthToken: cfg.webhookToken(), JobberClientSecret: cfg.JobberClientSecret, MaxInFlight: cfg.MaxInFlight, Now: clk.Now}, ringhttp.Deps{
		Log:                  log,
		Tenants:              tenants,
		Listener:             listener,
		Sync:                 syncAdmin{store: syncStore, catalog: catalog, service: syncer},
		VendorWebhooks:       jobberHooks,
		Registry:             reg,
		BookingAuth:          tenants,
		Bookings:             bookings,
		Appointments:         fulfillment,
		Intake:               intake,
		Dispatcher:           disp,
		Conversations:        convStore,
		Events:               eventLog,
		Metrics:              m,
		Console:              persistence.NewConsole(pool),
		ConsoleConversations: consoleConversations{dir: dir, catalog: catalog},
		Live:                 live,
		Ready: func(ctx context.Context) error {
			if e.draining.Load() {
				return errors.New("shutting down")
			}
			if cfg.Cluster.Enabled() && e.node.Load() == nil {
				return errors.New("not a cluster member yet")
			}
			if system.IsStopped() {
				return errors.New("actor system stopped")
			}
			if err := pool.Ping(ctx); err != nil {
				return fmt.Errorf("postgres: %w", err)
			}
			return nil
		},
	})
	e.handler, e.metrics, e.system, e.directory = srv.Handler(), m, system, dir
	e.fulfillment, e.conversations, e.outbox, e.dispatcher, e.events, e.live = fulfillment, convStore, outbox, disp, eventWriter, live
	e.sync, e.syncStore, e.jobber, e.reminders, e.bookings, e.catalog = syncer, syncStore, jobberHooks, scheduler, bookings, catalog
	e.stop = func() {
		e.stopOnce.Do(func() {
			syncer.Stop()
			if node := e.node.Load(); node != nil {
				node.Leave(func() { dir.StopAll(10 * time.Second) })
			} else {
				dir.StopAll(10 * time.Second)
			}
			writer.Close()
			outbox.Close()
			if !system.IsStopped() { // leaving a cluster stops it
				system.Shutdown()
			}
			// Last: everything above may still record. The pool closes after this returns.
			if err := events.Close(); err != nil {
				log.Warn("analytics: the last events could not be written", "err", err)
			}
		})
	}
	return e, nil
}

// recover resumes what a dead process left: webhooks stored but not processed, and
// outbox messages not yet handed to the provider.
func (e *engine) recover(ctx context.Context) error {
	if e.node.Load() != nil {
		// In a cluster the other engines are working: what is unprocessed or unsent may be
		// theirs, in flight. Only what a dead engine left is taken over, by its age (the
		// sweep's thresholds); the rest is theirs to finish.
		return e.sweepOnce(ctx, time.Now(), 20*time.Second)
	}
	if err := e.redispatch(ctx, time.Time{}); err != nil { // everything a dead process left
		return err
	}
	ids, err := e.conversations.RecoverDeliveries(ctx)
	if err != nil {
		return fmt.Errorf("recover outbox: %w", err)
	}
	e.outbox.Enqueue(ids...)
	return e.jobber.replay(ctx, time.Time{})
}

// redispatch hands the conversations again every envelope received before `before` (zero:
// all) and not yet processed. At start these are what a dead process left; while running, a dispatch
// lost to an actor passivating at that instant. Replaying is safe: a step marks its
// envelope processed in the same transaction as its effects, and its outbox ids derive
// from the envelope key.
func (e *engine) redispatch(ctx context.Context, before time.Time) error {
	envs, err := e.conversations.Unprocessed(ctx, before, 100000)
	if err != nil {
		return fmt.Errorf("replay webhooks: %w", err)
	}
	for _, env := range envs {
		var p ringhttp.WebhookPayload
		if err := json.Unmarshal(env.Payload, &p); err != nil {
			return fmt.Errorf("replay webhook %s: %w", env.Key, err)
		}
		e.dispatcher.Replay(ctx, env, p)
	}
	return nil
}

// receipts is the webhook intake with delivery receipts recorded in the event log: the
// one place both the live webhook and its replay after a crash apply a receipt, so each
// receipt that moves a delivery forward is recorded once (applying it again moves nothing).
type receipts struct {
	*persistence.Conversations
	events analytics.Recorder
}

var _ ringhttp.Intake = receipts{}

// ApplyReceipt applies a receipt and records the delivery.status it advanced to. Statuses
// outside the documented set (sending, read) move the delivery but are not events.
func (r receipts) ApplyReceipt(ctx context.Context, sid, status string, errorCode int) (bool, error) {
	exists, advanced, err := r.Conversations.ApplyReceipt(ctx, sid, status, errorCode)
	if err == nil {
		r.record(advanced)
	}
	return exists, err
}

// StoreReceipt stores and applies a receipt webhook, recording the delivery.status it
// advanced to.
func (r receipts) StoreReceipt(ctx context.Context, env persistence.ReceiptEnvelope) (bool, error) {
	got, err := r.Conversations.StoreReceipt(ctx, env)
	if err == nil {
		r.record(got.Advanced)
	}
	return got.Inserted, err
}

// record records the delivery.status event of a receipt that moved a delivery forward.
func (r receipts) record(advanced *persistence.Receipt) {
	if advanced == nil || advanced.ConversationID == "" {
		return
	}
	switch advanced.Status {
	case "queued", "sent", "delivered", "undelivered", "failed":
		r.events.Record(analytics.Event{TenantID: advanced.TenantID, Kind: analytics.DeliveryStatus, Subject: advanced.ConversationID,
			Data: analytics.DeliveryStatusData{ClientMessageID: advanced.ClientMessageID, MessageKind: advanced.Kind,
				Status: advanced.Status, ErrorCode: advanced.ErrorCode}})
	}
}

// dispatcher hands stored webhooks to the conversation actors.
type dispatcher struct {
	dir    *actors.Directory
	intake receipts
	log    *slog.Logger
}

// Dispatch sends the conversation message of env, with env's correlation id and the
// traceparent of ctx's span (the webhook's; none on a replay).
func (d dispatcher) Dispatch(ctx context.Context, env persistence.Envelope, p ringhttp.WebhookPayload) {
	if msg := tenant.PhoneProblem(p.From); msg != "" {
		// An anonymous or malformed caller cannot be texted: nothing to do.
		d.log.Info("webhook from a number that cannot be texted; ignored", "kind", env.Kind, "correlation_id", env.CorrelationID)
		_ = d.intake.MarkEnvelopeProcessed(context.Background(), env.Key)
		return
	}
	identity := conversation.Identity(p.To, p.From)
	parent := tracing.Inject(ctx)
	var msg any
	switch env.Kind {
	case ringhttp.KindMissedCall:
		msg = &conversation.MissedCall{TenantID: env.TenantID, Endpoint: p.To, Phone: p.From, EnvelopeKey: env.Key, ReceivedAt: env.ReceivedAt,
			CorrelationID: env.CorrelationID, TraceParent: parent}
	case ringhttp.KindInboundSMS:
		msg = &conversation.InboundSMS{TenantID: env.TenantID, Endpoint: p.To, Phone: p.From, EnvelopeKey: env.Key,
			MessageSid: p.MessageSid, Body: p.Body, ReceivedAt: env.ReceivedAt, CorrelationID: env.CorrelationID, TraceParent: parent}
	default:
		return
	}
	if err := d.dir.Send(conversation.Kind, identity, msg); err != nil {
		d.log.Error("dispatch failed; the webhook is replayed on restart", "correlation_id", env.CorrelationID, "err", err)
	}
}

// Replay re-dispatches an envelope a dead process accepted but did not finish.
func (d dispatcher) Replay(ctx context.Context, env persistence.Envelope, p ringhttp.WebhookPayload) {
	switch env.Kind {
	case ringhttp.KindMissedCall, ringhttp.KindInboundSMS:
		d.Dispatch(ctx, env, p)
		return
	case ringhttp.KindSMSStatus:
		if _, err := d.intake.ApplyReceipt(ctx, p.MessageSid, p.Status, p.ErrorCode); err != nil {
			d.log.Error("replay receipt", "err", err)
			return
		}
	}
	_ = d.intake.MarkEnvelopeProcessed(ctx, env.Key)
}

// sendRate finds a sender's configured messages/second (its endpoint's send_rate), this
// engine's share of it in a cluster (every engine sends for every number).
func sendRate(store *persistence.Conversations, catalog *tenant.Cache, log *slog.Logger, share func() int) func(string) float64 {
	return func(from string) float64 {
		n := max(1, share())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tenantID, _, err := store.EndpointOwner(ctx, from)
		if err == nil {
			if cfg, err := catalog.Tenant(ctx, tenantID); err == nil {
				for _, ep := range cfg.Endpoints {
					if ep.Number == from && ep.SendRate > 0 {
						return ep.SendRate / float64(n)
					}
				}
			}
		}
		if err != nil {
			log.Warn("send rate lookup failed; using 1/s", "err", err)
		}
		return 1 / float64(n)
	}
}

// configListener reloads a tenant's config in the running actors after an apply.
type configListener struct {
	catalog       *tenant.Cache
	bookings      *resource.Bookings
	conversations *persistence.Conversations
	sync          *vsync.Service
}

func (l configListener) TenantChanged(id string) {
	if id == "" {
		l.catalog.InvalidateAll()
	}
	l.catalog.Invalidate(id)
	l.conversations.ForgetEndpoints()
	l.bookings.TenantChanged(id)
	l.sync.Reconcile()
}

// sweep runs, every 30 s, the engine's backstops: it expires holds whose time ran out but
// whose actor is gone (the process that held them died; running actors expire their own on
// time), and re-dispatches webhooks left unprocessed for more than a minute. Every 5 s it
// refreshes ringback_sync_backlog.
func sweep(ctx context.Context, e *engine, log *slog.Logger) {
	every, late := 30*time.Second, time.Minute
	if e.node.Load() != nil {
		// A cluster loses a dispatch whenever a node dies or leaves: take it over sooner.
		every, late = 10*time.Second, 20*time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	backlog := time.NewTicker(5 * time.Second)
	defer backlog.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-backlog.C:
			if err := e.sync.UpdateBacklog(ctx); err != nil && ctx.Err() == nil {
				log.Warn("sync backlog gauge", "err", err)
			}
		case <-t.C:
			if err := e.sweepOnce(ctx, time.Now(), late); err != nil && ctx.Err() == nil {
				log.Warn("sweep", "err", err)
			}
		}
	}
}

// membersLeft hands the conversations again, at once instead of at the next sweep, the
// webhooks a dead engine may have dropped: a dispatch is a one-way message, and one sent
// to an engine in the moments before it was dropped from the cluster is lost with it.
// A second later (the new owners are known by then), one engine (the sweep's lock)
// re-dispatches what was received before and is unprocessed; a replay of a webhook whose
// step committed changes nothing.
func (e *engine) membersLeft() {
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	before := time.Now().Add(-time.Second)
	if _, err := persistence.TryLocked(ctx, e.pool, persistence.SweepLock, func(ctx context.Context) error {
		return e.redispatch(ctx, before)
	}); err != nil {
		e.log.Warn("cluster: re-dispatching after a member left", "err", err)
	}
}

// sweepOnce is one round of the backstops (see sweep), taking over what has waited longer
// than late. In a cluster one engine at a time runs it (an advisory lock); the round also
// tells every active vendor connection to run, so that one whose owner changed starts on
// its new owner.
func (e *engine) sweepOnce(ctx context.Context, now time.Time, late time.Duration) error {
	round := func(ctx context.Context) error {
		var errs []error
		if err := e.jobber.replay(ctx, now.Add(-late)); err != nil {
			errs = append(errs, fmt.Errorf("vendor webhook re-dispatch: %w", err))
		}
		n, err := e.fulfillment.ExpireStale(ctx, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("hold sweeper: %w", err))
		} else if n > 0 {
			e.log.Info("hold sweeper expired holds", "count", n)
		}
		if err := e.redispatch(ctx, now.Add(-late)); err != nil {
			errs = append(errs, fmt.Errorf("webhook re-dispatch: %w", err))
		}
		if err := e.resend(ctx, now); err != nil {
			errs = append(errs, fmt.Errorf("outbox re-dispatch: %w", err))
		}
		if err := e.kickStalledSync(ctx, now.Add(-late)); err != nil {
			errs = append(errs, fmt.Errorf("sync kick: %w", err))
		}
		return errors.Join(errs...)
	}
	if e.node.Load() == nil {
		return round(ctx)
	}
	e.sync.Reconcile()
	_, err := persistence.TryLocked(ctx, e.pool, persistence.SweepLock, round)
	return err
}

// kickStalledSync wakes the vendor connections with a job that has been claimable since
// before and is not claimed: their worker missed its kick (one sent to an engine as it
// died); a running worker fills when kicked, a moved one was started by Reconcile.
func (e *engine) kickStalledSync(ctx context.Context, before time.Time) error {
	conns, err := e.syncStore.Stalled(ctx, before)
	for _, c := range conns {
		e.sync.Kick(c.TenantID, c.ID, c.Provider)
	}
	return err
}

// resend hands the outbox again what nothing would send otherwise: deliveries due a
// minute ago and untouched since (their step committed although its caller saw an error)
// and sends claimed a minute ago and never recorded. A claim is followed at once by the
// send, which the outbox bounds to 30 s, so a claim that old was made by an engine that
// died (in a cluster the others pick it up here) or whose record failed.
func (e *engine) resend(ctx context.Context, now time.Time) error {
	ids, err := e.conversations.StrandedDeliveries(ctx, now.Add(-time.Minute), now.Add(-time.Minute), 10000)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		e.outbox.Enqueue(ids...)
	}
	return nil
}

// minLevel drops records below min; it quiets protoactor, whose info logs are chatty.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h *minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h *minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return &minLevel{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h *minLevel) WithGroup(name string) slog.Handler {
	return &minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
