package http

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"ringback/actors/conversation"
	"ringback/actors/resource"
	"ringback/persistence"
	"ringback/tenant"
)

// The console: server-rendered pages for a tenant's users (docs/CONSOLE.md). Pages and
// their assets are embedded; nothing is fetched from elsewhere.

//go:embed console/*.html console/*.css console/*.js
var consoleFiles embed.FS

var consolePages = template.Must(template.ParseFS(consoleFiles, "console/*.html"))

// ConsoleStore is what the console keeps and reads in Postgres.
type ConsoleStore interface {
	CreateUser(ctx context.Context, tenantID, email, name string, ttl time.Duration) (persistence.User, string, error)
	InvitedUser(ctx context.Context, invite string) (persistence.User, error)
	AcceptInvite(ctx context.Context, invite, passwordHash string) (persistence.User, error)
	UserByEmail(ctx context.Context, email string) (persistence.User, error)
	CreateSession(ctx context.Context, userID uuid.UUID, ttl time.Duration) (token, csrf string, err error)
	Session(ctx context.Context, token string) (persistence.User, string, error)
	RevokeSession(ctx context.Context, token string) error
	RevokeUserSessions(ctx context.Context, tenantID string, userID uuid.UUID) (int64, error)
	Inbox(ctx context.Context, tenantID, filter string, after *persistence.InboxCursor, limit int) ([]persistence.InboxRow, *persistence.InboxCursor, error)
	Unread(ctx context.Context, tenantID string) (unread, attention int, err error)
	Thread(ctx context.Context, tenantID string, id uuid.UUID) (persistence.Thread, error)
	MarkRead(ctx context.Context, tenantID string, id uuid.UUID) error
}

// ConsoleConversations carries a person's reply or action to the conversation's actor,
// which decides and commits it like any other step.
type ConsoleConversations interface {
	PersonReply(ctx context.Context, tenantID, endpoint, phone, key, body string) error
	ConsoleAction(ctx context.Context, tenantID, endpoint, phone, action string) error
	// VisitChanged brings the customer's conversation in line with a visit the business
	// moved or cancelled here, and with notify texts them (key makes it one SMS).
	VisitChanged(ctx context.Context, a resource.Appointment, cancelled, notify bool, key string) error
}

const (
	sessionCookie   = "rb_session"
	loginCSRFCookie = "rb_csrf"
	sessionTTL      = 14 * 24 * time.Hour
	inviteTTL       = 7 * 24 * time.Hour
	inboxPageSize   = 50
	maxReplyRunes   = 1600 // ten segments
	maxFormBytes    = 64 << 10
)

// consoleUser is the signed-in user of a request.
type consoleUser struct {
	persistence.User
	token, csrf string
}

type ctxKey struct{}

func (s *Server) routeConsole() {
	if s.deps.Console == nil {
		return
	}
	s.login = newLoginLimiter(time.Now)
	s.router.Handle("/console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	c := s.router.PathPrefix("/console").Subrouter()
	static, _ := fs.Sub(consoleFiles, "console")
	c.PathPrefix("/static/").Handler(http.StripPrefix("/console/static/", staticHandler(http.FileServerFS(static)))).Methods(http.MethodGet)
	c.HandleFunc("/", s.consoleHome).Methods(http.MethodGet)
	c.HandleFunc("/login", s.consoleLogin).Methods(http.MethodPost)
	c.HandleFunc("/invite/{token}", s.consoleInvite).Methods(http.MethodGet, http.MethodPost)
	authed := c.NewRoute().Subrouter()
	authed.Use(s.consoleAuth)
	authed.HandleFunc("/logout", s.consoleLogout).Methods(http.MethodPost)
	authed.HandleFunc("/events", s.consoleEvents).Methods(http.MethodGet)
	authed.HandleFunc("/conversations/{id}", s.consoleThread).Methods(http.MethodGet)
	authed.HandleFunc("/conversations/{id}/{action:reply|take-over|hand-back|resolve|reopen}", s.consoleThreadPost).Methods(http.MethodPost)
	s.routeConsoleAppointments(authed)
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// page renders a console template with the headers every page carries.
func (s *Server) page(w http.ResponseWriter, status int, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := consolePages.ExecuteTemplate(w, name, data); err != nil {
		s.deps.Log.Error("console: render failed", "page", name, "err", err)
	}
}

func (s *Server) consoleError(w http.ResponseWriter, status int, msg string) {
	s.page(w, status, "error", map[string]any{"Title": http.StatusText(status), "Error": msg})
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(s.cfg.PublicURL, "https://"), MaxAge: int(maxAge.Seconds())})
}

