package tlsstate

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/sys/unix"
)

// Resumption benchmarks: only the server's work is timed, as in
// bench_test.go. A resumed TLS 1.3 handshake still runs ECDHE (psk_dhe_ke)
// but signs nothing and sends no certificate; both servers issue tickets
// after it (ours 2, crypto/tls 1), as they do after a full handshake here
// too, so that every figure includes the same kind of work.

// serverCPU measures the CPU time of the benchmark's own OS thread while
// the server works, which, unlike ns/op, does not grow when other
// processes compete for the CPU (the timer's own stops and starts are not
// in it either). It is reported as cpu-ns/op.
type serverCPU struct {
	b            *testing.B
	total, began time.Duration
}

// newServerCPU locks the benchmark to its thread until the end.
func newServerCPU(b *testing.B) *serverCPU {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	return &serverCPU{b: b}
}

func threadCPUTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

// start and stop bracket the server's work, with the benchmark timer.
func (c *serverCPU) start() {
	c.b.StartTimer()
	c.began = threadCPUTime()
}

func (c *serverCPU) stop() {
	c.total += threadCPUTime() - c.began
	c.b.StopTimer()
}

func (c *serverCPU) report() {
	c.b.ReportMetric(float64(c.total.Nanoseconds())/float64(c.b.N), "cpu-ns/op")
}

// benchFull13 times full TLS 1.3 handshakes with cfg.
func benchFull13(b *testing.B, cfg *Config) {
	cpu := newServerCPU(b)
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		c, h := newTestClient(b)
		hello := c.helloRecord(h)
		cpu.start()
		srv := NewServer(cfg)
		_, out, _ := srv.Advance(hello, make([]byte, 0, 4096))
		cpu.stop()
		c.readFlight(out)
		finished := c.protect(typeHandshake, c.finished)
		cpu.start()
		_, _, p := srv.Advance(finished, nil)
		srv.Session().Zero()
		cpu.stop()
		if p != Complete {
			b.Fatalf("%v %v", p, srv.Failure())
		}
	}
	cpu.report()
}

// BenchmarkServerHandshakeFull13Tickets: a full handshake (ECDSA P-256,
// x25519) that issues two tickets, the baseline of the resumed one.
func BenchmarkServerHandshakeFull13Tickets(b *testing.B) {
	for _, certName := range []string{"ecdsa-p256", "rsa-2048"} {
		b.Run(certName, func(b *testing.B) {
			benchFull13(b, ticketConfig(certName, randomTicketKeys(b)))
		})
	}
}

// BenchmarkServerHandshakeResumed13: a resumed handshake (x25519, binder,
// no certificate) that issues two fresh tickets.
func BenchmarkServerHandshakeResumed13(b *testing.B) {
	for _, certName := range []string{"ecdsa-p256", "rsa-2048"} {
		b.Run(certName, func(b *testing.B) {
			cfg := ticketConfig(certName, randomTicketKeys(b))
			it := firstTicket13(b, cfg)
			offer := pskOffer{identities: [][]byte{it.ticket}, ages: []uint32{it.ageAdd}, psk: it.psk, suite: suiteByID(AES128GCMSHA256)}
			cpu := newServerCPU(b)
			b.ReportAllocs()
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				c, h := newTestClient(b)
				hello := offerPSK(offer)(c, h)
				cpu.start()
				srv := NewServer(cfg)
				_, out, _ := srv.Advance(hello, make([]byte, 0, 4096))
				cpu.stop()
				c.readFlight(out)
				if !c.pskAccepted {
					b.Fatal("not resumed")
				}
				finished := c.protect(typeHandshake, c.finished)
				cpu.start()
				_, _, p := srv.Advance(finished, nil)
				srv.Session().Zero()
				cpu.stop()
				if p != Complete {
					b.Fatalf("%v %v", p, srv.Failure())
				}
			}
			cpu.report()
		})
	}
}

// firstTicket13 runs one full scripted handshake and returns its first
// ticket.
func firstTicket13(b testing.TB, cfg *Config) issuedTicket {
	c, h := newTestClient(b)
	srv := NewServer(cfg)
	_, out, _ := srv.Advance(c.helloRecord(h), nil)
	c.readFlight(out)
	_, out, p := srv.Advance(c.protect(typeHandshake, c.finished), nil)
	if p != Complete {
		b.Fatal(srv.Failure())
	}
	return c.readTickets(out)[0]
}

