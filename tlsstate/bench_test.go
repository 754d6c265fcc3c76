package tlsstate

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// The handshake benchmarks time only the server's work (ns/op; cpu-ns/op is
// the CPU time of the server's thread alone, see serverCPU) for a full
// handshake with ECDSA P-256 + X25519: the client half (our test client:
// key share, reading the flight, computing its Finished) runs with the
// timer stopped. Both servers see the same ClientHello bytes.

func BenchmarkServerHandshake(b *testing.B) {
	benchFull13(b, testConfig("ecdsa-p256"))
}

func BenchmarkGoServerHandshake(b *testing.B) {
	cert := certs()["ecdsa-p256"]
	cfg := &tls.Config{
		Certificates:           []tls.Certificate{{Certificate: cert.Chain, PrivateKey: cert.Signer, Leaf: cert.Leaf}},
		MinVersion:             tls.VersionTLS13,
		NextProtos:             []string{"http/1.1"},
		SessionTicketsDisabled: true,
	}
	cpu := newServerCPU(b)
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		c, h := newTestClient(b)
		conn := &scriptedConn{b: b, client: c, pending: c.helloRecord(h), cpu: cpu}
		cpu.start()
		err := tls.Server(conn, cfg).Handshake()
		cpu.stop()
		if err != nil {
			b.Fatal(err)
		}
	}
	cpu.report()
}

// scriptedConn plays the client to crypto/tls's server in the server's own
// goroutine: the ClientHello first, then, once the server has written its
// flight, the client's Finished (computed with the timer stopped).
type scriptedConn struct {
	b       *testing.B
	cpu     *serverCPU
	client  *testClient
	pending []byte
	written []byte
	sentFin bool
}

func (s *scriptedConn) Read(p []byte) (int, error) {
	if len(s.pending) == 0 {
		if s.sentFin {
			return 0, io.EOF
		}
		s.cpu.stop()
		s.client.readFlight(s.written)
		s.pending = s.client.protect(typeHandshake, s.client.finished)
		s.sentFin = true
		s.cpu.start()
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *scriptedConn) Write(p []byte) (int, error) {
	s.written = append(s.written, p...)
	return len(p), nil
}

func (s *scriptedConn) Close() error                     { return nil }
func (s *scriptedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (s *scriptedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (s *scriptedConn) SetDeadline(time.Time) error      { return nil }
func (s *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (s *scriptedConn) SetWriteDeadline(time.Time) error { return nil }

func benchSession(b *testing.B, suite CipherSuite) (*Channel, *Channel) {
	s := suiteByID(suite)
	secret := make([]byte, s.hashLen)
	sess := func() *Session {
		return &Session{Version: VersionTLS13, CipherSuite: suite,
			RX: newTrafficKeys(s, append([]byte(nil), secret...)), TX: newTrafficKeys(s, append([]byte(nil), secret...))}
	}
	sealer, err := NewChannel(sess(), &Config{})
	if err != nil {
		b.Fatal(err)
	}
	opener, err := NewChannel(sess(), &Config{})
	if err != nil {
		b.Fatal(err)
	}
	return sealer, opener
}

// BenchmarkRecordsSeal: 16 KiB of application data per op into a reused
// buffer (no allocation).
func BenchmarkRecordsSeal(b *testing.B) {
	for _, suite := range DefaultCipherSuites {
		b.Run(suite.String(), func(b *testing.B) {
			r, _ := benchSession(b, suite)
			data := make([]byte, maxPlaintext)
			out := make([]byte, 0, maxPlaintext+64)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var err error
				if out, err = r.Seal(out[:0], data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecordsOpen: one full 16 KiB record per op into a reused buffer.
func BenchmarkRecordsOpen(b *testing.B) {
	for _, suite := range DefaultCipherSuites {
		b.Run(suite.String(), func(b *testing.B) {
			sealer, opener := benchSession(b, suite)
			record, _ := sealer.Seal(nil, make([]byte, maxPlaintext))
			plain := make([]byte, 0, maxCiphertext13)
			b.SetBytes(maxPlaintext)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				opener.rx.(*recordCipher).seq = 0
				n, p, _, err := opener.Open(record, plain[:0], nil)
				if err != nil || n != len(record) || len(p) != maxPlaintext {
					b.Fatal(err)
				}
			}
		})
	}
}
