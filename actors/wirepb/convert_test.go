package wirepb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestUUID(t *testing.T) {
	t.Parallel()
	u := uuid.MustParse("0195a3c4-7e21-7c3a-9f10-2b8d4e6f7a81")
	got, err := ParseUUID(UUID(u))
	require.NoError(t, err)
	require.Equal(t, u, got)

	require.Empty(t, UUID(uuid.Nil))
	got, err = ParseUUID(nil)
	require.NoError(t, err)
	require.Equal(t, uuid.Nil, got)
	got, err = ParseUUID(make([]byte, 16))
	require.NoError(t, err)
	require.Equal(t, uuid.Nil, got)

	for _, n := range []int{1, 15, 17, 36} {
		_, err := ParseUUID(make([]byte, n))
		require.Error(t, err, "%d bytes", n)
	}
}

func TestTime(t *testing.T) {
	t.Parallel()
	require.Nil(t, Time(time.Time{}))
	require.Equal(t, time.Time{}, AsTime(nil))
	require.Equal(t, time.Time{}, AsTime(Time(time.Time{}.In(time.FixedZone("CDT", -5*60*60)))), "zero in any zone is zero")

	at := time.Date(2026, 3, 17, 9, 30, 0, 123456789, time.FixedZone("CDT", -5*60*60))
	got := AsTime(Time(at))
	require.True(t, got.Equal(at), "got %v, want %v", got, at)
	require.Equal(t, at.UTC(), got)
}

func TestRestore(t *testing.T) {
	t.Parallel()
	sentinel := errors.New("the slot is already taken")
	require.Same(t, sentinel, Restore(&Error{Code: ErrorCode_ERROR_CODE_CONFLICT, Message: sentinel.Error()}, sentinel))
	require.Same(t, sentinel, Restore(&Error{Code: ErrorCode_ERROR_CODE_CONFLICT}, sentinel), "no text: the sentinel's own")

	wrapped := fmt.Errorf("van-1: %w", sentinel)
	got := Restore(&Error{Code: ErrorCode_ERROR_CODE_CONFLICT, Message: wrapped.Error()}, sentinel)
	require.ErrorIs(t, got, sentinel)
	require.EqualError(t, got, wrapped.Error())

	known := []Known{{Code: ErrorCode_ERROR_CODE_CONFLICT, Err: sentinel}}
	code, ok := CodeOf(wrapped, known...)
	require.True(t, ok)
	require.Equal(t, ErrorCode_ERROR_CODE_CONFLICT, code)
	_, ok = CodeOf(errors.New("other"), known...)
	require.False(t, ok)
	_, ok = CodeOf(nil, known...)
	require.False(t, ok)

	_, ok = Decode(nil, known...)
	require.False(t, ok)
	_, ok = Decode(&Error{Code: ErrorCode_ERROR_CODE_GONE, Message: "gone"}, known...)
	require.False(t, ok)
	require.EqualError(t, Opaque(&Error{Message: "pq: deadlock detected"}), "pq: deadlock detected")
}

// An error of the moment on one node (a dropped connection, a deadline) is one on the
// node it is answered to: it crosses as ERROR_CODE_UNAVAILABLE, so the caller answers
// 503 and not 500.
func TestTransientErrorsCrossAsUnavailable(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		fmt.Errorf("load acme/mike: %w", context.DeadlineExceeded),
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
		fmt.Errorf("commit: %w", io.ErrUnexpectedEOF),
	} {
		require.True(t, Transient(err), "%v", err)
	}
	require.False(t, Transient(errors.New("duplicate key")))
	require.False(t, Transient(nil))
}
