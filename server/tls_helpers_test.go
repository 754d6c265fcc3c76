package server

import (
	"bufio"
	"crypto"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"lwango/internal/testpki"
)

// certKinds are the server key types tested: every kind tlsstate signs with.
var certKinds = []string{"ecdsa-p256", "rsa-2048", "ed25519"}

// testKeys holds one PEM certificate and key per kind, made once per test
// binary (RSA key generation is slow).
var testKeys struct {
	once sync.Once
	pems map[string][2][]byte // kind -> cert, key
	err  error
}

// certFiles writes the certificate and key of a kind into a temporary
// directory and returns their paths.
func certFiles(t testing.TB, kind string) (certFile, keyFile string) {
	t.Helper()
	testKeys.once.Do(func() {
		testKeys.pems = map[string][2][]byte{}
		for _, k := range certKinds {
			key, err := testpki.Key(k)
			if err != nil {
				testKeys.err = err
				return
			}
			cert, keyPEM, err := selfSigned(key)
			if err != nil {
				testKeys.err = err
				return
			}
			testKeys.pems[k] = [2][]byte{cert, keyPEM}
		}
	})
	if testKeys.err != nil {
		t.Fatal(testKeys.err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, kind+".crt"), filepath.Join(dir, kind+".key")
	pems := testKeys.pems[kind]
	if err := os.WriteFile(certFile, pems[0], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pems[1], 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// selfSigned makes a localhost certificate for key, in PEM with the key.
func selfSigned(key crypto.Signer) (certPEM, keyPEM []byte, err error) {
	der, _, err := testpki.Mint(testpki.Spec{Names: []string{"localhost"}}, key, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	return testpki.PEM(der, key)
}

// tlsServer is a running server with its own TLS on a loopback port.
type tlsServer struct {
	srv       *Server
	site      *testSite
	plainAddr string
	tlsAddr   string
	log       *syncBuffer
}

// startTLS runs the real server (our handshake and records) with a
// [tls_listener] made of tlsLines, serving the test site, its access log
// kept in log.
func startTLS(t testing.TB, tlsLines string, opts Options) *tlsServer {
	t.Helper()
	log := &syncBuffer{}
	opts.AccessLog = log
	s := startTLSServer(t, tlsLines, opts)
	s.log = log
	return s
}

// startQuietTLS is startTLS without an access log (benchmarks).
func startQuietTLS(t testing.TB, tlsLines string) *tlsServer {
	t.Helper()
	return startTLSServer(t, tlsLines, Options{})
}

func startTLSServer(t testing.TB, tlsLines string, opts Options) *tlsServer {
	t.Helper()
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "threads = 1\n[tls_listener]\naddress = \"127.0.0.1:0\"\n"+tlsLines)
	cfg.Quiet = opts.AccessLog == nil
	srv, addr := startServer(t, cfg, opts)
	tlsAddr, ok := srv.TLSAddr()
	if !ok {
		t.Fatal("no TLS listener bound")
	}
	return &tlsServer{srv: srv, site: ts, plainAddr: addr, tlsAddr: tlsAddr.String()}
}

// certLines is the [tls_listener] cert and key of a kind.
func certLines(t testing.TB, kind string) string {
	certFile, keyFile := certFiles(t, kind)
	return fmt.Sprintf("cert = %q\nkey = %q\n", certFile, keyFile)
}

// tlsDial opens a crypto/tls client connection (the test peer) to addr.
func tlsDial(t testing.TB, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.InsecureSkipVerify = true
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// get sends a GET on c and reads the response with its body.
func get(t testing.TB, c net.Conn, r *bufio.Reader, path string) (*http.Response, []byte) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path); err != nil {
		t.Fatalf("sending GET %s: %v", path, err)
	}
	resp, err := http.ReadResponse(r, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s body: %v", path, err)
	}
	return resp, body
}
