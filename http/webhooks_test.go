package http

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseTwilio(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, route, form, kind, key string
		wantErr                      bool
	}{
		{"missed call by status callback", KindMissedCall, "CallSid=CA1&CallStatus=no-answer&From=%2B15125550199&To=%2B15125550100", KindMissedCall, "voice:CA1:no-answer", false},
		{"missed call by dial action", KindMissedCall, "CallSid=CA1&CallStatus=in-progress&DialCallStatus=busy&From=%2B1&To=%2B15125550100", KindMissedCall, "voice:CA1:busy", false},
		{"answered call", KindMissedCall, "CallSid=CA1&CallStatus=completed&To=%2B15125550100", KindCallStatus, "voice:CA1:completed", false},
		{"call without sid", KindMissedCall, "CallStatus=busy&To=%2B15125550100", "", "", true},
		{"inbound sms", KindInboundSMS, "MessageSid=SM1&From=%2B15125550199&To=%2B15125550100&Body=YES", KindInboundSMS, "sms:SM1", false},
		{"sms without from", KindInboundSMS, "MessageSid=SM1&To=%2B15125550100", "", "", true},
		{"receipt", KindSMSStatus, "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003&From=%2B15125550100", KindSMSStatus, "status:SM1:undelivered", false},
		{"receipt with a bad error code", KindSMSStatus, "MessageSid=SM1&MessageStatus=failed&ErrorCode=x&From=%2B15125550100", "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			form, err := url.ParseQuery(c.form)
			require.NoError(t, err)
			got, err := parseTwilio(c.route, form)
			if c.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.kind, got.kind)
			require.Equal(t, c.key, got.key)
		})
	}
}

// FuzzParseTwilio: any form on any route parses or is refused, never panics, and an
// accepted one always has a key naming its event, a number, and a known kind.
func FuzzParseTwilio(f *testing.F) {
	f.Add(uint8(0), "CallSid=CA1&CallStatus=no-answer&From=%2B15125550199&To=%2B15125550100")
	f.Add(uint8(1), "MessageSid=SM1&From=%2B15125550199&To=%2B15125550100&Body=STOP")
	f.Add(uint8(2), "MessageSid=SM1&MessageStatus=delivered&From=%2B15125550100&ErrorCode=0")
	routes := []string{KindMissedCall, KindInboundSMS, KindSMSStatus}
	f.Fuzz(func(t *testing.T, route uint8, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := parseTwilio(routes[int(route)%len(routes)], form)
		if err != nil {
			return
		}
		if got.key == "" || got.number == "" || len(got.key) > 300 {
			t.Fatalf("accepted webhook without a usable key or number: %+v", got)
		}
		switch got.kind {
		case KindMissedCall, KindCallStatus, KindInboundSMS, KindSMSStatus:
		default:
			t.Fatalf("unknown kind %q", got.kind)
		}
		if !strings.Contains(got.key, got.payload.MessageSid+got.payload.CallSid) {
			t.Fatalf("key %q does not name the event", got.key)
		}
	})
}

// FuzzParsePBX: a PBX body parses or is refused; an accepted one has a call id and two
// valid E.164 numbers.
func FuzzParsePBX(f *testing.F) {
	f.Add([]byte(`{"call_id":"c1","from":"+15125550199","to":"+15125550100","ended_at":"2030-01-07T09:00:00Z"}`))
	f.Add([]byte(`{"call_id":"","from":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parsePBX(body)
		if err != nil {
			return
		}
		if in.CallID == "" || !strings.HasPrefix(in.From, "+") || !strings.HasPrefix(in.To, "+") {
			t.Fatalf("accepted an unusable notice: %+v", in)
		}
	})
}
