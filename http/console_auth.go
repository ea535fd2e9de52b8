package http

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with argon2id at OWASP's recommended minimum (19 MiB, 2 passes,
// one lane) and stored as a PHC string, so the parameters can rise without a migration.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	// minPasswordLen is the shortest password a console user may set (NIST 800-63B: 8).
	minPasswordLen = 10
	maxPasswordLen = 256
)

// hashPassword returns the PHC string of argon2id(password, a fresh salt).
func hashPassword(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// checkPassword reports whether password matches a PHC string from hashPassword, in time
// that does not depend on where they differ.
func checkPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 10 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// dummyHash is checked against when no user has the email, so a wrong email costs the
// same time as a wrong password.
var dummyHash = hashPassword("no user has this password")

func passwordProblem(password string) error {
	switch n := len([]rune(password)); {
	case n < minPasswordLen:
		return fmt.Errorf("must be at least %d characters", minPasswordLen)
	case n > maxPasswordLen:
		return fmt.Errorf("must be at most %d characters", maxPasswordLen)
	}
	return nil
}

// loginLimiter counts failed sign-ins per user and per address: after maxFailures in
// failureWindow, further tries are refused (429) until the window has passed. It is per
// process; a cluster would share it through Postgres.
type loginLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
	now      func() time.Time
}

const (
	maxFailures   = 5 // failed sign-ins per user and per address
	failureWindow = 15 * time.Minute
)

var errTooManyAttempts = errors.New("too many failed sign-ins; try again in a few minutes")

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{failures: map[string][]time.Time{}, now: now}
}

// allowed reports whether every key may try again now.
func (l *loginLimiter) allowed(keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if len(l.recent(k)) >= maxFailures {
			return false
		}
	}
	return true
}

// failed records a failed try for every key.
func (l *loginLimiter) failed(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.failures[k] = append(l.recent(k), l.now())
	}
	if len(l.failures) > 100_000 { // bounded: forget the oldest half's keys wholesale
		for k := range l.failures {
			delete(l.failures, k)
			if len(l.failures) <= 50_000 {
				break
			}
		}
	}
}

// succeeded forgets a user's failures.
func (l *loginLimiter) succeeded(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

func (l *loginLimiter) recent(k string) []time.Time {
	cut := l.now().Add(-failureWindow)
	kept := l.failures[k][:0]
	for _, t := range l.failures[k] {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.failures, k)
		return nil
	}
	l.failures[k] = kept
	return kept
}

// randomToken is a fresh 32-byte secret, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
