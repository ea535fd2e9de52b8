package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"

	"github.com/twilio/twilio-go/client"
)

// Sign returns the X-Twilio-Signature Twilio sends with a form POST to fullURL:
// base64(HMAC-SHA1(authToken, fullURL + key1 + value1 + key2 + value2 …)) with the keys
// sorted. fullURL is the URL exactly as requested: scheme, host, port if any, path, query.
//
// A repeated key contributes its first value only. That is what Valid (twilio-go's
// validator) checks, so the two always agree; Twilio's SMS, voice and status webhooks
// never repeat a key.
func Sign(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(form.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Valid reports whether signature is the X-Twilio-Signature of a form POST to fullURL.
// It uses twilio-go's client.RequestValidator, the vendor's own algorithm including its
// port quirk: a URL is also accepted when signed with its default port added (:443,
// :80) or with any port removed, because Twilio's backend is inconsistent about ports.
// A non-default port Twilio did use must therefore be part of fullURL.
//
// Pass the POST form only (r.PostForm, not r.Form, which mixes in the query string; the
// query is already part of fullURL) and all of it: Twilio adds parameters without notice.
// An empty auth token validates nothing, so a missing secret fails closed.
func Valid(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for k := range form {
		params[k] = form.Get(k)
	}
	rv := client.NewRequestValidator(authToken)
	return rv.Validate(fullURL, params, signature)
}
