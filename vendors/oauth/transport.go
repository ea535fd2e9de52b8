package oauth

import (
	"io"
	"net/http"

	"golang.org/x/oauth2"
)

// invalidator is a token source that can drop a token the vendor refused.
type invalidator interface {
	Invalidate(*oauth2.Token)
}

// Transport authorizes each request with the connection's access token. A vendor can refuse a
// token before its stated expiry (revoked, password changed); when the source can drop
// it, the request is sent once more with a fresh token, and a second 401 is returned as
// is. A token source error is returned from RoundTrip, so the client's *url.Error wraps
// it (and with it any *oauth2.RetrieveError).
type Transport struct {
	// Source gives the access tokens; Base carries the requests (nil: http.DefaultTransport).
	Source oauth2.TokenSource
	Base   http.RoundTripper
}

func (b *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, res, err := b.send(req, req.Body)
	inv, ok := b.Source.(invalidator)
	resendable := req.GetBody != nil || req.Body == nil || req.Body == http.NoBody
	if err != nil || res.StatusCode != http.StatusUnauthorized || !ok || !resendable {
		return res, err
	}
	inv.Invalidate(tok)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	body := req.Body
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	_, res, err = b.send(req, body)
	return res, err
}

// send sends a copy of req with body and a bearer token, without modifying req.
func (b *Transport) send(req *http.Request, body io.ReadCloser) (*oauth2.Token, *http.Response, error) {
	tok, err := b.Source.Token()
	if err != nil {
		if body != nil {
			body.Close() // a RoundTripper must close the body, even on errors
		}
		return nil, nil, err
	}
	r := req.Clone(req.Context())
	r.Body = body
	tok.SetAuthHeader(r)
	base := b.Base
	if base == nil {
		base = http.DefaultTransport
	}
	res, err := base.RoundTrip(r)
	return tok, res, err
}
