package ticket

import (
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// epoch is an arbitrary fixed start for clocks in tests.
var epoch = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// aad13 and aad12 are the labels a TLS layer would pass for its two kinds of
// tickets.
var (
	aad13 = []byte("lwango tls13 resumption")
	aad12 = []byte("lwango tls12 resumption")
)

// failingReader is a random source that has run dry.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

var _ io.Reader = failingReader{}

// randomKeys returns a fresh in-memory key set on the default schedule.
func randomKeys(t testing.TB) *Keys {
	t.Helper()
	k, err := NewRandom(rand.Reader, epoch, DefaultSchedule)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writeKeyFile writes content to a new file with the given mode and returns
// its path.
func writeKeyFile(t testing.TB, content []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ticket.key")
	if err := os.WriteFile(path, content, mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is filtered by the umask; set it exactly.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// seal seals plaintext under k or fails the test.
func seal(t testing.TB, k *Keys, plaintext, aad []byte) []byte {
	t.Helper()
	ticket, err := k.Seal(nil, plaintext, aad, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ticket
}

// opens reports whether k opens ticket under aad.
func opens(k *Keys, ticket, aad []byte) bool {
	_, ok := k.Open(nil, ticket, aad)
	return ok
}
