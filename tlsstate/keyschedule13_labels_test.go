package tlsstate

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"testing"
)

// referenceExpandLabel is HKDF-Expand-Label through crypto/hkdf, as RFC 8446
// §7.1 defines it.
func referenceExpandLabel(t *testing.T, s *suiteInfo, secret []byte, label string, context []byte, length int) []byte {
	t.Helper()
	info := []byte{byte(length >> 8), byte(length), byte(len("tls13 ") + len(label))}
	info = append(info, "tls13 "+label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	out, err := hkdf.Expand(s.newHash, secret, string(info), length)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLabelsMatchHKDF checks the one-HMAC-per-secret HKDF-Expand-Label
// against crypto/hkdf for every suite, the labels and lengths the key
// schedule uses, several labels taken in turn from one secret.
func TestLabelsMatchHKDF(t *testing.T) {
	for i := range suites {
		s := &suites[i]
		secret := make([]byte, s.hashLen)
		context := make([]byte, s.hashLen)
		rand.Read(secret)
		rand.Read(context)
		l := s.labels(secret)
		for _, c := range []struct {
			label   string
			context []byte
			length  int
		}{
			{"key", nil, s.keyLen},
			{"iv", nil, ivLen},
			{"finished", nil, s.hashLen},
			{"c hs traffic", context, s.hashLen},
			{"s ap traffic", context, s.hashLen},
			{"resumption", context[:8], s.hashLen},
			{"derived", s.emptyHash(), s.hashLen},
			{"key", nil, s.keyLen}, // again after others: Reset restores the key
		} {
			want := referenceExpandLabel(t, s, secret, c.label, c.context, c.length)
			if got := l.expand(c.label, c.context, c.length); !bytes.Equal(got, want) {
				t.Errorf("%s %q: %x, want %x", s.name, c.label, got, want)
			}
			if got := s.expandLabel(secret, c.label, c.context, c.length); !bytes.Equal(got, want) {
				t.Errorf("%s expandLabel %q: %x, want %x", s.name, c.label, got, want)
			}
		}
	}
}
