package tlsstate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// Real TLS clients (OpenSSL, GnuTLS, curl) against our handshake and record
// layer through a loopback socket. CI installs all three, so there a
// missing binary fails its test; elsewhere it skips.

// serveOne accepts one connection, runs our handshake and record layer,
// reads until complete(request) is true, answers with response, sends
// close_notify and drains until the client is gone.
func serveOne(t *testing.T, cfg *Config, complete func([]byte) bool, response []byte) (addr string, result chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	result = make(chan error, 1)
	go func() {
		defer ln.Close()
		conn, err := ln.Accept()
		if err != nil {
			result <- err
			return
		}
		defer conn.Close()
		result <- serveConn(conn, cfg, complete, response)
	}()
	return ln.Addr().String(), result
}

func serveConn(conn net.Conn, cfg *Config, complete func([]byte) bool, response []byte) error {
	srv, p, rest, err := runServerHandshake(conn, cfg)
	if err != nil || p != Complete {
		return fmt.Errorf("handshake: %v %v %v", p, err, srv.Failure())
	}
	r, err := NewChannel(srv.Session(), cfg)
	if err != nil {
		return err
	}
	defer r.Zero()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := append(make([]byte, 0, 1<<16), rest...)
	var request []byte
	answered := false
	for {
		n, plain, reply, err := r.Open(buf, request, nil)
		request = plain
		buf = append(buf[:0], buf[n:]...)
		if !answered && complete(request) {
			if reply, err = r.Seal(reply, response); err != nil {
				return err
			}
			reply = r.CloseNotify(reply)
			answered = true
		}
		if len(reply) > 0 {
			conn.Write(reply)
		}
		if errors.Is(err, io.EOF) {
			if !answered {
				return fmt.Errorf("client closed after %q", request)
			}
			return nil
		}
		if err != nil {
			return err
		}
		m, rerr := conn.Read(buf[len(buf):cap(buf)])
		if rerr != nil {
			if answered {
				return nil // the client left without close_notify
			}
			return rerr
		}
		buf = buf[:len(buf)+m]
	}
}

func lineComplete(b []byte) bool { return bytes.Contains(b, []byte("ping\n")) }

// runInteractive starts a client that talks over stdin/stdout, writes
// "ping\n", waits for "pong" and then closes stdin.
func runInteractive(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "ping\n")
	var got strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		got.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "pong") {
			break
		}
	}
	stdin.Close()
	io.Copy(io.Discard, stdout)
	cmd.Wait()
	if !strings.Contains(got.String(), "pong") {
		t.Fatalf("%s: no answer; stdout %q stderr %q", name, got.String(), stderr.String())
	}
	return stderr.String()
}

// TestOpenSSLClient: every suite × the groups OpenSSL 3.0 has, and a
// HelloRetryRequest forced by a first share for ffdhe2048.
func TestOpenSSLClient(t *testing.T) {
	openssl := testenv.Program(t, "openssl")
	groups := []string{"X25519", "P-256", "P-384", "P-521", "ffdhe2048:X25519"}
	for _, suite := range DefaultCipherSuites {
		for _, group := range groups {
			t.Run(suite.String()+"/"+group, func(t *testing.T) {
				cfg := testConfig("rsa-2048")
				cfg.CipherSuites = []CipherSuite{suite}
				addr, result := serveOne(t, cfg, lineComplete, []byte("pong\n"))
				stderr := runInteractive(t, openssl, "s_client", "-connect", addr, "-tls1_3", "-servername", "localhost",
					"-ciphersuites", suite.String(), "-groups", group, "-quiet", "-alpn", "http/1.1")
				if err := <-result; err != nil {
					t.Fatalf("server: %v (client said %s)", err, stderr)
				}
			})
		}
	}
}

// TestOpenSSLClientRejected: OpenSSL offering only TLS 1.2 to a listener
// with MinVersion TLS 1.3 gets protocol_version, and reports it.
func TestOpenSSLClientRejected(t *testing.T) {
	openssl := testenv.Program(t, "openssl")
	cfg := testConfig("ecdsa-p256")
	cfg.MinVersion = VersionTLS13
	addr, result := serveOne(t, cfg, lineComplete, nil)
	out, _ := exec.Command(openssl, "s_client", "-connect", addr, "-tls1_2").CombinedOutput()
	err := <-result
	var aerr *AlertError
	if !errors.As(err, &aerr) && !strings.Contains(fmt.Sprint(err), "protocol_version") {
		t.Fatalf("server: %v", err)
	}
	if !strings.Contains(string(out), "protocol version") {
		t.Errorf("client output lacks the alert: %s", out)
	}
}

func TestGnuTLSClient(t *testing.T) {
	gnutls := testenv.Program(t, "gnutls-cli")
	for _, certName := range []string{"ecdsa-p256", "rsa-2048", "ed25519"} {
		t.Run(certName, func(t *testing.T) {
			addr, result := serveOne(t, testConfig(certName), lineComplete, []byte("pong\n"))
			host, port, _ := net.SplitHostPort(addr)
			stderr := runInteractive(t, gnutls, "--insecure", "--port", port, "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3", "--alpn", "http/1.1", host)
			if err := <-result; err != nil {
				t.Fatalf("server: %v (client said %s)", err, stderr)
			}
		})
	}
}

func TestCurlClient(t *testing.T) {
	curl := testenv.Program(t, "curl")
	cert := certs()["ecdsa-p256"]
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Chain[0]}), 0o600)
	if _, err := x509.ParseCertificate(cert.Chain[0]); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("lwango ", 5000)
	response := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body))
	addr, result := serveOne(t, testConfig("ecdsa-p256"), func(b []byte) bool { return bytes.Contains(b, []byte("\r\n\r\n")) }, response)
	_, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(curl, "-sS", "--tlsv1.3", "-k", "--resolve", "localhost:"+port+":127.0.0.1", "https://localhost:"+port+"/").CombinedOutput()
	if err != nil || string(out) != body {
		t.Fatalf("curl: %v, %d bytes: %.200s", err, len(out), out)
	}
	if err := <-result; err != nil {
		t.Fatalf("server: %v", err)
	}
}
