package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"ringback/actors"
	"ringback/actors/resource"
	vsync "ringback/actors/sync"
	"ringback/analytics"
	"ringback/clock"
	"ringback/metrics"
	"ringback/persistence"
	"ringback/tenant"
	"ringback/vendors/google"
	"ringback/vendors/jobber"
	"ringback/vendors/oauth"
)

// vendorHTTPTimeout bounds one vendor HTTP request (token refreshes included).
const vendorHTTPTimeout = 20 * time.Second

// tokenSource is a connection's OAuth token source: its rotated refresh tokens are sealed
// into Postgres before use, and every refresh spends the token stored last, under the
// connection's row lock, so engines sharing the connection never spend one twice.
func tokenSource(tenants *persistence.Tenants, hc *http.Client, conn vsync.Connection, clientID, clientSecret, tokenURL string) (*oauth.Source, error) {
	if clientID == "" || clientSecret == "" {
		return nil, vsync.Permanent(fmt.Errorf("%s OAuth app is not configured (set %s_CLIENT_ID and %s_CLIENT_SECRET)",
			conn.Provider, envPrefix(conn.Provider), envPrefix(conn.Provider)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), vendorHTTPTimeout)
	defer cancel()
	creds, err := tenants.ConnectionCredentials(ctx, conn.TenantID, conn.ID)
	if err != nil {
		return nil, err
	}
	refresh := creds[tenant.CredentialRefreshToken]
	if refresh == "" {
		return nil, fmt.Errorf("%w: the connection has no refresh token", vsync.ErrReconnect)
	}
	save := func(ctx context.Context, token string) error {
		return tenants.SaveRefreshToken(ctx, conn.TenantID, conn.ID, token)
	}
	rotate := func(ctx context.Context, refresh func(string) (string, error)) error {
		return tenants.RotateRefreshToken(ctx, conn.TenantID, conn.ID, refresh)
	}
	return oauth.TokenSource(context.Background(), clientID, clientSecret, tokenURL, refresh, save, hc).Shared(rotate), nil
}

// startSync starts the sync actors with a Factory per provider: each connection gets
// its vendor client with an OAuth token source whose rotated refresh tokens are sealed
// into Postgres before use.
func startSync(cfg Config, system *actor.ActorSystem, dir *actors.Directory, store *persistence.Sync, tenants *persistence.Tenants,
	catalog *tenant.Cache, bookings *resource.Bookings, clk clock.Clock, m *metrics.Metrics, log *slog.Logger, events analytics.Recorder) (*vsync.Service, error) {
	hc := &http.Client{Timeout: vendorHTTPTimeout}
	tokens := func(conn vsync.Connection, clientID, clientSecret, tokenURL string) (*oauth.Source, error) {
		return tokenSource(tenants, hc, conn, clientID, clientSecret, tokenURL)
	}
	wrap := cfg.wrapProvider
	if wrap == nil {
		wrap = func(_ vsync.Connection, p vsync.Provider) vsync.Provider { return p }
	}
	if !cfg.Cluster.Enabled() {
		// The only engine: a job claimed now was claimed by a process that is gone, and
		// runs again at once instead of when its claim runs out.
		ctx, cancel := context.WithTimeout(context.Background(), vendorHTTPTimeout)
		n, err := store.ReleaseClaims(ctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("release sync job claims: %w", err)
		}
		if n > 0 {
			log.Info("sync: jobs a previous process had claimed run again", "count", n)
		}
	}
	return vsync.Start(system, dir, vsync.Deps{
		OnRestart: cfg.onSyncRestart,
		Store:     store,
		Catalog:   catalog,
		Bookings:  bookings,
		Clock:     clk,
		Log:       log,
		Metrics:   m,
		Events:    events,
		Connect: map[string]vsync.Factory{
			tenant.ProviderGoogle: func(ctx context.Context, conn vsync.Connection) (vsync.Provider, error) {
				ts, err := tokens(conn, cfg.GoogleClientID, cfg.GoogleClientSecret, cfg.GoogleTokenURL)
				if err != nil {
					return nil, err
				}
				g, err := google.New(ctx, google.Config{BaseURL: cfg.GoogleCalendarURL, TokenSource: ts, HTTPClient: hc})
				if err != nil {
					return nil, err
				}
				return wrap(conn, g), nil
			},
			tenant.ProviderJobber: func(ctx context.Context, conn vsync.Connection) (vsync.Provider, error) {
				ts, err := tokens(conn, cfg.JobberClientID, cfg.JobberClientSecret, cfg.JobberTokenURL)
				if err != nil {
					return nil, err
				}
				c := jobber.New(jobber.Config{APIURL: cfg.JobberAPIURL, TokenSource: ts, HTTPClient: hc})
				return wrap(conn, jobberConnection{Client: c, open: func(ctx context.Context) error {
					// The account id routes Jobber's webhooks here; until it is known they
					// are ignored, while appointments sync as usual.
					id, err := c.AccountID(ctx)
					if err != nil {
						return fmt.Errorf("reading the Jobber account id: %w", err)
					}
					return tenants.SetAccountID(ctx, conn.TenantID, conn.ID, id)
				}}), nil
			},
		},
		Busy: func(tenantID, resourceID string, busy []vsync.Interval, readAt time.Time) {
			ivs := make([]resource.Interval, len(busy))
			for i, b := range busy {
				ivs[i] = resource.Interval{Start: b.Start, End: b.End}
			}
			msg := &resource.BusyTimeImported{Busy: ivs, ReadAt: readAt}
			identity := resource.Identity(tenantID, resourceID)
			if dir.Clustered() {
				// The resource may live on another node: tell its grain there.
				_ = dir.Send(resource.Kind, identity, msg)
				return
			}
			if pid, ok := dir.Lookup(resource.Kind, identity); ok {
				system.Root.Send(pid, msg)
			} // else it loads the busy time from Postgres when it starts
		},
	})
}

// jobberConnection is a Jobber client that learns its account id when its connection
// starts (vsync.Opener), off the connection's mailbox.
type jobberConnection struct {
	*jobber.Client
	open func(ctx context.Context) error
}

func (j jobberConnection) Open(ctx context.Context) error { return j.open(ctx) }

func envPrefix(provider string) string {
	if provider == tenant.ProviderGoogle {
		return "GOOGLE"
	}
	return "JOBBER"
}

// syncAdmin serves the admin API's connection routes.
type syncAdmin struct {
	store   *persistence.Sync
	catalog *tenant.Cache
	service *vsync.Service
}

func (a syncAdmin) ConnectionViews(ctx context.Context, tenantID string) ([]persistence.ConnectionView, error) {
	return a.store.ConnectionViews(ctx, tenantID)
}

func (a syncAdmin) Resume(ctx context.Context, tenantID, connID string) error {
	if err := a.store.ResumeConnection(ctx, tenantID, connID); err != nil {
		return err
	}
	a.service.Reconcile()
	return nil
}

func (a syncAdmin) ReadCalendars(ctx context.Context, tenantID, connID string) error {
	cfg, err := a.catalog.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, c := range cfg.Connections {
		if c.ID == connID {
			return a.service.ReadCalendars(ctx, tenantID, connID, c.Provider)
		}
	}
	return tenant.ErrNotFound
}

// jobberIntake stores Jobber's webhooks and hands them to the connection they concern.
type jobberIntake struct {
	tenants *persistence.Tenants
	store   *persistence.Sync
	service *vsync.Service
	clock   clock.Clock
	log     *slog.Logger
}

func (j jobberIntake) Jobber(ctx context.Context, ev jobber.Event, body []byte) (duplicate, ignored bool, err error) {
	tenantID, connID, err := j.tenants.ConnectionByAccount(ctx, tenant.ProviderJobber, ev.AccountID)
	if errors.Is(err, tenant.ErrNotFound) {
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	stored, err := j.store.StoreVendorWebhook(ctx, tenant.ProviderJobber, ev.Key(), body, j.clock.Now())
	if err != nil || !stored {
		return !stored && err == nil, false, err
	}
	j.handle(ctx, tenantID, connID, ev)
	return false, false, nil
}

// handle acts on a stored Jobber event: visit changes go to the connection's actor to
// reconcile; a disconnected app parks the connection; the rest is noted and done.
func (j jobberIntake) handle(ctx context.Context, tenantID, connID string, ev jobber.Event) {
	switch ev.Topic {
	case "VISIT_UPDATE", "VISIT_DESTROY":
		j.service.VendorChanged(tenantID, connID, tenant.ProviderJobber,
			&vsync.VendorChange{Key: ev.Key(), Kind: "visit", ItemID: ev.ItemID, Deleted: ev.Topic == "VISIT_DESTROY"})
		return
	case "APP_DISCONNECT":
		if err := j.store.SetConnectionState(ctx, tenantID, connID, vsync.ReconnectNeeded, "the app was disconnected in Jobber"); err != nil {
			j.log.Warn("jobber: parking a disconnected connection failed", "err", err)
			return
		}
		j.service.Reconcile()
	}
	if err := j.store.VendorWebhookDone(ctx, tenant.ProviderJobber, ev.Key(), "noted", j.clock.Now()); err != nil {
		j.log.Warn("jobber: marking a webhook done failed", "err", err)
	}
}

// replay hands on vendor webhooks stored before `before` (zero: all) and not processed.
func (j jobberIntake) replay(ctx context.Context, before time.Time) error {
	hooks, err := j.store.UnprocessedVendorWebhooks(ctx, before, 10000)
	if err != nil {
		return fmt.Errorf("replay vendor webhooks: %w", err)
	}
	for _, h := range hooks {
		ev, err := jobber.ParseWebhook(h.Payload)
		if err != nil {
			_ = j.store.VendorWebhookDone(ctx, h.Provider, h.Key, "unreadable: "+err.Error(), j.clock.Now())
			continue
		}
		tenantID, connID, err := j.tenants.ConnectionByAccount(ctx, tenant.ProviderJobber, ev.AccountID)
		if err != nil {
			continue
		}
		j.handle(ctx, tenantID, connID, ev)
	}
	return nil
}
