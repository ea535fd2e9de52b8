package secrets_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"ringback/secrets"
)

func newKey(t *testing.T) string {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func TestSealOpenRoundTripIsBoundToContextAndKey(t *testing.T) {
	t.Parallel()
	box, err := secrets.NewBox(newKey(t))
	require.NoError(t, err)
	sealed, err := box.Seal([]byte("refresh-token-1"), "acme/google")
	require.NoError(t, err)
	require.NotContains(t, string(sealed), "refresh-token-1")

	got, err := box.Open(sealed, "acme/google")
	require.NoError(t, err)
	require.Equal(t, "refresh-token-1", string(got))

	_, err = box.Open(sealed, "other/google")
	require.Error(t, err, "a ciphertext must not open under another row's context")

	other, err := secrets.NewBox(newKey(t))
	require.NoError(t, err)
	_, err = other.Open(sealed, "acme/google")
	require.Error(t, err, "a ciphertext must not open under another key")
}

func TestBoxWithoutKeyRefuses(t *testing.T) {
	t.Parallel()
	box, err := secrets.NewBox("")
	require.NoError(t, err)
	_, err = box.Seal([]byte("x"), "c")
	require.ErrorIs(t, err, secrets.ErrNoKey)

	_, err = secrets.NewBox(base64.StdEncoding.EncodeToString([]byte("short")))
	require.Error(t, err)
	_, err = secrets.NewBox("not base64!")
	require.Error(t, err)
}

func TestKeyMatches(t *testing.T) {
	t.Parallel()
	h := secrets.HashKey("a-long-booking-api-key")
	require.True(t, secrets.KeyMatches("a-long-booking-api-key", h))
	require.False(t, secrets.KeyMatches("a-long-booking-api-kez", h))
	require.False(t, secrets.KeyMatches("a-long-booking-api-key", nil))
}
