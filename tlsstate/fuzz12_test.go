package tlsstate

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"lwango/tlsstate/ticket"
)

var (
	fuzzKeysOnce sync.Once
	fuzzKeys     *ticket.Keys
)

// fuzzTicketKeys is one deterministic ticket key for the fuzz targets, so
// that their seeds carry tickets the server opens.
func fuzzTicketKeys() *ticket.Keys {
	fuzzKeysOnce.Do(func() {
		k, err := ticket.NewRandom(constantReader(0x24), time.Unix(0, 0), ticket.DefaultSchedule)
		if err != nil {
			panic(err)
		}
		fuzzKeys = k
	})
	return fuzzKeys
}

// fuzzConfig12 is deterministic end to end (fixed randomness, Ed25519
// signatures), so a recorded client flight stays valid for every run and
// mutations of it reach every TLS 1.2 state, up to and past Complete.
func fuzzConfig12() *Config {
	return &Config{Certificates: []*Certificate{certs()["ed25519"]}, Rand: constantReader(0x42), TicketKeys: fuzzTicketKeys()}
}

// fuzzSeeds12 records whole valid TLS 1.2 client inputs: ClientHello, then
// ClientKeyExchange, ChangeCipherSpec, Finished, and a request; and one
// that resumes with a ticket: ClientHello, ChangeCipherSpec, Finished.
func fuzzSeeds12(f *testing.F) [][]byte {
	var seeds [][]byte
	withEmptyTicket := newHello12(bytes.Repeat([]byte{9}, 32))
	withTicket(nil)(withEmptyTicket)
	for _, spec := range []*helloSpec{
		newHello12(bytes.Repeat([]byte{7}, 32)),
		newHello12(bytes.Repeat([]byte{8}, 32)).remove(extExtendedMasterSec),
		withEmptyTicket,
	} {
		c := &testClient12{t: f}
		srv := NewServer(fuzzConfig12())
		hello := c.helloRecord(spec)
		_, out, _ := srv.Advance(hello, nil)
		c.readServerFlight(out, certs()["ed25519"])
		flight := c.finalFlight()
		if _, _, p := srv.Advance(flight, nil); p != Complete {
			f.Fatalf("seed handshake: %v %v", p, srv.Failure())
		}
		request := c.protect(typeApplicationData, []byte("GET / HTTP/1.1\r\n\r\n"))
		seeds = append(seeds, append(append(hello, flight...), request...))
	}
	// Resume the last session from the ticket it got.
	c := &testClient12{t: f}
	srv := NewServer(fuzzConfig12())
	_, out, _ := srv.Advance(c.helloRecord(withEmptyTicket), nil)
	c.readServerFlight(out, certs()["ed25519"])
	_, out, _ = srv.Advance(c.finalFlight(), nil)
	sealed, _, _ := c.splitTicket12(out)
	resume := newHello12(bytes.Repeat([]byte{10}, 32))
	withTicket(sealed)(resume)
	r := &testClient12{t: f}
	hello := r.helloRecord(resume)
	srv = NewServer(fuzzConfig12())
	_, out, _ = srv.Advance(hello, nil)
	flight := r.resumedClientFlight12(out, c.master)
	if _, _, p := srv.Advance(flight, nil); p != Complete || !srv.Session().Resumed {
		f.Fatalf("seed resumption: %v %v", p, srv.Failure())
	}
	return append(seeds, append(hello, flight...))
}

// FuzzHandshake12 drives the TLS 1.2 path with arbitrary input cut into
// reads at arbitrary points: no panic, no hang, whole records only, a
// finished server stays finished, and a completed one hands over keys at
// sequence number 1.
func FuzzHandshake12(f *testing.F) {
	for _, s := range fuzzSeeds12(f) {
		f.Add(s, uint8(0xff))
		f.Add(s, uint8(6))
	}
	cfg := fuzzConfig12()
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
			if p == Complete {
				sess := srv.Session()
				if sess.Version == VersionTLS12 && (sess.RX.Seq != 1 || sess.TX.Seq != 1) {
					t.Fatalf("TLS 1.2 session at sequence %d/%d", sess.RX.Seq, sess.TX.Seq)
				}
				if r, err := NewChannel(sess, cfg); err == nil {
					r.Open(append(buf, input...), nil, nil)
					r.Zero()
				}
			}
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
