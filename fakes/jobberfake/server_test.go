package jobberfake_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"ringback/fakes/jobberfake"
)

const (
	clientID     = "app-id"
	clientSecret = "app-secret"
	version      = "2025-04-16"
)

// newServer starts a fake and returns a live access token for it.
func newServer(t *testing.T) (*jobberfake.Server, string) {
	t.Helper()
	srv := jobberfake.New(clientID, clientSecret)
	t.Cleanup(srv.Close)
	srv.OAuth().AddRefreshToken("rt")
	oc := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: srv.URL() + "/api/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := oc.TokenSource(t.Context(), &oauth2.Token{RefreshToken: "rt"}).Token()
	require.NoError(t, err)
	return srv, tok.AccessToken
}

type answer struct {
	status int
	header http.Header
	raw    []byte
	body   struct {
		Data       map[string]json.RawMessage `json:"data"`
		Errors     []map[string]any           `json:"errors"`
		Extensions struct {
			Cost struct {
				RequestedQueryCost int `json:"requestedQueryCost"`
				ActualQueryCost    int `json:"actualQueryCost"`
				ThrottleStatus     struct {
					MaximumAvailable   int `json:"maximumAvailable"`
					CurrentlyAvailable int `json:"currentlyAvailable"`
					RestoreRate        int `json:"restoreRate"`
				} `json:"throttleStatus"`
			} `json:"cost"`
			Versioning struct {
				Version string `json:"version"`
			} `json:"versioning"`
		} `json:"extensions"`
	}
}

// post sends a GraphQL request; headers override the good defaults ("" deletes one).
func post(t *testing.T, srv *jobberfake.Server, token, query string, vars map[string]any, headers map[string]string) answer {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/api/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-JOBBER-GRAPHQL-VERSION", version)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	a := answer{status: res.StatusCode, header: res.Header}
	a.raw, err = io.ReadAll(res.Body)
	require.NoError(t, err)
	if res.StatusCode == http.StatusOK && json.Valid(a.raw) {
		require.NoError(t, json.Unmarshal(a.raw, &a.body), "body %s", a.raw)
	}
	return a
}

const (
	createClient = `mutation ClientCreate($input: ClientCreateInput!) {
  clientCreate(input: $input) { client { id } userErrors { message path } }
}`
	accountQuery = `query { account { id name } }`
)

func janeInput() map[string]any {
	return map[string]any{"input": map[string]any{"firstName": "Jane", "lastName": "Doe",
		"phones": []any{map[string]any{"number": "+15125550199"}}}}
}

// field returns the value of the root field op in a successful answer.
func field(t *testing.T, a answer, op string) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "body %s", a.raw)
	require.Empty(t, a.body.Errors, "body %s", a.raw)
	var v map[string]any
	require.NoError(t, json.Unmarshal(a.body.Data[op], &v))
	return v
}

// mutation returns a mutation's object under key (nil when null) and its userErrors.
func mutation(t *testing.T, a answer, op, key string) (obj map[string]any, userErrors []any) {
	t.Helper()
	p := field(t, a, op)
	obj, _ = p[key].(map[string]any)
	return obj, p["userErrors"].([]any)
}

