package jobber

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// SignatureHeader carries a webhook's signature.
const SignatureHeader = "X-Jobber-Hmac-SHA256"

// VerifyWebhook reports whether header is the signature of body: the base64 HMAC-SHA256
// of the raw request body, keyed with the app's OAuth client secret. Pass the body bytes
// as received, before any parsing. The comparison is constant-time.
func VerifyWebhook(secret string, body []byte, header string) bool {
	got, err := base64.StdEncoding.DecodeString(header)
	if secret == "" || err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Event is a webhook notification: something happened to the object ItemID. It carries
// no state; fetch the object (Client.Visit) to learn what it is now. Jobber delivers at
// least once, so dedupe on Key.
type Event struct {
	Topic      string // e.g. VISIT_UPDATE, VISIT_DESTROY, APP_DISCONNECT
	AppID      string
	AccountID  string // EncodedId of the Jobber account
	ItemID     string // EncodedId of the object
	OccurredAt time.Time
}

// Key identifies an event across redeliveries.
func (e Event) Key() string {
	return e.Topic + "|" + e.ItemID + "|" + e.OccurredAt.UTC().Format(time.RFC3339Nano)
}

var topicPattern = regexp.MustCompile(`^[A-Z][A-Z_]*$`)

// ParseWebhook reads a webhook body, {"data":{"webHookEvent":{…}}}. Every field is
// required: an event missing one is refused rather than half-processed. Unknown fields
// are ignored, as Jobber may add some.
func ParseWebhook(body []byte) (Event, error) {
	var p struct {
		Data *struct {
			WebHookEvent *struct {
				Topic      string `json:"topic"`
				AppID      string `json:"appId"`
				AccountID  string `json:"accountId"`
				ItemID     string `json:"itemId"`
				OccurredAt string `json:"occurredAt"`
			} `json:"webHookEvent"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("jobber: webhook: %w", err)
	}
	if p.Data == nil || p.Data.WebHookEvent == nil {
		return Event{}, errors.New("jobber: webhook: no data.webHookEvent")
	}
	w := p.Data.WebHookEvent
	for _, f := range [][2]string{{"topic", w.Topic}, {"appId", w.AppID}, {"accountId", w.AccountID}, {"itemId", w.ItemID}, {"occurredAt", w.OccurredAt}} {
		if f[1] == "" {
			return Event{}, fmt.Errorf("jobber: webhook: %s missing", f[0])
		}
	}
	if !topicPattern.MatchString(w.Topic) {
		return Event{}, fmt.Errorf("jobber: webhook: topic %q", w.Topic)
	}
	at, err := time.Parse(time.RFC3339, w.OccurredAt)
	if err != nil || at.IsZero() {
		return Event{}, fmt.Errorf("jobber: webhook: occurredAt %q: not an RFC 3339 time", w.OccurredAt)
	}
	return Event{Topic: w.Topic, AppID: w.AppID, AccountID: w.AccountID, ItemID: w.ItemID, OccurredAt: at}, nil
}
