package tlsstate

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"lwango/internal/testpki"
)

// Test certificates, generated once per test binary.
var (
	testCertsOnce sync.Once
	testCerts     map[string]*Certificate
)

func makeTestCertificate(signer crypto.Signer) *Certificate {
	return namedCertificate(signer, "localhost")
}

// certs returns certificates keyed "ecdsa-p256", "ecdsa-p384", "rsa-2048",
// "ed25519".
func certs() map[string]*Certificate {
	testCertsOnce.Do(func() {
		key := func(kind string) crypto.Signer {
			k, err := testpki.Key(kind)
			if err != nil {
				panic(err)
			}
			return k
		}
		p256, p384, rsaKey, edKey := key("ecdsa-p256"), key("ecdsa-p384"), key("rsa-2048"), key("ed25519")
		testCerts = map[string]*Certificate{
			"ecdsa-p256": makeTestCertificate(p256),
			"ecdsa-p384": makeTestCertificate(p384),
			"rsa-2048":   makeTestCertificate(rsaKey),
			"ed25519":    makeTestCertificate(edKey),
		}
	})
	return testCerts
}

func testConfig(cert string) *Config {
	return &Config{Certificates: []*Certificate{certs()[cert]}}
}

// clientConfig trusts exactly the server certificate (by DER) and logs the
// client's secrets.
func clientConfig(cert *Certificate, keyLog io.Writer) *tls.Config {
	return &tls.Config{
		ServerName:         "localhost",
		InsecureSkipVerify: true, // replaced by the exact check below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) != 1 || !bytes.Equal(cs.PeerCertificates[0].Raw, cert.Chain[0]) {
				return errors.New("server sent another certificate")
			}
			return nil
		},
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"http/1.1"},
		KeyLogWriter: keyLog,
	}
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// stallLimit is how long a test's peer may go without moving a byte: a
// guard against a hang, not a speed limit.
const stallLimit = time.Minute

// progressConn gives every Read, and every 64 KiB of a Write, a deadline of
// its own (stallLimit), where one deadline for a whole transfer of
// megabytes would be a speed limit: under the race detector on a loaded
// 2-core machine 10 MiB each way took more than 20 s.
type progressConn struct{ net.Conn }

func (c progressConn) Read(p []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(stallLimit))
	return c.Conn.Read(p)
}

func (c progressConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c.SetWriteDeadline(time.Now().Add(stallLimit))
		m, err := c.Conn.Write(p[n:min(len(p), n+64<<10)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// runServerHandshake plays the event loop's part for one handshake over a
// blocking conn: read, Advance, write. It returns the server, its final
// progress and the bytes read past the client's Finished.
func runServerHandshake(conn net.Conn, cfg *Config) (*Server, Progress, []byte, error) {
	srv := NewServer(cfg)
	buf := make([]byte, 0, 1<<16)
	var out []byte
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetDeadline(time.Time{})
	for {
		var consumed int
		var p Progress
		consumed, out, p = srv.Advance(buf, out[:0])
		buf = append(buf[:0], buf[consumed:]...)
		if len(out) > 0 {
			if _, err := conn.Write(out); err != nil {
				return srv, p, buf, err
			}
		}
		if p != NeedInput {
			return srv, p, buf, nil
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return srv, p, buf, err
		}
		buf = buf[:len(buf)+n]
	}
}

// keyLog collects the client's NSS key log lines.
type keyLog struct {
	mu    sync.Mutex
	lines map[string][]byte
}

func (k *keyLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lines == nil {
		k.lines = map[string][]byte{}
	}
	var label, random, secret string
	if _, err := fmt.Sscan(string(p), &label, &random, &secret); err == nil {
		var b []byte
		fmt.Sscanf(secret, "%x", &b)
		k.lines[label] = b
	}
	return len(p), nil
}

func (k *keyLog) get(label string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lines[label]
}

// alertRecord is a plaintext fatal alert record as this server sends it
// before the ServerHello.
func alertRecord(a Alert) []byte {
	return []byte{21, 3, 3, 0, 2, 2, byte(a)}
}

func isErrContaining(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}
