package google

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"google.golang.org/api/googleapi"

	vsync "ringback/actors/sync"
	"ringback/vendors/oauth"
)

// rateLimitReasons are the 403 reasons Google asks clients to retry with backoff; every
// other 403 (no write access, calendar not shared, …) will be refused again.
var rateLimitReasons = []string{"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}

// classify translates a failed call into package sync's terms:
//
//   - the token endpoint refusing the refresh token (invalid_grant) wraps ErrReconnect;
//   - 401 (a token refused even after a refresh), 408, 429, 5xx and rate-limit 403s are
//     transient, RetryAfter when Google sent Retry-After;
//   - any other answer (400, 403, 404 or 409 not handled by the caller, …) is Permanent;
//   - everything else (network errors, timeouts, an unreadable answer) is transient.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if oauth.IsInvalidGrant(err) {
		return fmt.Errorf("%w: %w", vsync.ErrReconnect, err)
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return err
	}
	switch {
	case ge.Code == http.StatusUnauthorized, ge.Code == http.StatusRequestTimeout,
		ge.Code == http.StatusTooManyRequests, ge.Code >= 500,
		ge.Code == http.StatusForbidden && slices.ContainsFunc(ge.Errors, func(e googleapi.ErrorItem) bool {
			return slices.Contains(rateLimitReasons, e.Reason)
		}):
		if d, ok := retryAfter(ge.Header.Get("Retry-After")); ok {
			return vsync.RetryAfter(err, d)
		}
		return err
	}
	return vsync.Permanent(err)
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}
