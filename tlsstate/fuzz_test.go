package tlsstate

import (
	"bytes"
	"crypto/ecdh"
	"testing"
)

// constantReader is an endless deterministic random source for fuzzing.
type constantReader byte

func (c constantReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func fuzzSeeds(f *testing.F) [][]byte {
	v := rfc8448(f)
	priv, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{7}, 32))
	h := newHello(priv)
	h.random = make([]byte, 32)
	valid := h.marshal()
	return [][]byte{v["client_hello"], valid, h.set(extEarlyData, nil).marshal()}
}

// FuzzClientHello: the parser never panics, and whatever it accepts it
// accepts consistently.
func FuzzClientHello(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ch, err := parseClientHello(bytes.Clone(msg))
		if (ch == nil) == (err == nil) {
			t.Fatalf("result %v with error %v", ch != nil, err)
		}
		if ch != nil && len(ch.random) != 32 {
			t.Fatal("accepted a ClientHello without a 32-byte random")
		}
	})
}

// FuzzHandshake feeds arbitrary bytes, cut into reads at arbitrary points,
// to a whole server: no panic, no hang, whole records only, and once it has
// finished it stays finished.
func FuzzHandshake(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		rec := plainRecord(typeHandshake, s)
		f.Add(rec, uint8(5))
		f.Add(append(rec, plainRecord(typeChangeCipherSpec, []byte{1})...), uint8(0))
	}
	cfg := &Config{Certificates: []*Certificate{certs()["ecdsa-p256"]}, Rand: constantReader(0x42), TicketKeys: fuzzTicketKeys()}
	// A ClientHello offering a ticket of cfg's, with a valid binder.
	it := firstTicket13(f, cfg)
	c, h := newTestClient(f)
	f.Add(offerPSK(pskOffer{identities: [][]byte{it.ticket}, ages: []uint32{it.ageAdd}, psk: it.psk, suite: suiteByID(AES128GCMSHA256)})(c, h), uint8(7))
	f.Fuzz(func(t *testing.T, input []byte, cut uint8) {
		srv := NewServer(cfg)
		var buf, out []byte
		step := int(cut) + 1
		for len(input) > 0 || len(buf) > 0 {
			n := min(step, len(input))
			buf = append(buf, input[:n]...)
			input = input[n:]
			consumed, o, p := srv.Advance(buf, out[:0])
			out = o
			if consumed > len(buf) {
				t.Fatalf("consumed %d of %d", consumed, len(buf))
			}
			buf = buf[consumed:]
			if p == Failed || p == Complete {
				if c, o, p2 := srv.Advance(buf, nil); c != 0 || len(o) != 0 || p2 != p {
					t.Fatalf("finished server moved: %d %d %v", c, len(o), p2)
				}
				return
			}
			if n == 0 {
				return // only a partial record is left
			}
		}
	})
}
