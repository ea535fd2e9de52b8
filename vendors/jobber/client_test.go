package jobber_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	vsync "ringback/actors/sync"
	"ringback/vendors/jobber"
)

// TestAnswerClassification feeds canned Jobber answers to one request and checks how
// the failure is classified.
func TestAnswerClassification(t *testing.T) {
	t.Parallel()
	const throttled = `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],
		"extensions":{"cost":{"requestedQueryCost":1200,"actualQueryCost":0,
		"throttleStatus":{"maximumAvailable":10000,"currentlyAvailable":200,"restoreRate":500}}}}`
	type want int
	const (
		ok want = iota
		transient
		permanent
		retryAfter
		reconnect
	)
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		body   string
		want   want
		delay  time.Duration
	}{
		{"data", 200, nil, `{"data":{"account":{"id":"QQ=="}}}`, ok, 0},
		{"throttled", 200, nil, throttled, retryAfter, 2 * time.Second},
		{"costlier than the bucket", 200, nil, `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],
			"extensions":{"cost":{"requestedQueryCost":12000,"throttleStatus":{"maximumAvailable":10000,"currentlyAvailable":10000,"restoreRate":500}}}}`, permanent, 0},
		{"graphql error", 200, nil, `{"errors":[{"message":"Field 'acount' doesn't exist on type 'Query'"}]}`, permanent, 0},
		{"graphql internal error", 200, nil, `{"errors":[{"message":"boom","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`, transient, 0},
		{"truncated", 200, nil, `{"data":{"acc`, transient, 0},
		{"bad request", 400, nil, `{"message":"The X-JOBBER-GRAPHQL-VERSION header is required"}`, permanent, 0},
		{"forbidden", 403, nil, `{"message":"missing scope"}`, permanent, 0},
		{"unauthorized", 401, nil, `{"message":"invalid_request"}`, transient, 0},
		{"disconnected", 401, nil, `{"message":"User has disconnected this app from their account. Please delete this token"}`, reconnect, 0},
		{"429 with seconds", 429, http.Header{"Retry-After": {"12"}}, ``, retryAfter, 12 * time.Second},
		{"429 with a date in the past", 429, http.Header{"Retry-After": {"Mon, 02 Jan 2006 15:04:05 GMT"}}, ``, transient, 0},
		{"502 page", 502, nil, `<html>Bad Gateway</html>`, transient, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Every request carries what Jobber requires.
				if r.Header.Get("Content-Type") != "application/json" ||
					r.Header.Get("X-JOBBER-GRAPHQL-VERSION") != jobber.DefaultVersion ||
					r.Header.Get("Authorization") != "Bearer at-static" {
					http.Error(w, "bad request headers", http.StatusTeapot)
					return
				}
				for k, v := range tc.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			client := jobber.New(jobber.Config{
				APIURL:      srv.URL,
				TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "at-static"}),
			})

			_, err := client.AccountID(t.Context())

			delay, delayed := vsync.RetryDelay(err)
			switch tc.want {
			case ok:
				require.NoError(t, err)
			case transient:
				require.Error(t, err)
				require.False(t, vsync.IsPermanent(err) || delayed, "want plain transient, got %v", err)
				require.NotErrorIs(t, err, vsync.ErrReconnect)
			case permanent:
				require.True(t, vsync.IsPermanent(err), "want permanent, got %v", err)
			case retryAfter:
				require.True(t, delayed, "want RetryAfter, got %v", err)
				require.Equal(t, tc.delay, delay)
			case reconnect:
				require.ErrorIs(t, err, vsync.ErrReconnect)
			}
		})
	}
}
