package ticket

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// KeySize is the size of one key's raw material: a name and a secret.
	KeySize = NameSize + secretSize
	// NameSize is the size of a key name, the first bytes of every ticket.
	NameSize = 16
	// Overhead is how many bytes a sealed ticket adds to its plaintext.
	Overhead = NameSize + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead
	// MaxPlaintext is the largest session state Seal accepts. Open rejects
	// any ticket longer than MaxPlaintext+Overhead before looking inside.
	MaxPlaintext = 2048

	secretSize = 64
	nonceSize  = chacha20poly1305.NonceSizeX
	// derivationLabel is the HKDF info that ties a derived key to its one
	// purpose: sealing lwango session tickets with XChaCha20-Poly1305.
	derivationLabel = "lwango session ticket sealing v1: xchacha20-poly1305"
)

// errZeroed is returned by Seal once Zero has been called.
var errZeroed = errors.New("ticket: keys have been zeroed")

// Keys is a set of ticket keys: the first seals, all of them open. See the
// package documentation for the concurrency contract.
type Keys struct {
	// keys holds the current key first, then the previous keys that still
	// open tickets, newest first. A published slice is never modified:
	// Rotate publishes a new one, Zero publishes nil. Seal and Open thus
	// cost one atomic load and share no written cache line.
	keys atomic.Pointer[[]*key]
	// mu serialises Rotate and Zero, the only writers.
	mu sync.Mutex
	// schedule is how random keys rotate; nil for keys from a file, which
	// change only when the operator replaces the file.
	schedule *Schedule
}

// newKeys returns a set publishing keys.
func newKeys(keys []*key, schedule *Schedule) *Keys {
	k := &Keys{schedule: schedule}
	k.keys.Store(&keys)
	return k
}

// snapshot returns the keys published now; nil after Zero.
func (k *Keys) snapshot() []*key {
	if p := k.keys.Load(); p != nil {
		return *p
	}
	return nil
}

// key is one derived ticket key. Its name and aead never change once it is
// published, so readers need no lock; secret, created and retired are
// touched only by Rotate and Zero under Keys.mu.
type key struct {
	name [NameSize]byte
	// secret is the derived AEAD key, kept only so that it can be wiped.
	secret []byte
	aead   cipher.AEAD
	// created is when a random key was made; retired is when it stopped
	// being the current key (zero while it is current). Both stay zero
	// for keys from a file.
	created, retired time.Time
}

// newKey derives a key from 80 bytes of raw material and zeroes them.
func newKey(raw []byte) (*key, error) {
	defer clear(raw)
	k := &key{}
	copy(k.name[:], raw[:NameSize])
	secret, err := hkdf.Key(sha256.New, raw[NameSize:KeySize], k.name[:], derivationLabel, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("ticket: deriving a key: %w", err)
	}
	aead, err := chacha20poly1305.NewX(secret)
	if err != nil {
		clear(secret)
		return nil, fmt.Errorf("ticket: %w", err)
	}
	k.secret, k.aead = secret, aead
	return k, nil
}

// zero wipes the derived key. The AEAD keeps its own copy, in use until the
// last Seal or Open that loaded the key returns; it is garbage after that.
func (k *key) zero() {
	clear(k.secret)
}

// Seal appends to dst a ticket carrying plaintext, sealed under the current
// key with associated data aad and a fresh nonce read from rand, and returns
// the extended slice. dst must not overlap plaintext. It fails if plaintext
// is longer than MaxPlaintext, if rand fails, or after Zero.
func (k *Keys) Seal(dst, plaintext, aad []byte, rand io.Reader) ([]byte, error) {
	if len(plaintext) > MaxPlaintext {
		return dst, fmt.Errorf("ticket: %d bytes of session state, more than the %d a ticket may carry", len(plaintext), MaxPlaintext)
	}
	keys := k.snapshot()
	if len(keys) == 0 {
		return dst, errZeroed
	}
	current := keys[0]
	out := dst
	out = append(out, current.name[:]...)
	start := len(out)
	out = append(out, make([]byte, nonceSize)...)
	nonce := out[start : start+nonceSize]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return dst, fmt.Errorf("ticket: reading a nonce: %w", err)
	}
	return current.aead.Seal(out, nonce, plaintext, aad), nil
}

// Open appends to dst the plaintext of a ticket sealed by one of the keys
// with associated data aad, and returns the extended slice and true. For
// anything else (a ticket too short or too long, an unknown key name, a
// wrong aad, a tampered byte, keys that were zeroed) it returns dst and
// false, without saying which: the caller just falls back to a full
// handshake. dst must not overlap ticket.
func (k *Keys) Open(dst, ticket, aad []byte) ([]byte, bool) {
	if len(ticket) < Overhead || len(ticket) > MaxPlaintext+Overhead {
		return dst, false
	}
	name := [NameSize]byte(ticket[:NameSize])
	nonce := ticket[NameSize : NameSize+nonceSize]
	ciphertext := ticket[NameSize+nonceSize:]
	for _, candidate := range k.snapshot() {
		if candidate.name != name {
			continue
		}
		out, err := candidate.aead.Open(dst, nonce, ciphertext, aad)
		if err != nil {
			return dst, false
		}
		return out, true
	}
	return dst, false
}

// Zero wipes every key of the set. Afterwards Seal fails and Open returns
// false; a Seal or Open already running finishes normally.
func (k *Keys) Zero() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, old := range k.snapshot() {
		old.zero()
	}
	k.keys.Store(nil)
}
