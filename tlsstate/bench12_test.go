package tlsstate

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// The TLS 1.2 handshake benchmarks time only the server's work for a full
// ECDHE-ECDSA-AES128-GCM handshake with a P-256 certificate over x25519 and
// the extended master secret: the scripted client's half runs with the
// timer stopped. Both servers see the same kind of ClientHello.

func BenchmarkServerHandshake12(b *testing.B) {
	cfg := testConfig("ecdsa-p256")
	cpu := newServerCPU(b)
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		c := &testClient12{t: b}
		hello := c.helloRecord(newHello12(randomBytes(32)))
		cpu.start()
		srv := NewServer(cfg)
		_, out, _ := srv.Advance(hello, make([]byte, 0, 2048))
		cpu.stop()
		c.readServerFlight(out, cfg.Certificates[0])
		flight := c.finalFlight()
		cpu.start()
		_, _, p := srv.Advance(flight, nil)
		srv.Session().Zero()
		cpu.stop()
		if p != Complete {
			b.Fatalf("%v %v", p, srv.Failure())
		}
	}
	cpu.report()
}

func BenchmarkGoServerHandshake12(b *testing.B) {
	cert := certs()["ecdsa-p256"]
	cfg := &tls.Config{
		Certificates:           []tls.Certificate{{Certificate: cert.Chain, PrivateKey: cert.Signer, Leaf: cert.Leaf}},
		MaxVersion:             tls.VersionTLS12,
		NextProtos:             []string{"http/1.1"},
		SessionTicketsDisabled: true,
	}
	cpu := newServerCPU(b)
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		c := &testClient12{t: b}
		conn := &scriptedConn12{cpu: cpu, client: c, cert: cert, pending: c.helloRecord(newHello12(randomBytes(32)))}
		cpu.start()
		err := tls.Server(conn, cfg).Handshake()
		cpu.stop()
		if err != nil {
			b.Fatal(err)
		}
	}
	cpu.report()
}

// scriptedConn12 plays the TLS 1.2 client to crypto/tls's server: the
// ClientHello first, then, once the server has written its flight, the
// client's ClientKeyExchange, ChangeCipherSpec and Finished (computed with
// the timer stopped).
type scriptedConn12 struct {
	cpu     *serverCPU
	client  *testClient12
	cert    *Certificate
	pending []byte
	written []byte
	sentFin bool
}

func (s *scriptedConn12) Read(p []byte) (int, error) {
	if len(s.pending) == 0 {
		if s.sentFin {
			return 0, io.EOF
		}
		s.cpu.stop()
		s.client.readServerFlight(s.written, s.cert)
		s.pending = s.client.finalFlight()
		s.sentFin = true
		s.cpu.start()
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *scriptedConn12) Write(p []byte) (int, error) {
	s.written = append(s.written, p...)
	return len(p), nil
}

func (s *scriptedConn12) Close() error                     { return nil }
func (s *scriptedConn12) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (s *scriptedConn12) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (s *scriptedConn12) SetDeadline(time.Time) error      { return nil }
func (s *scriptedConn12) SetReadDeadline(time.Time) error  { return nil }
func (s *scriptedConn12) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkRecords12Seal: 16 KiB of application data per op through the
// TLS 1.2 record layer into a reused buffer.
func BenchmarkRecords12Seal(b *testing.B) {
	for _, id := range []CipherSuite{ECDHERSAWithAES128GCMSHA256, ECDHERSAWithAES256GCMSHA384, ECDHERSAWithChaCha20Poly1305SHA256} {
		b.Run(id.String(), func(b *testing.B) {
			s := suite12ByID(id)
			sess := &Session{Version: VersionTLS12, CipherSuite: id,
				RX: TrafficKeys{Key: make([]byte, s.keyLen), IV: make([]byte, s.fixedIVLen), Seq: 1},
				TX: TrafficKeys{Key: make([]byte, s.keyLen), IV: make([]byte, s.fixedIVLen), Seq: 1}}
			r, err := NewChannel(sess, &Config{})
			if err != nil {
				b.Fatal(err)
			}
			data := make([]byte, maxPlaintext)
			out := make([]byte, 0, maxPlaintext+64)
			b.SetBytes(maxPlaintext)
			b.ReportAllocs()
			for b.Loop() {
				if out, err = r.Seal(out[:0], data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
