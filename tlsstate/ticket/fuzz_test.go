package ticket

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzOpen feeds arbitrary tickets and labels to Open on a set holding a
// current and a previous key. Open must not panic, must leave dst intact
// when it fails, and must open nothing but the tickets the set itself sealed.
func FuzzOpen(f *testing.F) {
	seed := rand.NewChaCha8([32]byte{1})
	k, err := NewRandom(seed, epoch, DefaultSchedule)
	if err != nil {
		f.Fatal(err)
	}
	previous, err := k.Seal(nil, []byte("sealed by the previous key"), aad12, seed)
	if err != nil {
		f.Fatal(err)
	}
	if err := k.Rotate(seed, epoch.Add(DefaultSchedule.Issue)); err != nil {
		f.Fatal(err)
	}
	current, err := k.Seal(nil, []byte("sealed by the current key"), aad13, seed)
	if err != nil {
		f.Fatal(err)
	}
	genuine := map[string]string{string(previous): string(aad12), string(current): string(aad13)}

	f.Add(previous, aad12)
	f.Add(current, aad13)
	f.Add(current, aad12)
	f.Add(current[:Overhead], aad13)
	f.Add(current[:NameSize], aad13)
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, MaxPlaintext+Overhead+1), aad13)
	f.Fuzz(func(t *testing.T, ticket, aad []byte) {
		dst := []byte("dst")
		got, ok := k.Open(dst, ticket, aad)
		if !ok {
			if !bytes.Equal(got, dst) {
				t.Fatalf("failed Open returned %q, want dst unchanged", got)
			}
			return
		}
		if label, sealed := genuine[string(ticket)]; !sealed || label != string(aad) {
			t.Fatalf("Open accepted a ticket the keys never sealed: %x (aad %q)", ticket, aad)
		}
	})
}
