package twilio_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"ringback/comms/twilio"
)

// The vector of twilio-go's own request validator tests: an independent check of Sign.
func TestSignMatchesVendorVector(t *testing.T) {
	t.Parallel()
	form := url.Values{
		"Digits":                {"1234"},
		"CallSid":               {"CA1234567890ABCDE"},
		"To":                    {"+18005551212"},
		"Caller":                {"+14158675309"},
		"From":                  {"+14158675309"},
		"ReasonConferenceEnded": {"test"},
		"Reason":                {"Participant"},
	}
	got := twilio.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form)
	require.Equal(t, "vOEb5UThFn24KEfnOFLQY2AE5FY=", got)
}

func TestSignAndValidAgreeAndRejectTampering(t *testing.T) {
	t.Parallel()
	const token = "authtoken123"
	const fullURL = "https://engine.example.com/webhooks/twilio/sms?tenant=acme"
	form := func() url.Values {
		return url.Values{
			"MessageSid": {"SM0123456789abcdef0123456789abcdef"},
			"From":       {"+15125550199"},
			"To":         {"+15125550100"},
			"Body":       {"YES"},
		}
	}
	sig := twilio.Sign(token, fullURL, form())
	require.True(t, twilio.Valid(token, fullURL, form(), sig))

	tests := []struct {
		name  string
		token string
		url   string
		form  func() url.Values
		sig   string
	}{
		{name: "tampered value", token: token, url: fullURL, sig: sig, form: func() url.Values {
			f := form()
			f.Set("Body", "NO")
			return f
		}},
		{name: "added param", token: token, url: fullURL, sig: sig, form: func() url.Values {
			f := form()
			f.Set("NumMedia", "0")
			return f
		}},
		{name: "removed param", token: token, url: fullURL, sig: sig, form: func() url.Values {
			f := form()
			f.Del("From")
			return f
		}},
		{name: "other path", token: token, url: "https://engine.example.com/webhooks/twilio/voice?tenant=acme", sig: sig, form: form},
		{name: "other query", token: token, url: "https://engine.example.com/webhooks/twilio/sms?tenant=evil", sig: sig, form: form},
		{name: "other scheme", token: token, url: "http://engine.example.com/webhooks/twilio/sms?tenant=acme", sig: sig, form: form},
		{name: "other token", token: "othertoken456", url: fullURL, sig: sig, form: form},
		{name: "empty token", token: "", url: fullURL, sig: twilio.Sign("", fullURL, form()), form: form},
		{name: "empty signature", token: token, url: fullURL, sig: "", form: form},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.False(t, twilio.Valid(tt.token, tt.url, tt.form(), tt.sig))
		})
	}
}

// Valid inherits twilio-go's port tolerance: default ports may be added, any port may be
// dropped, but a port the signer used must not be missing from the checked URL.
func TestValidPortQuirk(t *testing.T) {
	t.Parallel()
	const token = "authtoken123"
	form := url.Values{"MessageStatus": {"delivered"}}

	withoutPort := twilio.Sign(token, "https://engine.example.com/webhooks/twilio/sms-status", form)
	require.True(t, twilio.Valid(token, "https://engine.example.com:443/webhooks/twilio/sms-status", form, withoutPort))
	require.True(t, twilio.Valid(token, "https://engine.example.com:8443/webhooks/twilio/sms-status", form, withoutPort))

	withPort := twilio.Sign(token, "https://engine.example.com:8443/webhooks/twilio/sms-status", form)
	require.False(t, twilio.Valid(token, "https://engine.example.com/webhooks/twilio/sms-status", form, withPort))
}

// A repeated key is signed and checked by its first value only, as twilio-go's validator
// does; Sign and Valid agree on it.
func TestSignRepeatedKeyUsesFirstValue(t *testing.T) {
	t.Parallel()
	const token, fullURL = "authtoken123", "https://engine.example.com/webhooks/twilio/sms"
	form := url.Values{"MediaUrl": {"https://a.example/1", "https://a.example/2"}}
	sig := twilio.Sign(token, fullURL, form)
	require.Equal(t, twilio.Sign(token, fullURL, url.Values{"MediaUrl": {"https://a.example/1"}}), sig)
	require.True(t, twilio.Valid(token, fullURL, form, sig))
}
