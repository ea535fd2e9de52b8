// Package oauth keeps a vendor connection's OAuth 2.0 access token fresh with the
// connection's refresh token (RFC 6749 §6), for the Google and Jobber layers.
//
// It owns the one rule x/oauth2 leaves to its callers: a refresh token the vendor rotates
// is saved before the access token that came with it is handed out. Vendors that rotate
// (Jobber) invalidate the old refresh token at once, so using the new access token before
// the new refresh token is durable risks a crash stranding the connection on a dead one.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// expiryMargin is how long before its expiry an access token is replaced, so that a token
// is never sent that expires in flight or in the vendor's slightly faster clock.
const expiryMargin = time.Minute

// SaveFunc durably stores a connection's new refresh token.
type SaveFunc func(ctx context.Context, refreshToken string) error

// RotateFunc calls refresh with the connection's refresh token as stored now, holding a
// lock on it that every process refreshing the connection respects, and durably stores
// the token refresh returns (when it differs) before letting the lock go.
type RotateFunc func(ctx context.Context, refresh func(current string) (next string, err error)) error

// Source is an oauth2.TokenSource for one connection. It caches the access token until
// shortly before it expires. Token is safe for concurrent use and refreshes one caller at
// a time, so a rotating vendor never sees the same refresh token twice.
type Source struct {
	ctx  context.Context
	conf oauth2.Config
	save SaveFunc

	rotate RotateFunc // nil: refresh with the token in memory (one process per connection)

	mu      sync.Mutex
	refresh string        // the refresh token to use next
	tok     *oauth2.Token // the cached access token; nil when none or invalidated
	unsaved bool          // refresh is a rotated token save has not yet accepted
}

var _ oauth2.TokenSource = (*Source)(nil)

// TokenSource returns the token source of a connection holding refreshToken, refreshing
// at tokenURL with the client credentials in the form body (AuthStyleInParams, which
// Google and Jobber both accept). ctx carries the refresh and save calls for the life of
// the source, so it should outlive the connection's use; hc carries the refresh requests
// (nil: http.DefaultClient) and should have a Timeout.
//
// save is called with every new refresh token the vendor returns, before the access token
// that came with it is handed out; when it fails, Token returns its error, keeps the
// token, and tries save again on the next call. save may be nil for a vendor that never
// rotates refresh tokens (Google), in which case a rotated one lives in memory only.
func TokenSource(ctx context.Context, clientID, clientSecret, tokenURL, refreshToken string,
	save SaveFunc, hc *http.Client) *Source {
	if hc != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	}
	if save == nil {
		save = func(context.Context, string) error { return nil }
	}
	return &Source{
		ctx: ctx,
		conf: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		},
		save:    save,
		refresh: refreshToken,
	}
}

// Token returns a live access token, refreshing it first if needed. A refresh the vendor
// refuses fails with an error wrapping *oauth2.RetrieveError (see IsInvalidGrant).
func (s *Source) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live() {
		if err := s.renew(); err != nil {
			return nil, err
		}
	}
	if s.unsaved {
		if err := s.save(s.ctx, s.refresh); err != nil {
			return nil, fmt.Errorf("oauth: save rotated refresh token: %w", err)
		}
		s.unsaved = false
	}
	tok := *s.tok
	return &tok, nil
}

// Shared makes the source refresh through rotate, for a connection that several
// processes use at once (a cluster's engines, for a moment, while its actor moves): each
// refresh spends the refresh token stored last, whichever process stored it.
func (s *Source) Shared(rotate RotateFunc) *Source {
	s.rotate = rotate
	return s
}

// renew gets a new access token with the refresh token (s.mu held).
func (s *Source) renew() error {
	// A token with no access token makes x/oauth2 refresh right away.
	exchange := func(refresh string) (*oauth2.Token, error) {
		tok, err := s.conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: refresh}).Token()
		if err != nil {
			return nil, fmt.Errorf("oauth: refresh access token: %w", err)
		}
		return tok, nil
	}
	if s.rotate == nil {
		tok, err := exchange(s.refresh)
		if err != nil {
			return err
		}
		if tok.RefreshToken != "" && tok.RefreshToken != s.refresh {
			s.refresh, s.unsaved = tok.RefreshToken, true
		}
		s.tok = tok
		return nil
	}
	var got *oauth2.Token
	err := s.rotate(s.ctx, func(current string) (string, error) {
		if current == "" {
			current = s.refresh
		}
		tok, err := exchange(current)
		if err != nil {
			return "", err
		}
		if tok.RefreshToken == "" {
			tok.RefreshToken = current // a vendor that does not rotate
		}
		got = tok
		return tok.RefreshToken, nil
	})
	if got == nil {
		return err
	}
	s.tok, s.refresh = got, got.RefreshToken
	if err != nil {
		// The vendor answered but its new refresh token is not stored: keep it and store
		// it with save before the access token is used.
		s.unsaved = true
	}
	return nil
}

// Invalidate drops tok from the cache if it is still the cached token, so the next Token
// call refreshes: for an access token the vendor refused (HTTP 401) before its expiry.
func (s *Source) Invalidate(tok *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok != nil && s.tok != nil && s.tok.AccessToken == tok.AccessToken {
		s.tok = nil
	}
}

func (s *Source) live() bool {
	return s.tok != nil && s.tok.AccessToken != "" &&
		(s.tok.Expiry.IsZero() || time.Until(s.tok.Expiry) > expiryMargin)
}

// IsInvalidGrant reports whether err is the vendor refusing the refresh token for good
// (revoked, expired, or already rotated away): only a person reconnecting the account
// can fix it.
func IsInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}
