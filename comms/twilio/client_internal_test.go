package twilio

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewLeavesRealAPIUntouched(t *testing.T) {
	t.Parallel()
	for _, apiURL := range []string{"", DefaultAPIURL, DefaultAPIURL + "/"} {
		c, err := New(Config{AccountSID: "AC123", AuthToken: "token123", APIURL: apiURL})
		require.NoError(t, err)
		_, rewrites := c.base.(*rewriteTransport)
		require.False(t, rewrites, "APIURL %q", apiURL)
		require.Equal(t, DefaultTimeout, c.timeout)
	}
	c, err := New(Config{AccountSID: "AC123", AuthToken: "token123", APIURL: "http://127.0.0.1:9999"})
	require.NoError(t, err)
	_, rewrites := c.base.(*rewriteTransport)
	require.True(t, rewrites)
}

func TestMaskNumber(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"+15125550100":  "+1512***0100",
		"+447700900123": "+4477***0123",
		"12345":         "***",
		"":              "***",
	}
	for in, want := range tests {
		require.Equal(t, want, MaskNumber(in), "MaskNumber(%q)", in)
	}
}