// sessionOf returns the request's signed-in user, if any.
func (s *Server) sessionOf(r *http.Request) (consoleUser, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return consoleUser{}, false
	}
	u, csrf, err := s.deps.Console.Session(r.Context(), ck.Value)
	if err != nil {
		return consoleUser{}, false
	}
	return consoleUser{User: u, token: ck.Value, csrf: csrf}, true
}

// consoleAuth requires a session, and on every POST its CSRF token (the form's csrf field
// or the X-CSRF-Token header): 403 otherwise.
func (s *Server) consoleAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.sessionOf(r)
		if !ok {
			if r.Method == http.MethodGet && r.URL.Path != "/console/events" {
				http.Redirect(w, r, "/console/", http.StatusSeeOther)
				return
			}
			s.consoleError(w, http.StatusUnauthorized, "Your session has ended. Sign in again.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				s.consoleError(w, http.StatusRequestEntityTooLarge, "That form was too large.")
				return
			}
			if !sameToken(u.csrf, r.PostForm.Get("csrf"), r.Header.Get("X-CSRF-Token")) {
				s.consoleError(w, http.StatusForbidden, "This form has expired. Reload the page and try again.")
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, u)))
	})
}

func sameToken(want string, got ...string) bool {
	for _, g := range got {
		if g != "" && want != "" && len(g) == len(want) && g == want {
			return true
		}
	}
	return false
}

func userOf(r *http.Request) consoleUser { return r.Context().Value(ctxKey{}).(consoleUser) }

// --- sign-in ------------------------------------------------------------------------------

func (s *Server) consoleHome(w http.ResponseWriter, r *http.Request) {
	if u, ok := s.sessionOf(r); ok {
		s.consoleInbox(w, r, u)
		return
	}
	s.loginPage(w, http.StatusOK, "", "")
}

func (s *Server) loginPage(w http.ResponseWriter, status int, email, problem string) {
	csrf := randomToken()
	s.setCookie(w, loginCSRFCookie, csrf, time.Hour)
	s.page(w, status, "login", map[string]any{"Title": "Sign in", "CSRF": csrf, "Email": email, "Error": problem})
}

// loginCSRF checks the double-submitted token of a form shown before sign-in.
func loginCSRF(r *http.Request) bool {
	ck, err := r.Cookie(loginCSRFCookie)
	return err == nil && sameToken(ck.Value, r.PostForm.Get("csrf"))
}

func clientAddr(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return host
}