func TestRequestsNeedJobbersHeaders(t *testing.T) {
	t.Parallel()
	srv, token := newServer(t)
	for name, tc := range map[string]struct {
		headers map[string]string
		want    int
	}{
		"no bearer":       {map[string]string{"Authorization": ""}, http.StatusUnauthorized},
		"unknown bearer":  {map[string]string{"Authorization": "Bearer at-forged"}, http.StatusUnauthorized},
		"form body":       {map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		"no version":      {map[string]string{"X-JOBBER-GRAPHQL-VERSION": ""}, http.StatusBadRequest},
		"all as required": {nil, http.StatusOK},
	} {
		a := post(t, srv, token, accountQuery, nil, tc.headers)
		require.Equal(t, tc.want, a.status, "%s: body %s", name, a.raw)
	}

	srv.OAuth().ExpireAccessTokens()
	require.Equal(t, http.StatusUnauthorized, post(t, srv, token, accountQuery, nil, nil).status)
}

func TestAnswersCarryCostAndVersion(t *testing.T) {
	t.Parallel()
	srv, token := newServer(t)

	a := post(t, srv, token, accountQuery, nil, nil)

	acct := field(t, a, "account")
	require.Equal(t, srv.AccountID(), acct["id"])
	cost := a.body.Extensions.Cost
	require.Equal(t, jobberfake.Cost("account"), cost.RequestedQueryCost)
	require.Equal(t, jobberfake.Cost("account"), cost.ActualQueryCost)
	require.Equal(t, 10000, cost.ThrottleStatus.MaximumAvailable)
	require.Equal(t, 500, cost.ThrottleStatus.RestoreRate)
	require.Less(t, cost.ThrottleStatus.CurrentlyAvailable, 10000)
	require.Equal(t, version, a.body.Extensions.Versioning.Version)
	require.Equal(t, 1, srv.Calls("account"))
}

func TestIDsAreEncodedIDs(t *testing.T) {
	t.Parallel()
	srv, token := newServer(t)

	client, errs := mutation(t, post(t, srv, token, createClient, janeInput(), nil), "clientCreate", "client")

	require.Empty(t, errs)
	gid, err := base64.StdEncoding.DecodeString(client["id"].(string))
	require.NoError(t, err)
	require.Equal(t, "gid://Jobber/Client/1", string(gid))
	require.Equal(t, []jobberfake.Client{{ID: client["id"].(string), FirstName: "Jane", LastName: "Doe", Phones: []string{"+15125550199"}}},
		srv.Clients())
}

func TestValidationAnswersUserErrors(t *testing.T) {
	t.Parallel()
	srv, token := newServer(t)

	client, errs := mutation(t, post(t, srv, token, createClient,
		map[string]any{"input": map[string]any{"phones": []any{}}}, nil), "clientCreate", "client")
	require.Nil(t, client)
	require.Len(t, errs, 1)
	require.Contains(t, errs[0].(map[string]any)["message"], "name")

	// A missing required input field is a GraphQL error, not a userError.
	a := post(t, srv, token, `mutation J($input: JobCreateAttributes!) { jobCreate(input: $input) { job { id } } }`,
		map[string]any{"input": map[string]any{"propertyId": "UHJvcA=="}}, nil)
	require.Equal(t, http.StatusOK, a.status)
	require.Len(t, a.body.Errors, 1)
	require.Contains(t, a.body.Errors[0]["message"], "invoicing")
	require.Empty(t, srv.Clients())
	require.Empty(t, srv.Jobs())
}

func TestBookingLifecycle(t *testing.T) {
	t.Parallel()
	srv, token := newServer(t)
	chicago, err := time.LoadLocation("America/Chicago")
	require.NoError(t, err)
	srv.SetTimeZone(chicago)
	clientID, propertyID := srv.AddClient("Jane", "Doe", "(512) 555-0199")

	found := field(t, post(t, srv, token, `query C($searchTerm: String!) { clients(searchTerm: $searchTerm) { nodes { id } } }`,
		map[string]any{"searchTerm": "5125550199"}, nil), "clients")
	require.Len(t, found["nodes"], 1)
	require.Equal(t, clientID, found["nodes"].([]any)[0].(map[string]any)["id"])

	job, errs := mutation(t, post(t, srv, token, `mutation J($input: JobCreateAttributes!) { jobCreate(input: $input) { job { id } } }`,
		map[string]any{"input": map[string]any{
			"propertyId": propertyID, "title": "Repair",
			"invoicing":  map[string]any{"invoicingType": "FIXED_PRICE", "invoicingSchedule": "ON_COMPLETION"},
			"timeframe":  map[string]any{"startAt": "2026-07-02"},
			"scheduling": map[string]any{"createVisits": true, "notifyTeam": false, "startTime": "09:30:00", "endTime": "11:00:00"},
		}}, nil), "jobCreate", "job")
	require.Empty(t, errs)
	visits := srv.Visits()
	require.Len(t, visits, 1)
	require.Equal(t, job["id"], visits[0].JobID)
	require.True(t, visits[0].Start.Equal(time.Date(2026, 7, 2, 9, 30, 0, 0, chicago)), "start %s", visits[0].Start)
	require.True(t, visits[0].End.Equal(time.Date(2026, 7, 2, 11, 0, 0, 0, chicago)), "end %s", visits[0].End)

	visitQuery := `query V($id: EncodedId!) { visit(id: $id) { id startAt endAt visitStatus } }`
	_, errs = mutation(t, post(t, srv, token, `mutation E($id: EncodedId!, $input: VisitEditScheduleInput!) { visitEditSchedule(id: $id, input: $input) { visit { id } } }`,
		map[string]any{"id": visits[0].ID, "input": map[string]any{
			"startAt": map[string]any{"date": "2026-07-03", "time": "14:00:00", "timezone": "America/New_York"},
			"endAt":   map[string]any{"date": "2026-07-03", "time": "15:00:00", "timezone": "America/New_York"},
		}}, nil), "visitEditSchedule", "visit")
	require.Empty(t, errs)
	a := post(t, srv, token, visitQuery, map[string]any{"id": visits[0].ID}, nil)
	require.JSONEq(t, `{"id":"`+visits[0].ID+`","startAt":"2026-07-03T18:00:00Z","endAt":"2026-07-03T19:00:00Z","visitStatus":"upcoming","job":{"id":"`+job["id"].(string)+`"}}`,
		string(a.body.Data["visit"]))

	closeJob := `mutation C($jobId: EncodedId!, $input: JobCloseInput!) { jobClose(jobId: $jobId, input: $input) { job { id } } }`
	closeVars := map[string]any{"jobId": job["id"], "input": map[string]any{"modifyIncompleteVisitsBy": "DESTROY_ALL"}}
	_, errs = mutation(t, post(t, srv, token, closeJob, closeVars, nil), "jobClose", "job")
	require.Empty(t, errs)
	require.True(t, srv.Jobs()[0].Closed)
	require.Equal(t, jobberfake.StatusDeleted, srv.Visits()[0].Status)
	require.JSONEq(t, `null`, string(post(t, srv, token, visitQuery, map[string]any{"id": visits[0].ID}, nil).body.Data["visit"]))
	_, errs = mutation(t, post(t, srv, token, closeJob, closeVars, nil), "jobClose", "job")
	require.Len(t, errs, 1, "closing a closed job is refused")
}

func TestThrottled(t *testing.T) {
	t.Parallel()
	srv, token := newServer(t)
	srv.SetThrottle(0, 1)

	a := post(t, srv, token, createClient, janeInput(), nil)

	require.Equal(t, http.StatusOK, a.status)
	require.Len(t, a.body.Errors, 1)
	require.Equal(t, "THROTTLED", a.body.Errors[0]["extensions"].(map[string]any)["code"])
	require.Nil(t, a.body.Data)
	cost := a.body.Extensions.Cost
	require.Equal(t, jobberfake.Cost("clientCreate"), cost.RequestedQueryCost)
	require.Zero(t, cost.ActualQueryCost)
	require.Less(t, cost.ThrottleStatus.CurrentlyAvailable, cost.RequestedQueryCost)
	require.Equal(t, 1, cost.ThrottleStatus.RestoreRate)
	require.Empty(t, srv.Clients())
}

func TestFaultsTargetTheirOperation(t *testing.T) {
	t.Parallel()
	srv, token := newServer(t)
	srv.FailNext("clientCreate", 1, jobberfake.RateLimited("30"))

	require.Equal(t, http.StatusOK, post(t, srv, token, accountQuery, nil, nil).status, "other operations pass")
	a := post(t, srv, token, createClient, janeInput(), nil)
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "30", a.header.Get("Retry-After"))
	require.Empty(t, srv.Clients(), "nothing done")

	srv.FailNext("clientCreate", 1, jobberfake.Lost())
	require.Equal(t, http.StatusInternalServerError, post(t, srv, token, createClient, janeInput(), nil).status)
	require.Len(t, srv.Clients(), 1, "done, though the answer was a 500")

	srv.FailNext("clientCreate", 1, jobberfake.MalformedJSON())
	a = post(t, srv, token, createClient, janeInput(), nil)
	require.Error(t, json.Unmarshal(a.raw, new(any)))
	require.Len(t, srv.Clients(), 2)

	srv.FailAlways("clientCreate", jobberfake.Rejected("Phone number is invalid"))
	_, errs := mutation(t, post(t, srv, token, createClient, janeInput(), nil), "clientCreate", "client")
	require.Equal(t, []any{map[string]any{"message": "Phone number is invalid", "path": []any{}}}, errs)
	require.Len(t, srv.Clients(), 2)

	srv.Heal()
	_, errs = mutation(t, post(t, srv, token, createClient, janeInput(), nil), "clientCreate", "client")
	require.Empty(t, errs)
	require.Equal(t, 5, srv.Calls("clientCreate"))
}

