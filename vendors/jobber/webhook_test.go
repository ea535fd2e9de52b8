package jobber_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ringback/fakes/jobberfake"
	"ringback/vendors/jobber"
)

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	fake := jobberfake.NewUnstarted(appClientID, appClientSecret)
	body := fake.WebhookPayload("VISIT_UPDATE", "Z2lkOi8vSm9iYmVyL1Zpc2l0LzE=", time.Date(2026, 7, 2, 9, 8, 19, 0, time.UTC))
	good := jobberfake.SignWebhook(appClientSecret, body)

	require.True(t, jobber.VerifyWebhook(appClientSecret, body, good))

	modified := bytes.Replace(body, []byte("VISIT_UPDATE"), []byte("VISIT_DESTROY"), 1)
	for name, tc := range map[string]struct {
		secret, header string
		body           []byte
	}{
		"modified body":    {appClientSecret, good, modified},
		"another secret":   {appClientSecret, jobberfake.SignWebhook("not-the-secret", body), body},
		"no signature":     {appClientSecret, "", body},
		"not base64":       {appClientSecret, "%%%", body},
		"truncated":        {appClientSecret, good[:20], body},
		"no secret set up": {"", jobberfake.SignWebhook("", body), body},
	} {
		require.False(t, jobber.VerifyWebhook(tc.secret, tc.body, tc.header), name)
	}
}

func TestParseWebhook(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 7, 2, 9, 8, 19, 0, time.UTC)
	fake := jobberfake.NewUnstarted(appClientID, appClientSecret)
	body := fake.WebhookPayload("VISIT_DESTROY", "Z2lkOi8vSm9iYmVyL1Zpc2l0LzE=", at)

	e, err := jobber.ParseWebhook(body)
	require.NoError(t, err)
	require.Equal(t, jobber.Event{
		Topic: "VISIT_DESTROY", AppID: fake.AppID(), AccountID: fake.AccountID(),
		ItemID: "Z2lkOi8vSm9iYmVyL1Zpc2l0LzE=", OccurredAt: at,
	}, e)

	// A redelivery, in another spelling of the same instant, has the same key; another
	// event about the same item does not.
	again, err := jobber.ParseWebhook(payload("VISIT_DESTROY", fake.AppID(), fake.AccountID(), e.ItemID, "2026-07-02T05:08:19-04:00"))
	require.NoError(t, err)
	require.Equal(t, e.Key(), again.Key())
	later, err := jobber.ParseWebhook(fake.WebhookPayload("VISIT_DESTROY", e.ItemID, at.Add(time.Second)))
	require.NoError(t, err)
	require.NotEqual(t, e.Key(), later.Key())

	for name, bad := range map[string][]byte{
		"not json":         []byte(`data`),
		"empty object":     []byte(`{}`),
		"null event":       []byte(`{"data":{"webHookEvent":null}}`),
		"no topic":         payload("", "app", "acct", "item", "2026-07-02T09:08:19Z"),
		"no appId":         payload("VISIT_UPDATE", "", "acct", "item", "2026-07-02T09:08:19Z"),
		"no accountId":     payload("VISIT_UPDATE", "app", "", "item", "2026-07-02T09:08:19Z"),
		"no itemId":        payload("VISIT_UPDATE", "app", "acct", "", "2026-07-02T09:08:19Z"),
		"no occurredAt":    payload("VISIT_UPDATE", "app", "acct", "item", ""),
		"bad occurredAt":   payload("VISIT_UPDATE", "app", "acct", "item", "yesterday"),
		"bad topic":        payload("visit update", "app", "acct", "item", "2026-07-02T09:08:19Z"),
		"wrong type":       []byte(`{"data":{"webHookEvent":{"topic":1}}}`),
		"trailing garbage": append(payload("VISIT_UPDATE", "app", "acct", "item", "2026-07-02T09:08:19Z"), '}'),
	} {
		_, err := jobber.ParseWebhook(bad)
		require.Error(t, err, name)
	}
}

func payload(topic, appID, accountID, itemID, occurredAt string) []byte {
	b, err := json.Marshal(map[string]any{"data": map[string]any{"webHookEvent": map[string]string{
		"topic": topic, "appId": appID, "accountId": accountID, "itemId": itemID, "occurredAt": occurredAt,
	}}})
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return b
}

// FuzzParseWebhook checks that ParseWebhook never panics, accepts only complete events,
// and that an accepted event survives a round trip with the same Key.
func FuzzParseWebhook(f *testing.F) {
	f.Add(payload("VISIT_UPDATE", "app", "acct", "item", "2026-07-02T09:08:19Z"))
	f.Add(payload("APP_DISCONNECT", "a", "b", "c", "2026-07-02T09:08:19.123+02:00"))
	f.Add([]byte(`{"data":{"webHookEvent":{}}}`))
	f.Add([]byte(`{"data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := jobber.ParseWebhook(body)
		if err != nil {
			return
		}
		if e.Topic == "" || e.AppID == "" || e.AccountID == "" || e.ItemID == "" || e.OccurredAt.IsZero() {
			t.Fatalf("incomplete event %+v from %q", e, body)
		}
		again, err := jobber.ParseWebhook(payload(e.Topic, e.AppID, e.AccountID, e.ItemID, e.OccurredAt.Format(time.RFC3339Nano)))
		if err != nil {
			t.Fatalf("re-encoded %+v: %v", e, err)
		}
		if again.Key() != e.Key() {
			t.Fatalf("key %q, after a round trip %q", e.Key(), again.Key())
		}
	})
}