func (s *Server) consoleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.loginPage(w, http.StatusRequestEntityTooLarge, "", "That form was too large.")
		return
	}
	if !loginCSRF(r) {
		s.loginPage(w, http.StatusForbidden, "", "This form has expired. Please sign in again.")
		return
	}
	email, password := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password")
	if !utf8.ValidString(email) || !utf8.ValidString(password) || len(email) > 254 || len(password) > 1024 {
		s.loginPage(w, http.StatusUnprocessableEntity, "", "Enter your email and password.")
		return
	}
	keys := []string{"user:" + strings.ToLower(email), "addr:" + clientAddr(r)}
	if !s.login.allowed(keys...) {
		w.Header().Set("Retry-After", "900")
		s.loginPage(w, http.StatusTooManyRequests, email, errTooManyAttempts.Error())
		return
	}
	u, err := s.deps.Console.UserByEmail(r.Context(), email)
	if err != nil && !errors.Is(err, persistence.ErrNoUser) {
		s.consoleError(w, http.StatusServiceUnavailable, "Sign-in is unavailable right now. Try again shortly.")
		return
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = dummyHash
	}
	if !checkPassword(hash, password) || err != nil {
		s.login.failed(keys...)
		s.loginPage(w, http.StatusUnauthorized, email, "That email and password do not match.")
		return
	}
	s.login.succeeded(keys[0])
	s.startSession(w, r, u.ID)
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, userID uuid.UUID) {
	tok, _, err := s.deps.Console.CreateSession(r.Context(), userID, sessionTTL)
	if err != nil {
		s.consoleError(w, http.StatusServiceUnavailable, "Sign-in is unavailable right now. Try again shortly.")
		return
	}
	s.setCookie(w, sessionCookie, tok, sessionTTL)
	s.setCookie(w, loginCSRFCookie, "", -1)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (s *Server) consoleLogout(w http.ResponseWriter, r *http.Request) {
	_ = s.deps.Console.RevokeSession(r.Context(), userOf(r).token)
	s.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (s *Server) consoleInvite(w http.ResponseWriter, r *http.Request) {
	invite := mux.Vars(r)["token"]
	u, err := s.deps.Console.InvitedUser(r.Context(), invite)
	if err != nil {
		s.consoleError(w, http.StatusNotFound, "This invite link was used already or has expired. Ask for a new one.")
		return
	}
	business := s.businessName(r.Context(), u.TenantID)
	show := func(status int, problem, csrf string) {
		s.page(w, status, "invite", map[string]any{"Title": "Set your password", "Name": u.Name, "Email": u.Email,
			"Business": business, "Token": invite, "CSRF": csrf, "Error": problem})
	}
	if r.Method == http.MethodGet {
		csrf := randomToken()
		s.setCookie(w, loginCSRFCookie, csrf, time.Hour)
		show(http.StatusOK, "", csrf)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !loginCSRF(r) {
		s.consoleError(w, http.StatusForbidden, "This form has expired. Open the invite link again.")
		return
	}
	csrf := r.PostForm.Get("csrf")
	password := r.PostForm.Get("password")
	switch {
	case !utf8.ValidString(password):
		show(http.StatusUnprocessableEntity, "Password: must be valid text.", csrf)
		return
	case password != r.PostForm.Get("confirm"):
		show(http.StatusUnprocessableEntity, "The two passwords differ.", csrf)
		return
	}
	if err := passwordProblem(password); err != nil {
		show(http.StatusUnprocessableEntity, "Password: "+err.Error()+".", csrf)
		return
	}
	u, err = s.deps.Console.AcceptInvite(r.Context(), invite, hashPassword(password))
	if err != nil {
		s.consoleError(w, http.StatusNotFound, "This invite link was used already or has expired. Ask for a new one.")
		return
	}
	s.startSession(w, r, u.ID)
}

// --- admin: users ----------------------------------------------------------------------

func (s *Server) createConsoleUser(w http.ResponseWriter, r *http.Request) {
	tenantID := mux.Vars(r)["tenant"]
	if _, _, err := s.deps.Tenants.Get(r.Context(), tenantID); err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	var in struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := s.decodeJSON(w, r, &in); err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	addr, err := mail.ParseAddress(in.Email)
	switch {
	case in.Email == "" || err != nil || addr.Address != strings.TrimSpace(in.Email) || len(in.Email) > 254:
		writeError(w, r, s.deps.Log, invalidField("email", "must be an email address such as ana@acme.example"))
		return
	case !storable(in.Name) || strings.TrimSpace(in.Name) == "" || utf8.RuneCountInString(in.Name) > 100:
		writeError(w, r, s.deps.Log, invalidField("name", "required, up to 100 characters"))
		return
	}
	u, invite, err := s.deps.Console.CreateUser(r.Context(), tenantID, addr.Address, strings.TrimSpace(in.Name), inviteTTL)
	if errors.Is(err, persistence.ErrEmailTaken) {
		writeError(w, r, s.deps.Log, &statusError{status: http.StatusConflict, slug: "email-taken", detail: "email: a console user with this email exists",
			fields: []tenant.FieldError{{Field: "email", Message: "taken"}}})
		return
	}
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "tenant_id": u.TenantID,
		"invite_url": strings.TrimRight(s.cfg.PublicURL, "/") + "/console/invite/" + invite, "invite_expires_in": inviteTTL.String()})
}

// --- inbox and threads -------------------------------------------------------------------

func (s *Server) businessName(ctx context.Context, tenantID string) string {
	if cfg, _, err := s.deps.Tenants.Get(ctx, tenantID); err == nil {
		return cfg.Name
	}
	return tenantID
}

// chrome is what every signed-in page shows: the business, the user, the counts.
func (s *Server) chrome(ctx context.Context, u consoleUser, title, nav string) map[string]any {
	unread, attention, _ := s.deps.Console.Unread(ctx, u.TenantID)
	return map[string]any{"Title": title, "Nav": nav, "Business": s.businessName(ctx, u.TenantID), "User": u.Email,
		"CSRF": u.csrf, "Unread": unread, "Attention": attention, "Live": true}
}

type inboxFilter struct {
	Value, Label string
	Current      bool
}

type inboxRowView struct {
	persistence.InboxRow
	Initials, When, UpdatedISO string
}

func (s *Server) consoleInbox(w http.ResponseWriter, r *http.Request, u consoleUser) {
	q := r.URL.Query()
	filter := q.Get("filter")
	switch filter {
	case persistence.FilterAll, persistence.FilterAttention, persistence.FilterBooked, persistence.FilterOptedOut:
	default:
		s.consoleError(w, http.StatusBadRequest, "Unknown filter.")
		return
	}
	var after *persistence.InboxCursor
	if c := q.Get("after"); c != "" {
		cur, err := persistence.ParseInboxCursor(c)
		if err != nil {
			s.consoleError(w, http.StatusBadRequest, "That page link is broken.")
			return
		}
		after = &cur
	}
	rows, next, err := s.deps.Console.Inbox(r.Context(), u.TenantID, filter, after, inboxPageSize)
	if err != nil {
		s.consoleError(w, http.StatusServiceUnavailable, "The inbox is unavailable right now. Try again shortly.")
		return
	}
	loc := s.zoneOf(r.Context(), u.TenantID)
	views := make([]inboxRowView, len(rows))
	for i, row := range rows {
		views[i] = inboxRowView{InboxRow: row, Initials: initials(row.Phone), When: when(row.UpdatedAt, s.cfg.Now(), loc), UpdatedISO: row.UpdatedAt.UTC().Format(time.RFC3339)}
	}
	data := s.chrome(r.Context(), u, "Inbox", "inbox")
	data["Rows"] = views
	data["Filters"] = []inboxFilter{{"", "All", filter == ""}, {persistence.FilterAttention, "Needs you", filter == persistence.FilterAttention},
		{persistence.FilterBooked, "Booked", filter == persistence.FilterBooked}, {persistence.FilterOptedOut, "Opted out", filter == persistence.FilterOptedOut}}
	// The template escapes each value of the "Older conversations" link on its own: a
	// whole query string given to it would have its = and & escaped too.
	data["Filter"] = filter
	if next != nil {
		data["Next"] = next.String()
	}
	s.page(w, http.StatusOK, "inbox", data)
}

// initials is what the avatar shows for a phone: its last two digits.
func initials(phone string) string {
	if len(phone) < 2 {
		return "?"
	}
	return phone[len(phone)-2:]
}

func when(t, now time.Time, loc *time.Location) string {
	l := t.In(loc)
	if now := now.In(loc); l.YearDay() == now.YearDay() && l.Year() == now.Year() {
		return l.Format("3:04 PM")
	}
	return l.Format("Mon Jan 2, 3:04 PM")
}

func (s *Server) zoneOf(ctx context.Context, tenantID string) *time.Location {
	if cfg, _, err := s.deps.Tenants.Get(ctx, tenantID); err == nil {
		if loc, err := time.LoadLocation(cfg.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// thread loads the signed-in user's conversation of the request; another tenant's is 404.
func (s *Server) thread(w http.ResponseWriter, r *http.Request, u consoleUser) (persistence.Thread, bool) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err == nil {
		t, err := s.deps.Console.Thread(r.Context(), u.TenantID, id)
		if err == nil {
			return t, true
		}
		if !errors.Is(err, persistence.ErrNoConversation) {
			s.consoleError(w, http.StatusServiceUnavailable, "This conversation is unavailable right now. Try again shortly.")
			return persistence.Thread{}, false
		}
	}
	s.consoleError(w, http.StatusNotFound, "There is no such conversation in your inbox.")
	return persistence.Thread{}, false
}

type messageView struct {
	Class, Who, Body, When, ISO, Status, Error string
}

func (s *Server) consoleThread(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	t, ok := s.thread(w, r, u)
	if !ok {
		return
	}
	if r.Header.Get("X-Partial") == "" {
		_ = s.deps.Console.MarkRead(r.Context(), u.TenantID, t.ID)
	}
	cfg, _, _ := s.deps.Tenants.Get(r.Context(), u.TenantID)
	loc := s.zoneOf(r.Context(), u.TenantID)
	msgs := make([]messageView, len(t.Messages))
	for i, m := range t.Messages {
		v := messageView{Class: m.Direction, Body: m.Body, When: when(m.At, s.cfg.Now(), loc), ISO: m.At.UTC().Format(time.RFC3339), Status: m.Status}
		switch {
		case m.Direction == "in":
			v.Who = "Customer"
		case m.Kind == "person":
			v.Who, v.Class = "You", "out person"
		case m.Kind == "alert":
			v.Who, v.Class = "Alert to "+m.To, "out alert"
		default:
			v.Who = "Ringback"
		}
		if m.ErrorCode != 0 {
			v.Error = fmt.Sprintf("error %d", m.ErrorCode)
		}
		msgs[i] = v
	}
	slot := func(o *conversation.Offer) string {
		return o.Start.In(loc).Format("Mon Jan 2, 3:04 PM") + " · " + tenant.FormatMoney(o.QuoteMinor, o.Currency) + " · " + o.ResourceID
	}
	data := s.chrome(r.Context(), u, t.Phone, "inbox")
	data["T"], data["Msgs"], data["Key"] = t, msgs, uuid.NewString()
	data["Stage"] = map[string]string{"idle": "Nothing offered", "offered": "Times offered", "held": "A time is held", "booked": "Booked"}[t.Stage]
	if t.Stage == string(conversation.Offered) || t.Stage == string(conversation.Holding) {
		var opts []string
		for i := range t.State.Options {
			opts = append(opts, slot(&t.State.Options[i]))
		}
		data["Options"] = opts
	}
	if h := t.State.Hold; h != nil && t.Stage == string(conversation.Holding) {
		data["Hold"] = slot(h) + " (until " + h.ExpiresAt.In(loc).Format("3:04 PM") + ")"
	}
	if v := t.State.Visit; v != nil && t.State.AppointmentID != uuid.Nil {
		data["Visit"], data["Sync"] = slot(v), t.Sync
	}
	if cfg != nil {
		for _, ep := range cfg.Endpoints {
			if ep.Number == t.Endpoint && ep.QuietHours != nil && conversation.InQuiet(conversation.PolicyFor(loc, ep, cfg.Policies), s.cfg.Now()) {
				data["Quiet"] = ep.QuietHours.Start + "–" + ep.QuietHours.End
			}
		}
	}
	if f := r.URL.Query().Get("done"); f != "" {
		data["Flash"] = map[string]string{"reply": "Sent. Ringback stays quiet in this conversation until you hand it back.",
			"take-over": "You are answering this conversation; Ringback stays quiet.", "hand-back": "Ringback answers this conversation again.",
			"resolve": "Resolved.", "reopen": "Reopened: it needs a person."}[f]
	}
	s.page(w, http.StatusOK, "thread", data)
}

func (s *Server) consoleThreadPost(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	t, ok := s.thread(w, r, u)
	if !ok {
		return
	}
	action := mux.Vars(r)["action"]
	var err error
	if action == "reply" {
		body := strings.TrimSpace(r.PostForm.Get("body"))
		key := r.PostForm.Get("key")
		switch {
		case !utf8.ValidString(body) || strings.ContainsRune(body, 0):
			s.consoleError(w, http.StatusUnprocessableEntity, "The reply must be plain text.")
			return
		case body == "":
			s.consoleError(w, http.StatusUnprocessableEntity, "The reply is empty.")
			return
		case utf8.RuneCountInString(body) > maxReplyRunes:
			s.consoleError(w, http.StatusUnprocessableEntity, fmt.Sprintf("The reply is longer than %d characters.", maxReplyRunes))
			return
		}
		if _, perr := uuid.Parse(key); perr != nil {
			key = uuid.NewString()
		}
		err = s.deps.ConsoleConversations.PersonReply(r.Context(), u.TenantID, t.Endpoint, t.Phone, key, body)
	} else {
		err = s.deps.ConsoleConversations.ConsoleAction(r.Context(), u.TenantID, t.Endpoint, t.Phone, strings.ReplaceAll(action, "-", "_"))
	}
	switch {
	case errors.Is(err, conversation.ErrOptedOut):
		s.consoleError(w, http.StatusConflict, "This customer opted out of texts from your number; nothing was sent.")
		return
	case err != nil:
		s.deps.Log.Error("console: action failed", "action", action, "err", err)
		s.consoleError(w, http.StatusServiceUnavailable, "That did not go through. Nothing was sent; try again.")
		return
	}
	if s.deps.Live != nil {
		s.deps.Live.Publish(u.TenantID)
	}
	http.Redirect(w, r, "/console/conversations/"+t.ID.String()+"?done="+action, http.StatusSeeOther)
}

// revokeConsoleSessions signs a user out everywhere: every session of theirs ends now.
func (s *Server) revokeConsoleSessions(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		writeError(w, r, s.deps.Log, invalidField("id", "must be a user id (a UUID)"))
		return
	}
	n, err := s.deps.Console.RevokeUserSessions(r.Context(), mux.Vars(r)["tenant"], id)
	if errors.Is(err, persistence.ErrNoUser) {
		writeError(w, r, s.deps.Log, &statusError{status: http.StatusNotFound, slug: "not-found", detail: "the tenant has no such console user"})
		return
	}
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked_sessions": n})
}