func TestSlowAnswers(t *testing.T) {
	t.Parallel()
	t.Run("held until the client gives up, done nonetheless", func(t *testing.T) {
		t.Parallel()
		srv, token := newServer(t)
		srv.FailNext("", 1, jobberfake.Slow(time.Hour))
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		body, _ := json.Marshal(map[string]any{"query": createClient, "variables": janeInput()})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+"/api/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-JOBBER-GRAPHQL-VERSION", version)

		_, err := http.DefaultClient.Do(req)

		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Len(t, srv.Clients(), 1)
	})
	t.Run("released by Close", func(t *testing.T) {
		t.Parallel()
		srv, token := newServer(t)
		srv.FailNext("", 1, jobberfake.Slow(time.Hour))
		sent := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(sent) }})
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+"/api/graphql", strings.NewReader(`{"query":"{ account { id } }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("X-JOBBER-GRAPHQL-VERSION", version)
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
		<-sent
		srv.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the held answer outlived Close")
		}
	})
}

func TestConcurrentCreatesGetDistinctIDs(t *testing.T) {
	t.Parallel()
	srv, token := newServer(t)
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { post(t, srv, token, createClient, janeInput(), nil) })
	}
	wg.Wait()

	seen := map[string]bool{}
	for _, c := range srv.Clients() {
		seen[c.ID] = true
	}
	require.Len(t, seen, n)
	require.Equal(t, n, srv.Calls("clientCreate"))
}

func TestTestHelpersActAsJobbersUI(t *testing.T) {
	t.Parallel()
	srv, token := newServer(t)
	require.Error(t, srv.MoveVisit("bm90IGEgdmlzaXQ=", time.Now(), time.Now().Add(time.Hour)))
	require.Error(t, srv.DeleteVisit("bm90IGEgdmlzaXQ="))

	_, propertyID := srv.AddClient("Jane", "Doe", "+15125550199")
	post(t, srv, token, `mutation J($input: JobCreateAttributes!) { jobCreate(input: $input) { job { id } } }`,
		map[string]any{"input": map[string]any{
			"propertyId": propertyID,
			"invoicing":  map[string]any{"invoicingType": "FIXED_PRICE", "invoicingSchedule": "ON_COMPLETION"},
			"timeframe":  map[string]any{"startAt": "2026-07-02"},
			"scheduling": map[string]any{"createVisits": true, "notifyTeam": false, "startTime": "09:00", "endTime": "10:00"},
		}}, nil)
	v := srv.Visits()[0]
	start := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, srv.MoveVisit(v.ID, start, start.Add(time.Hour)))
	require.True(t, srv.Visits()[0].Start.Equal(start))
	require.NoError(t, srv.DeleteVisit(v.ID))
	require.Equal(t, jobberfake.StatusDeleted, srv.Visits()[0].Status)
	require.Error(t, srv.DeleteVisit(v.ID), "already deleted")
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	srv := jobberfake.NewUnstarted(clientID, clientSecret)
	at := time.Date(2026, 7, 2, 9, 8, 19, 0, time.UTC)

	body := srv.WebhookPayload("VISIT_UPDATE", "Z2lkOi8vSm9iYmVyL1Zpc2l0LzE=", at)

	require.JSONEq(t, `{"data":{"webHookEvent":{"topic":"VISIT_UPDATE","appId":"`+srv.AppID()+`","accountId":"`+srv.AccountID()+
		`","itemId":"Z2lkOi8vSm9iYmVyL1Zpc2l0LzE=","occurredAt":"2026-07-02T09:08:19Z"}}}`, string(body))
	// HMAC-SHA256 test vector (RFC 4231 case 2), in base64.
	require.Equal(t, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=",
		jobberfake.SignWebhook("Jefe", []byte("what do ya want for nothing?")))
}
