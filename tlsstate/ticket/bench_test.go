package ticket

import (
	"crypto/rand"
	"testing"
)

// sessionStateSize is about what a TLS 1.3 resumption state needs: version,
// suite, a 48-byte secret, times, age_add, SNI and ALPN.
const sessionStateSize = 200

func BenchmarkSeal(b *testing.B) {
	k := randomKeys(b)
	state := randomBytes(b, sessionStateSize)
	buf := make([]byte, 0, sessionStateSize+Overhead)
	b.SetBytes(sessionStateSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Seal(buf[:0], state, aad13, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := randomKeys(b)
	ticket := seal(b, k, randomBytes(b, sessionStateSize), aad13)
	buf := make([]byte, 0, sessionStateSize)
	b.SetBytes(sessionStateSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := k.Open(buf[:0], ticket, aad13); !ok {
			b.Fatal("Open failed")
		}
	}
}

// BenchmarkOpenParallel opens on every core at once, as the loops do, to
// show the cost of the shared read lock.
func BenchmarkOpenParallel(b *testing.B) {
	k := randomKeys(b)
	ticket := seal(b, k, randomBytes(b, sessionStateSize), aad13)
	b.SetBytes(sessionStateSize)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 0, sessionStateSize)
		for pb.Next() {
			if _, ok := k.Open(buf[:0], ticket, aad13); !ok {
				b.Error("Open failed")
				return
			}
		}
	})
}

// BenchmarkOpenUnknownName is the cost of turning away a ticket from a key
// this instance does not hold: no decryption is tried.
func BenchmarkOpenUnknownName(b *testing.B) {
	k := randomKeys(b)
	ticket := seal(b, randomKeys(b), randomBytes(b, sessionStateSize), aad13)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := k.Open(nil, ticket, aad13); ok {
			b.Fatal("opened a foreign ticket")
		}
	}
}
