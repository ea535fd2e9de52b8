// Package oauthfake is a fake OAuth 2.0 token endpoint (RFC 6749 refresh_token grant) for
// the Google and Jobber fakes. It issues opaque access tokens with a lifetime, rotates
// refresh tokens when asked to (Jobber does; Google does not), answers invalid_grant to a
// revoked or already rotated refresh token, and tells the API fakes which bearer tokens
// are good.
package oauthfake

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is the token endpoint. Mount it at any path; all methods are concurrency safe.
type Server struct {
	clientID, clientSecret string

	mu      sync.Mutex
	rotate  bool
	ttl     time.Duration
	refresh map[string]bool      // refresh token → still valid
	access  map[string]time.Time // access token → expiry
	grants  int
	down    int  // answer this many requests with 503
	any     bool // accept any refresh token never revoked (sandbox mode)
	now     func() time.Time
}

// New returns a token endpoint for one OAuth app. rotate makes every refresh return a new
// refresh token and invalidate the old one.
func New(clientID, clientSecret string, rotate bool) *Server {
	return &Server{
		clientID: clientID, clientSecret: clientSecret, rotate: rotate,
		ttl: time.Hour, refresh: map[string]bool{}, access: map[string]time.Time{}, now: time.Now,
	}
}

// AddRefreshToken makes tok a valid refresh token (what a connected account holds).
func (s *Server) AddRefreshToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh[tok] = true
}

// AcceptAnyRefreshToken makes every refresh token valid unless revoked or rotated away:
// sandbox mode, where connections hold made-up tokens.
func (s *Server) AcceptAnyRefreshToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.any = true
}

// Revoke makes tok invalid, as when a user disconnects the app.
func (s *Server) Revoke(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh[tok] = false
}

// ValidRefreshTokens lists the refresh tokens that currently work.
func (s *Server) ValidRefreshTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t, ok := range s.refresh {
		if ok {
			out = append(out, t)
		}
	}
	return out
}

// SetAccessTTL sets the lifetime of access tokens issued from now on.
func (s *Server) SetAccessTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = d
}

// ExpireAccessTokens ends every access token issued so far (the API fakes answer 401).
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
}

// FailNext makes the next n token requests answer 503.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = n
}

// Grants counts the tokens issued.
func (s *Server) Grants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants
}

// Authorized reports whether r carries a live bearer token issued here.
func (s *Server) Authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.access[tok]
	return ok && s.now().Before(exp)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(s.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.clientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "refresh_token" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", g)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down > 0 {
		s.down--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	old := r.PostForm.Get("refresh_token")
	if valid, known := s.refresh[old]; !valid && (known || !s.any || old == "") {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "refresh token is invalid, expired or revoked")
		return
	}
	s.grants++
	body := map[string]any{"token_type": "Bearer", "expires_in": int(s.ttl / time.Second)}
	access := "at-" + random()
	s.access[access] = s.now().Add(s.ttl)
	body["access_token"] = access
	if s.rotate {
		next := "rt-" + random()
		s.refresh[old] = false
		s.refresh[next] = true
		body["refresh_token"] = next
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
