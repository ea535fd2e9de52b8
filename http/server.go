// Package http is Ringback's edge: gorilla/mux routes for the admin API, the booking API,
// vendor webhooks, /metrics and health. Handlers decode and check requests, call the
// domain through small interfaces declared here, and answer; they decide nothing else.
package http

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ringback/metrics"
	"ringback/tenant"
)

// TenantStore is what the admin API needs of tenant storage.
type TenantStore interface {
	Apply(ctx context.Context, cfg *tenant.Config) (tenant.ApplyResult, error)
	Get(ctx context.Context, id string) (*tenant.Config, int64, error)
}

// ConfigListener is told after a tenant's config changed, so running actors reload it.
type ConfigListener interface {
	TenantChanged(tenantID string)
}

// Config are the server's settings.
type Config struct {
	AdminToken string // empty: the admin API answers 503
	// MaxBodyBytes caps request bodies (default 1 MiB).
	MaxBodyBytes int64
	// PublicURL is the base URL vendors call; Twilio signatures are checked against it
	// plus the request path.
	PublicURL string
	// TwilioAuthToken validates Twilio signatures ("sandbox" in sandbox mode).
	TwilioAuthToken string
	// JobberClientSecret validates Jobber webhooks; empty refuses them all.
	JobberClientSecret string
	// MaxInFlight bounds the webhook and the booking API requests served at once, each
	// (default 512); past it they are answered 503 with Retry-After.
	MaxInFlight int
	// Now is the engine's clock, for the console's "today" and open times (default
	// time.Now).
	Now func() time.Time
}

// Deps are the server's collaborators; cmd/engine plugs in the concrete types.
type Deps struct {
	Log      *slog.Logger
	Tenants  TenantStore
	Listener ConfigListener // may be nil
	Registry *prometheus.Registry
	// BookingAuth and Bookings serve the booking API; Appointments the admin listing.
	BookingAuth  BookingAuth
	Bookings     Bookings
	Appointments Appointments
	// Intake and Dispatcher serve the webhooks; Conversations the admin listing.
	Intake        Intake
	Dispatcher    Dispatcher
	Conversations ConversationViews
	Metrics       *metrics.Metrics
	// Sync serves connection health; VendorWebhooks takes Jobber's webhooks.
	Sync           SyncAdmin
	VendorWebhooks VendorWebhooks
	Events         EventExport // the analytics event log's export
	// Ready reports whether the engine can do its work (Postgres answers, actors run).
	Ready func(ctx context.Context) error
	// Console, ConsoleConversations and Live serve the business's console under /console/
	// (nil Console: no console).
	Console              ConsoleStore
	ConsoleConversations ConsoleConversations
	Live                 *Live
}

// Server routes requests to handlers.
type Server struct {
	cfg    Config
	deps   Deps
	router *mux.Router
	login  *loginLimiter // the console's failed sign-ins
}

// NewServer builds the routes.
func NewServer(cfg Config, deps Deps) *Server {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 512
	}
	s := &Server{cfg: cfg, deps: deps, router: mux.NewRouter()}
	s.router.Use(newShedder(cfg.MaxInFlight, func(class string) {
		if deps.Metrics != nil {
			deps.Metrics.RequestsShed.WithLabelValues(class).Inc()
		}
	}).middleware)
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, Problem{Type: problemBase + "not-found", Title: "Not Found", Status: http.StatusNotFound, Detail: "no such route"})
	})
	s.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, Problem{Type: problemBase + "method-not-allowed", Title: "Method Not Allowed", Status: http.StatusMethodNotAllowed})
	})

	s.router.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet)
	s.router.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet)
	s.router.Handle("/metrics", promhttp.HandlerFor(deps.Registry, promhttp.HandlerOpts{Registry: deps.Registry})).Methods(http.MethodGet)

	admin := s.router.PathPrefix("/admin/v1").Subrouter()
	admin.Use(s.adminAuth)
	admin.HandleFunc("/tenants/{tenant}", s.putTenant).Methods(http.MethodPut)
	admin.HandleFunc("/tenants/{tenant}", s.getTenant).Methods(http.MethodGet)
	admin.HandleFunc("/tenants/{tenant}/appointments", s.listAppointments).Methods(http.MethodGet)
	admin.HandleFunc("/tenants/{tenant}/conversations", s.listConversations).Methods(http.MethodGet)
	admin.HandleFunc("/endpoints/{number}", s.getEndpoint).Methods(http.MethodGet)
	if deps.Console != nil {
		admin.HandleFunc("/tenants/{tenant}/users", s.createConsoleUser).Methods(http.MethodPost)
		admin.HandleFunc("/tenants/{tenant}/users/{id}/sessions", s.revokeConsoleSessions).Methods(http.MethodDelete)
	}
	s.routeConsole()
	s.routeBooking()
	s.routeWebhooks()
	s.routeSync()
	s.routeEvents()
	return s
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.router }

// Router exposes the router so other route groups (booking API, webhooks) can register.
func (s *Server) Router() *mux.Router { return s.router }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.Ready(ctx); err != nil {
		writeProblem(w, Problem{Type: problemBase + "not-ready", Title: "Service Unavailable", Status: http.StatusServiceUnavailable, Detail: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
