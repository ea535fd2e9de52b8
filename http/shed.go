package http

import (
	"net/http"
	"strings"
)

// Request classes with their own in-flight bound. Health, metrics and the admin API are
// never shed: operators need them most when the engine is struggling.
const (
	classWebhooks = "webhooks"
	classBooking  = "booking"
)

// shedder bounds the requests of each class being served at once. When Postgres slows
// down, every webhook waits for its commit; unbounded, their goroutines and buffers would
// grow until memory ran out. Past the bound a request is answered 503 with Retry-After
// at once, before anything is stored, so the vendor (Twilio retries) or the client tries
// again later and nothing accepted is ever lost.
type shedder struct {
	slots map[string]chan struct{}
	shed  func(class string)
}

func newShedder(limit int, shed func(class string)) *shedder {
	return &shedder{
		slots: map[string]chan struct{}{
			classWebhooks: make(chan struct{}, limit),
			classBooking:  make(chan struct{}, limit),
		},
		shed: shed,
	}
}

func requestClass(path string) string {
	switch {
	case strings.HasPrefix(path, "/webhooks/"):
		return classWebhooks
	case strings.HasPrefix(path, "/api/"):
		return classBooking
	}
	return ""
}

func (s *shedder) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slots, ok := s.slots[requestClass(r.URL.Path)]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			s.shed(requestClass(r.URL.Path))
			w.Header().Set("Retry-After", "1")
			writeProblem(w, Problem{Type: problemBase + "overloaded", Title: "Service Unavailable", Status: http.StatusServiceUnavailable,
				Detail: "the engine is at capacity; nothing was stored; retry shortly"})
		}
	})
}
