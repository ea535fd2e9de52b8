package oauth_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"ringback/fakes/oauthfake"
	"ringback/vendors/oauth"
)

const (
	clientID     = "client-1"
	clientSecret = "secret-1"
	firstRefresh = "rt-first"
)

// vendor starts a token endpoint that knows firstRefresh.
func vendor(t *testing.T, rotate bool) (*oauthfake.Server, string) {
	t.Helper()
	auth := oauthfake.New(clientID, clientSecret, rotate)
	auth.AddRefreshToken(firstRefresh)
	ts := httptest.NewServer(auth)
	t.Cleanup(ts.Close)
	return auth, ts.URL
}

// authorized reports whether the fake accepts tok as a bearer token.
func authorized(auth *oauthfake.Server, tok string) bool {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return auth.Authorized(r)
}

func TestTokenCachesAccessToken(t *testing.T) {
	t.Parallel()
	auth, url := vendor(t, false)
	src := oauth.TokenSource(t.Context(), clientID, clientSecret, url, firstRefresh, nil, nil)

	first, err := src.Token()
	require.NoError(t, err)
	require.True(t, authorized(auth, first.AccessToken))
	second, err := src.Token()
	require.NoError(t, err)
	require.Equal(t, first.AccessToken, second.AccessToken)
	require.Equal(t, 1, auth.Grants())

	// A token the vendor refused is replaced; another, stale one is not dropped.
	src.Invalidate(first)
	third, err := src.Token()
	require.NoError(t, err)
	require.NotEqual(t, first.AccessToken, third.AccessToken)
	src.Invalidate(first)
	fourth, err := src.Token()
	require.NoError(t, err)
	require.Equal(t, third.AccessToken, fourth.AccessToken)
	require.Equal(t, 2, auth.Grants())
}

func TestRotatedRefreshTokenIsSavedBeforeUse(t *testing.T) {
	t.Parallel()
	auth, url := vendor(t, true)
	var saved []string
	save := func(_ context.Context, rt string) error {
		// The vendor already rotated: the new token is the only one that works.
		require.Equal(t, []string{rt}, auth.ValidRefreshTokens())
		saved = append(saved, rt)
		return nil
	}
	src := oauth.TokenSource(t.Context(), clientID, clientSecret, url, firstRefresh, save, nil)

	tok, err := src.Token()
	require.NoError(t, err)
	require.Len(t, saved, 1)
	require.NotEqual(t, firstRefresh, saved[0])

	// The next refresh uses the rotated token (the first one is now invalid_grant).
	src.Invalidate(tok)
	_, err = src.Token()
	require.NoError(t, err)
	require.Len(t, saved, 2)
	require.Equal(t, auth.ValidRefreshTokens(), saved[1:])
}

func TestSaveFailureWithholdsTheToken(t *testing.T) {
	t.Parallel()
	auth, url := vendor(t, true)
	errDB := errors.New("database down")
	fail := true
	var saved string
	save := func(_ context.Context, rt string) error {
		if fail {
			return errDB
		}
		saved = rt
		return nil
	}
	src := oauth.TokenSource(t.Context(), clientID, clientSecret, url, firstRefresh, save, nil)

	tok, err := src.Token()
	require.ErrorIs(t, err, errDB)
	require.Nil(t, tok)

	// The rotated token is kept and saved on the next call, without a second refresh
	// (the first refresh token is dead by now).
	fail = false
	tok, err = src.Token()
	require.NoError(t, err)
	require.True(t, authorized(auth, tok.AccessToken))
	require.Equal(t, auth.ValidRefreshTokens(), []string{saved})
	require.Equal(t, 1, auth.Grants())
}

func TestInvalidGrant(t *testing.T) {
	t.Parallel()
	auth, url := vendor(t, false)
	auth.Revoke(firstRefresh)
	src := oauth.TokenSource(t.Context(), clientID, clientSecret, url, firstRefresh, nil, nil)

	_, err := src.Token()
	require.True(t, oauth.IsInvalidGrant(err), "err %v", err)

	// A vendor outage is not a refusal.
	auth.AddRefreshToken(firstRefresh)
	auth.FailNext(1)
	_, err = src.Token()
	require.Error(t, err)
	require.False(t, oauth.IsInvalidGrant(err), "err %v", err)
	require.False(t, oauth.IsInvalidGrant(errors.New("invalid_grant")))
}

// With a rotating vendor, concurrent callers must share one refresh: a second refresh
// with the same refresh token would be refused as invalid_grant.
func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	t.Parallel()
	auth, url := vendor(t, true)
	src := oauth.TokenSource(t.Context(), clientID, clientSecret, url, firstRefresh, nil, nil)

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := src.Token()
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, auth.Grants())
}

// A shared source whose store fails after the vendor rotated the token keeps the new
// token and stores it with save before handing out the access token.
func TestSharedSourceKeepsARotationItsStoreFailedToKeep(t *testing.T) {
	t.Parallel()
	auth, url := vendor(t, true)
	var saved []string
	save := func(_ context.Context, tok string) error { saved = append(saved, tok); return nil }
	rotate := func(_ context.Context, refresh func(string) (string, error)) error {
		if _, err := refresh(firstRefresh); err != nil {
			return err
		}
		return errors.New("commit failed")
	}
	src := oauth.TokenSource(t.Context(), clientID, clientSecret, url, "stale-in-memory", save, nil).Shared(rotate)
	tok, err := src.Token()
	require.NoError(t, err, "the stored token was spent, not the one in memory")
	require.True(t, authorized(auth, tok.AccessToken))
	require.Equal(t, auth.ValidRefreshTokens(), saved, "the rotated token reached save before use")
}
