package persistence_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"ringback/persistence"
	"ringback/persistence/pgtest"
	"ringback/secrets"
	"ringback/tenant"
)

func newBox(t *testing.T) *secrets.Box {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	box, err := secrets.NewBox(base64.StdEncoding.EncodeToString(key))
	require.NoError(t, err)
	return box
}

func exampleConfig(t *testing.T) *tenant.Config {
	raw, err := os.ReadFile("../tenant/testdata/acme.yaml")
	require.NoError(t, err)
	cfg, err := tenant.Parse(raw)
	require.NoError(t, err)
	cfg.Normalize()
	require.NoError(t, cfg.Validate())
	return cfg
}

func TestCredentialsAreSealedAtRestAndKeptWhenRedacted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	box := newBox(t)
	store := persistence.NewTenants(pool, box)

	cfg := exampleConfig(t)
	require.NotEmpty(t, cfg.Connections)
	cfg.Connections[0].Credentials = map[string]string{"refresh_token": "rt-plain-secret"}
	res, err := store.Apply(ctx, cfg)
	require.NoError(t, err)
	require.True(t, res.Created)

	var sealed []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT credentials FROM fulfillment.connections WHERE tenant_id = $1 AND id = $2`, cfg.ID, cfg.Connections[0].ID).Scan(&sealed))
	require.NotContains(t, string(sealed), "rt-plain-secret")

	creds, err := store.ConnectionCredentials(ctx, cfg.ID, cfg.Connections[0].ID)
	require.NoError(t, err)
	require.Equal(t, "rt-plain-secret", creds["refresh_token"])

	// Another key cannot open them.
	_, err = persistence.NewTenants(pool, newBox(t)).ConnectionCredentials(ctx, cfg.ID, cfg.Connections[0].ID)
	require.Error(t, err)

	// What GET shows, applied back, keeps every secret and changes nothing.
	shown, _, err := store.Get(ctx, cfg.ID)
	require.NoError(t, err)
	require.Equal(t, tenant.Redacted, shown.Connections[0].Credentials["refresh_token"])
	require.Equal(t, tenant.Redacted, shown.BookingAPIKey)
	res, err = store.Apply(ctx, shown)
	require.NoError(t, err)
	require.False(t, res.Changed)
	creds, err = store.ConnectionCredentials(ctx, cfg.ID, cfg.Connections[0].ID)
	require.NoError(t, err)
	require.Equal(t, "rt-plain-secret", creds["refresh_token"])
	ok, err := store.BookingKeyMatches(ctx, cfg.ID, cfg.BookingAPIKey)
	require.NoError(t, err)
	require.True(t, ok)

	// A rotated credential is a change.
	cfg.Connections[0].Credentials["refresh_token"] = "rt-rotated"
	res, err = store.Apply(ctx, cfg)
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, int64(2), res.Version)
}

func TestCredentialsNeedTheSecretKey(t *testing.T) {
	t.Parallel()
	noKey, err := secrets.NewBox("")
	require.NoError(t, err)
	store := persistence.NewTenants(pgtest.Pool(t), noKey)
	cfg := exampleConfig(t)
	_, err = store.Apply(context.Background(), cfg)
	var ve *tenant.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, ve.Error(), "ENGINE_SECRET_KEY")
	_, _, err = store.Get(context.Background(), cfg.ID)
	require.ErrorIs(t, err, tenant.ErrNotFound, "nothing was written")
}

func TestRedactedSecretWithNothingStoredIsRefused(t *testing.T) {
	t.Parallel()
	store := persistence.NewTenants(pgtest.Pool(t), newBox(t))
	cfg := exampleConfig(t)
	cfg.BookingAPIKey = tenant.Redacted
	_, err := store.Apply(context.Background(), cfg)
	var ve *tenant.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "booking_api_key", ve.Errors[0].Field)
}
