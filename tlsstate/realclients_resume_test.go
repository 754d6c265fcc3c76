package tlsstate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// TestOpenSSLResumption: `openssl s_client -sess_out` saves the session
// from our tickets and `-sess_in` resumes it, which s_client reports as
// "Reused", for TLS 1.3 and TLS 1.2 with ECDSA and RSA certificates; the
// resumed connection still carries a request and its response.
func TestOpenSSLResumption(t *testing.T) {
	openssl := testenv.Program(t, "openssl")
	for _, version := range []string{"-tls1_3", "-tls1_2"} {
		for _, certName := range []string{"ecdsa-p256", "rsa-2048"} {
			t.Run(version+"/"+certName, func(t *testing.T) {
				cfg := ticketConfig(certName, randomTicketKeys(t))
				sessFile := filepath.Join(t.TempDir(), "session.pem")
				args := []string{"s_client", version, "-servername", "localhost", "-alpn", "http/1.1"}

				addr, result := serveOne(t, cfg, lineComplete, []byte("pong\n"))
				first := sClientPingPong(t, openssl, append(args, "-connect", addr, "-sess_out", sessFile)...)
				if err := <-result; err != nil {
					t.Fatalf("server, first connection: %v", err)
				}
				if !strings.Contains(first, "\nNew, ") {
					t.Fatalf("first connection not reported as New:\n%s", first)
				}

				addr, result = serveOne(t, cfg, lineComplete, []byte("pong\n"))
				second := sClientPingPong(t, openssl, append(args, "-connect", addr, "-sess_in", sessFile)...)
				if err := <-result; err != nil {
					t.Fatalf("server, resumed connection: %v", err)
				}
				if !strings.Contains(second, "\nReused, ") {
					t.Fatalf("second connection not reported as Reused:\n%s", second)
				}
			})
		}
	}
}

// sClientPingPong runs s_client (not quiet, so that it reports the
// session), writes "ping\n", waits for "pong" and closes stdin. It returns
// everything s_client printed on stdout.
func sClientPingPong(t *testing.T, openssl string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, args...)
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
	answered := false
	for sc.Scan() {
		got.WriteString(sc.Text() + "\n")
		if sc.Text() == "pong" {
			answered = true
			break
		}
	}
	stdin.Close()
	rest, _ := io.ReadAll(stdout)
	got.Write(rest)
	cmd.Wait()
	if !answered {
		t.Fatalf("s_client: no answer; stdout %q stderr %q", got.String(), stderr.String())
	}
	return got.String()
}

// TestGnuTLSResumption: `gnutls-cli --resume` connects, then reconnects
// with the session it got, and reports "This is a resumed session"; our
// side says so too.
func TestGnuTLSResumption(t *testing.T) {
	gnutls := testenv.Program(t, "gnutls-cli")
	for _, version := range []string{"TLS1.3", "TLS1.2"} {
		t.Run(version, func(t *testing.T) {
			cfg := ticketConfig("ecdsa-p256", randomTicketKeys(t))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			// gnutls-cli keeps the first connection open while it makes
			// the second, so each is served on its own.
			resumed := make(chan bool, 2)
			go func() {
				for range 2 {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer conn.Close()
						srv, p, rest, _ := runServerHandshake(conn, cfg)
						if p != Complete {
							resumed <- false
							return
						}
						sess := srv.Session()
						resumed <- sess.Resumed
						answerCloseNotify(conn, sess, cfg, rest)
					}()
				}
			}()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, gnutls, "--insecure", "--resume", "--port", port,
				"--priority", "NORMAL:-VERS-ALL:+VERS-"+version, "127.0.0.1").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "*** This is a resumed session") {
				t.Fatalf("gnutls-cli: %v\n%s", err, out)
			}
			if first, second := <-resumed, <-resumed; first || !second {
				t.Errorf("server: first connection resumed %v, second %v", first, second)
			}
		})
	}
}

// answerCloseNotify reads records until the client's close_notify and
// answers it with ours, as gnutls-cli waits for.
func answerCloseNotify(conn net.Conn, sess *Session, cfg *Config, rest []byte) {
	r, err := NewChannel(sess, cfg)
	if err != nil {
		return
	}
	defer r.Zero()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := append(make([]byte, 0, 1<<16), rest...)
	for {
		n, _, reply, err := r.Open(buf, nil, nil)
		buf = append(buf[:0], buf[n:]...)
		if errors.Is(err, io.EOF) {
			conn.Write(r.CloseNotify(reply))
			return
		}
		if len(reply) > 0 {
			conn.Write(reply)
		}
		if err != nil {
			return
		}
		m, err := conn.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return
		}
		buf = buf[:len(buf)+m]
	}
}
