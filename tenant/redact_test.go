package tenant

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	c := validTestConfig()
	c.Connections[1].Credentials["access_token"] = ""
	original := validTestConfig()
	original.Connections[1].Credentials["access_token"] = ""

	got := c.Redact()

	require.Equal(t, original, c, "Redact must not change the original")
	require.Equal(t, Redacted, got.BookingAPIKey)
	require.Equal(t, Redacted, got.Endpoints[0].PBXSecret)
	require.Empty(t, got.Endpoints[1].PBXSecret, "an unset secret stays unset")
	require.Equal(t, map[string]string{"refresh_token": Redacted, "access_token": Redacted}, got.Connections[0].Credentials)
	require.Equal(t, map[string]string{"refresh_token": Redacted, "access_token": ""}, got.Connections[1].Credentials)

	// Everything but the secrets is kept, and a redacted config still validates: it is
	// what a GET-edit-PUT round trip sends back.
	want := validTestConfig()
	want.Connections[1].Credentials["access_token"] = ""
	want.BookingAPIKey = Redacted
	want.Endpoints[0].PBXSecret = Redacted
	want.Connections[0].Credentials = map[string]string{"refresh_token": Redacted, "access_token": Redacted}
	require.Equal(t, *want, got)
	require.NoError(t, got.Validate())
}

func TestCloneSharesNothing(t *testing.T) {
	t.Parallel()
	c := validTestConfig()
	clone := c.Clone()

	clone.Endpoints[0].QuietHours.Start = "22:00"
	clone.Endpoints[1].Number = "+15125550199"
	clone.Services[0].Name = "Changed"
	clone.Resources[0].Services[0] = "changed"
	clone.Resources[0].Hours["mon"][0] = "changed"
	clone.Resources[0].Hours["tue"] = []string{"changed"}
	clone.Resources[0].Calendar.CalendarID = "changed"
	clone.Connections[0].Credentials["refresh_token"] = "changed"

	require.Equal(t, validTestConfig(), c)
}

func TestLookups(t *testing.T) {
	t.Parallel()
	c := validTestConfig()

	s, ok := c.Service("water-heater")
	require.True(t, ok)
	require.Equal(t, "Water heater install", s.Name)
	_, ok = c.Service("roofing")
	require.False(t, ok)

	r, ok := c.Resource("van-1")
	require.True(t, ok)
	require.Equal(t, "Van 1", r.Name)
	_, ok = c.Resource("tech-ana")
	require.False(t, ok)
}
