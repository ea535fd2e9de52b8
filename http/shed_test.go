package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestShedderAnswers503PastTheBoundPerClassAndNeverShedsOperations(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	var served sync.WaitGroup
	blocking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/webhooks/twilio/voice" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	var shed []string
	h := newShedder(1, func(class string) { shed = append(shed, class) }).middleware(blocking)
	do := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		return rec
	}

	served.Add(1)
	go func() { defer served.Done(); do("/webhooks/twilio/voice") }()
	<-entered // the only webhook slot is taken

	rec := do("/webhooks/pbx/missed-call")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	require.Equal(t, []string{classWebhooks}, shed)

	// Other classes have their own bound; operations have none.
	require.Equal(t, http.StatusOK, do("/api/v1/tenants/acme/availability").Code)
	require.Equal(t, http.StatusOK, do("/readyz").Code)
	require.Equal(t, http.StatusOK, do("/admin/v1/tenants/acme").Code)

	close(release)
	served.Wait()
	require.Equal(t, http.StatusOK, do("/webhooks/pbx/missed-call").Code, "the slot is free again")
	require.Len(t, shed, 1)
}

func TestStorageOutagesAnswer503NotA500(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
		fmt.Errorf("claim: %w", io.ErrUnexpectedEOF),
		fmt.Errorf("load resource: %w", context.DeadlineExceeded),
	} {
		rec := httptest.NewRecorder()
		writeError(rec, httptest.NewRequest(http.MethodPost, "/api/v1/tenants/acme/reservations", nil), slog.New(slog.DiscardHandler), err)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%v", err)
		require.Equal(t, "1", rec.Header().Get("Retry-After"))
	}
	rec := httptest.NewRecorder()
	writeError(rec, httptest.NewRequest(http.MethodPost, "/x", nil), slog.New(slog.DiscardHandler), errors.New("a bug"))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
}