// BenchmarkGoServerHandshakeResumed13 is the same resumed handshake
// against crypto/tls's server, with the session a Go client got from it.
func BenchmarkGoServerHandshakeResumed13(b *testing.B) {
	for _, certName := range []string{"ecdsa-p256", "rsa-2048"} {
		b.Run(certName, func(b *testing.B) {
			cert := certs()[certName]
			cfg := &tls.Config{
				Certificates: []tls.Certificate{{Certificate: cert.Chain, PrivateKey: cert.Signer, Leaf: cert.Leaf}},
				MinVersion:   tls.VersionTLS13,
				NextProtos:   []string{"http/1.1"},
			}
			identity, psk, ageAdd := goSession13(b, cfg)
			offer := pskOffer{identities: [][]byte{identity}, ages: []uint32{ageAdd}, psk: psk, suite: suiteByID(AES128GCMSHA256)}
			cpu := newServerCPU(b)
			b.ReportAllocs()
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				c, h := newTestClient(b)
				conn := &scriptedConn{b: b, client: c, pending: offerPSK(offer)(c, h), cpu: cpu}
				cpu.start()
				server := tls.Server(conn, cfg)
				err := server.Handshake()
				cpu.stop()
				if err != nil {
					b.Fatal(err)
				}
				if !server.ConnectionState().DidResume {
					b.Fatal("crypto/tls did not resume")
				}
			}
			cpu.report()
		})
	}
}

// goSession13 runs Go's client against Go's server with cfg and returns the
// client's ticket, resumption PSK and ticket_age_add.
func goSession13(b *testing.B, cfg *tls.Config) (identity, psk []byte, ageAdd uint32) {
	cache := tls.NewLRUClientSessionCache(1)
	cconn, sconn := net.Pipe()
	defer cconn.Close()
	defer sconn.Close()
	go func() {
		s := tls.Server(sconn, cfg)
		if s.Handshake() == nil {
			s.Write([]byte("x"))
		}
	}()
	client := tls.Client(cconn, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost",
		MinVersion: tls.VersionTLS13, ClientSessionCache: cache, CurvePreferences: []tls.CurveID{tls.X25519}})
	cconn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != nil {
		b.Fatal(err)
	}
	session, ok := cache.Get("localhost")
	if !ok {
		b.Fatal("Go's client cached no session")
	}
	identity, state, err := session.ResumptionState()
	if err != nil {
		b.Fatal(err)
	}
	// SessionState.Bytes: version, type, suite, created_at, then the
	// secret (the PSK for a TLS 1.3 client); a client's encoding ends with
	// use_by and age_add.
	enc, err := state.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	s := cryptobyte.String(enc[2+1+2+8:])
	var secret cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&secret) {
		b.Fatal("cannot read the session secret")
	}
	return identity, secret, binary.BigEndian.Uint32(enc[len(enc)-4:])
}

// BenchmarkServerHandshakeResumed12: the abbreviated TLS 1.2 handshake
// (no key exchange, no signature) issuing a fresh ticket, beside the full
// one (BenchmarkServerHandshake12).
func BenchmarkServerHandshakeResumed12(b *testing.B) {
	cfg := ticketConfig("ecdsa-p256", randomTicketKeys(b))
	c := &testClient12{t: b}
	h := newHello12(randomBytes(32))
	withTicket(nil)(h)
	srv := NewServer(cfg)
	_, out, _ := srv.Advance(c.helloRecord(h), nil)
	c.readServerFlight(out, cfg.Certificates[0])
	_, out, _ = srv.Advance(c.finalFlight(), nil)
	ticket, _, _ := c.splitTicket12(out)
	master := c.master
	cpu := newServerCPU(b)
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		c := &testClient12{t: b}
		h := newHello12(randomBytes(32))
		withTicket(ticket)(h)
		hello := c.helloRecord(h)
		cpu.start()
		srv := NewServer(cfg)
		_, out, _ := srv.Advance(hello, make([]byte, 0, 2048))
		cpu.stop()
		in := c.resumedClientFlight12(out, master)
		cpu.start()
		_, _, p := srv.Advance(in, nil)
		srv.Session().Zero()
		cpu.stop()
		if p != Complete {
			b.Fatalf("%v %v", p, srv.Failure())
		}
	}
	cpu.report()
}

// resumedClientFlight12 reads the server's abbreviated flight (without
// checking it: the tests do) and returns the client's ChangeCipherSpec and
// Finished.
func (c *testClient12) resumedClientFlight12(out, master []byte) []byte {
	var msgs []byte
	for out[0] == byte(typeHandshake) {
		rec, n, _ := nextRecord(out, maxCiphertext12)
		msgs = append(msgs, rec.payload...)
		out = out[n:]
	}
	sidLen := int(msgs[4+2+32])
	c.serverRandom = msgs[6:38]
	suiteAt := 4 + 2 + 32 + 1 + sidLen
	c.suite = suite12ByID(CipherSuite(binary.BigEndian.Uint16(msgs[suiteAt:])))
	c.transcript = c.suite.newHash()
	c.transcript.Write(c.hello)
	c.transcript.Write(msgs)
	c.transcript.Write(finishedMessage(c.suite.finishedVerifyData(master, serverFinishedLabel, c.transcript.Sum(nil))))
	kb := c.suite.keyBlock(master, c.random, c.serverRandom)
	c.tx, _ = newRecordCipher12(c.suite, kb.clientKey, kb.clientIV)
	fin := finishedMessage(c.suite.finishedVerifyData(master, clientFinishedLabel, c.transcript.Sum(nil)))
	return append(plainRecord(typeChangeCipherSpec, []byte{1}), c.protect(typeHandshake, fin)...)
}
