package jobberfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"

	inject "ringback/fakes/internal/fault"
)

// maxRequest bounds a request body.
const maxRequest = 1 << 20

// request is a GraphQL request body.
type request struct {
	Query         string          `json:"query"`
	OperationName string          `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
}

// response is a GraphQL answer with Jobber's extensions.
type response struct {
	Data       any        `json:"data,omitempty"`
	Errors     []gqlError `json:"errors,omitempty"`
	Extensions extensions `json:"extensions"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type extensions struct {
	Cost       cost       `json:"cost"`
	Versioning versioning `json:"versioning"`
}

type cost struct {
	RequestedQueryCost int            `json:"requestedQueryCost"`
	ActualQueryCost    int            `json:"actualQueryCost"`
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

type throttleStatus struct {
	MaximumAvailable   int `json:"maximumAvailable"`
	CurrentlyAvailable int `json:"currentlyAvailable"`
	RestoreRate        int `json:"restoreRate"`
}

type versioning struct {
	Version string `json:"version"`
}

// graphql serves POST /api/graphql.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		// Jobber has refused form and multipart bodies since 2024-04-02.
		writeMessage(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	var req request
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequest)).Decode(&req); err != nil {
		writeMessage(w, http.StatusBadRequest, "Unable to parse the request body: "+err.Error())
		return
	}
	op := rootField(req.Query)
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()

	fault := s.takeFault(op)
	if fault.Status != 0 && !fault.Commit {
		inject.Hold(r.Context(), s.done, fault.Delay)
		writeFault(w, fault)
		return
	}
	if !s.oauth.Authorized(r) {
		writeMessage(w, http.StatusUnauthorized, "invalid_request")
		return
	}
	version := r.Header.Get("X-JOBBER-GRAPHQL-VERSION")
	if version == "" {
		writeMessage(w, http.StatusBadRequest, "The X-JOBBER-GRAPHQL-VERSION header is required")
		return
	}

	res := response{Extensions: extensions{Versioning: versioning{Version: version}}}
	s.mu.Lock()
	requested := Cost(op)
	ok := s.bucket.take(requested, s.now())
	res.Extensions.Cost = cost{RequestedQueryCost: requested, ThrottleStatus: throttleStatus{
		MaximumAvailable: s.bucket.max, CurrentlyAvailable: int(s.bucket.available), RestoreRate: s.bucket.rate,
	}}
	switch {
	case !ok:
		res.Errors = []gqlError{{Message: "Throttled", Extensions: map[string]any{
			"code":          "THROTTLED",
			"documentation": "https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits",
		}}}
	case len(fault.UserErrors) > 0:
		res.Extensions.Cost.ActualQueryCost = requested
		res.Data = map[string]any{op: map[string]any{"userErrors": userErrors(fault.UserErrors...)}}
	default:
		res.Extensions.Cost.ActualQueryCost = requested
		data, gerr := s.execute(op, req.Variables)
		if gerr != nil {
			res.Errors = []gqlError{*gerr}
		} else {
			res.Data = map[string]any{op: data}
		}
	}
	s.mu.Unlock()

	inject.Hold(r.Context(), s.done, fault.Delay)
	switch {
	case fault.Status != 0:
		writeFault(w, fault)
	case fault.Malformed:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":{"`+op+`":{"id":"Z2lk`)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// rootField returns the first field of the operation's selection set. Aliases,
// fragments and several operations in one document are not supported.
func rootField(query string) string {
	i := strings.IndexByte(query, '{')
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(query[i+1:], " \t\r\n,")
	end := strings.IndexFunc(rest, func(r rune) bool { return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if end < 0 {
		end = len(rest)
	}
	return rest[:end]
}

func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	writeMessage(w, f.Status, msg)
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
