package ticket

import (
	"crypto/rand"
	"io"
	mathrand "math/rand/v2"
	"testing"
)

// sessionStateSize is about what a TLS 1.3 resumption state needs: version,
// suite, a 48-byte secret, times, age_add, SNI and ALPN.
const sessionStateSize = 200

// BenchmarkSeal is the cost of sealing itself, with nonces from a fast
// in-process generator.
func BenchmarkSeal(b *testing.B) {
	benchmarkSeal(b, mathrand.NewChaCha8([32]byte{}))
}

// BenchmarkSealCryptoRand adds the cost of reading each nonce from
// crypto/rand, the source a server would inject.
func BenchmarkSealCryptoRand(b *testing.B) {
	benchmarkSeal(b, rand.Reader)
}

func benchmarkSeal(b *testing.B, nonces io.Reader) {
	k := randomKeys(b)
	state := randomBytes(b, sessionStateSize)
	buf := make([]byte, 0, sessionStateSize+Overhead)
	b.SetBytes(sessionStateSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Seal(buf[:0], state, aad13, nonces); err != nil {
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

// BenchmarkOpenParallel opens on every core at once, as the loops do: with
// no lock, it should scale with the cores.
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
