package persistence_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"ringback/persistence"
)

// TestInboxCursorRoundTrips: a cursor reads back as written, whatever the fraction of a
// second of its time (now() has microseconds; the time's own dot is not a separator).
func TestInboxCursorRoundTrips(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("0190f3c4-5b6a-7c8d-9e0f-a1b2c3d4e5f6")
	for _, c := range []persistence.InboxCursor{
		{NeedsAttention: true, UpdatedAt: time.Date(2030, 1, 7, 11, 51, 3, 846478000, time.UTC), ID: id},
		{UpdatedAt: time.Date(2030, 1, 7, 11, 51, 3, 0, time.UTC), ID: id},
		{UpdatedAt: time.Date(2030, 1, 7, 11, 51, 3, 1000, time.FixedZone("CST", -6*3600)), ID: id},
	} {
		got, err := persistence.ParseInboxCursor(c.String())
		require.NoError(t, err, c.String())
		require.Equal(t, c.NeedsAttention, got.NeedsAttention)
		require.True(t, c.UpdatedAt.Equal(got.UpdatedAt), "got %s, want %s", got.UpdatedAt, c.UpdatedAt)
		require.Equal(t, c.ID, got.ID)
	}
	for _, bad := range []string{"", "0", "2.2030-01-07T11:51:03Z." + id.String(), "0.yesterday." + id.String(),
		"0.2030-01-07T11:51:03.5Z.not-a-uuid", "1.2030-01-07T11:51:03Z"} {
		_, err := persistence.ParseInboxCursor(bad)
		require.Error(t, err, bad)
	}
}
