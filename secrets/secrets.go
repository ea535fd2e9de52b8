// Package secrets seals credentials at rest with AES-256-GCM under ENGINE_SECRET_KEY, and
// hashes the API keys Ringback only ever needs to recognise.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// ErrNoKey is returned when a secret must be sealed or opened but no key is configured.
var ErrNoKey = errors.New("ENGINE_SECRET_KEY is not set: it is required to store credentials")

// Box seals and opens secrets. The zero Box (or a nil *Box) has no key and refuses both.
type Box struct {
	aead cipher.AEAD
}

// NewBox takes the base64 of 32 random bytes. An empty key gives a Box without a key.
func NewBox(b64 string) (*Box, error) {
	if b64 == "" {
		return &Box{}, nil
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("ENGINE_SECRET_KEY: not base64: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("ENGINE_SECRET_KEY: want 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// HasKey reports whether the box can seal.
func (b *Box) HasKey() bool { return b != nil && b.aead != nil }

// Seal encrypts plaintext bound to context (for example "tenant/connection"), so a
// ciphertext copied to another row does not open there. Output: nonce || ciphertext.
func (b *Box) Seal(plaintext []byte, context string) ([]byte, error) {
	if !b.HasKey() {
		return nil, ErrNoKey
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return b.aead.Seal(nonce, nonce, plaintext, []byte(context)), nil
}

// Open decrypts what Seal produced for the same context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	if !b.HasKey() {
		return nil, ErrNoKey
	}
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed secret too short")
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("open secret (wrong ENGINE_SECRET_KEY?): %w", err)
	}
	return out, nil
}

// HashKey hashes a high-entropy API key for storage. Keys are random tokens, not
// passwords, so a plain SHA-256 is the right tool (no stretching needed).
func HashKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// KeyMatches compares key with a stored hash in constant time.
func KeyMatches(key string, hash []byte) bool {
	return len(hash) == sha256.Size && subtle.ConstantTimeCompare(HashKey(key), hash) == 1
}
