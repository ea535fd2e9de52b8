// Package wirepb is what every grain message shares on the wire (wire.proto): the Error
// a response carries, and the conversions of the Go values the messages hold (UUIDs,
// times, errors) that the actors' codecs (resource.ToWire, conversation.ToWire) share.
// wire.pb.go is generated (`make proto`); this file is not.
package wirepb

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// UUID is u's wire form: its 16 bytes, or none for uuid.Nil.
func UUID(u uuid.UUID) []byte {
	if u == uuid.Nil {
		return nil
	}
	return u[:]
}

// ParseUUID reads a UUID's wire form: 16 bytes, or none for uuid.Nil; any other length is
// an error.
func ParseUUID(b []byte) (uuid.UUID, error) {
	if len(b) == 0 {
		return uuid.Nil, nil
	}
	return uuid.FromBytes(b)
}

// Time is t's wire form: nil for the zero time, so that it comes back zero.
func Time(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// AsTime reads a time's wire form: the zero time for nil, else the instant in UTC (a
// location and a monotonic reading do not cross the wire).
func AsTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// Known pairs an error value a caller classifies (a sentinel) with its code.
type Known struct {
	Code ErrorCode
	Err  error
}

// CodeOf is the code of the first of known that err is (errors.Is); false when none.
func CodeOf(err error, known ...Known) (ErrorCode, bool) {
	if err == nil {
		return ErrorCode_ERROR_CODE_OPAQUE, false
	}
	for _, k := range known {
		if errors.Is(err, k.Err) {
			return k.Code, true
		}
	}
	return ErrorCode_ERROR_CODE_OPAQUE, false
}

// Decode is the error of known whose code e carries, restored (see Restore); false when
// e is nil or its code is none of known.
func Decode(e *Error, known ...Known) (error, bool) {
	if e == nil {
		return nil, false
	}
	for _, k := range known {
		if e.GetCode() == k.Code {
			return Restore(e, k.Err), true
		}
	}
	return nil, false
}

// Restore gives back err, the receiver's own value of the error e names. When the sender
// wrapped it with more context (e's text is not err's own), the result reads as the
// sender's whole text and unwraps to err, so errors.Is and errors.As still find it.
func Restore(e *Error, err error) error {
	if e.GetMessage() == "" || e.GetMessage() == err.Error() {
		return err
	}
	return &wrapped{text: e.GetMessage(), err: err}
}

// ErrUnavailable is the receiver's form of an error of the moment on another node
// (Transient there): errors.Is finds it, and callers answer "try again".
var ErrUnavailable = errors.New("temporarily unavailable")

// Transient says err is of the moment rather than a bug: the network or a database
// connection failed or timed out. It reads behaviours, not types, so this package needs
// no driver: net.Error, an error that is safe to retry (pgconn's), a deadline.
func Transient(err error) bool {
	var ne net.Error
	var retry interface{ SafeToRetry() bool }
	var timeout interface{ Timeout() bool }
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &retry) && retry.SafeToRetry() || errors.As(err, &timeout) && timeout.Timeout() ||
		errors.Is(err, ErrUnavailable)
}

// Opaque is an error no code classifies: only its text crossed.
func Opaque(e *Error) error { return errors.New(e.GetMessage()) }

// wrapped is a known error that crossed with the sender's added context.
type wrapped struct {
	text string
	err  error
}

func (w *wrapped) Error() string { return w.text }
func (w *wrapped) Unwrap() error { return w.err }
