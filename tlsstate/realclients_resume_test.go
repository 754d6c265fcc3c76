package tlsstate

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOpenSSLResumption: `openssl s_client -sess_out` saves the session
// from our tickets and `-sess_in` resumes it, which s_client reports as
// "Reused", for TLS 1.3 and TLS 1.2 with ECDSA and RSA certificates; the
// resumed connection still carries a request and its response.
func TestOpenSSLResumption(t *testing.T) {
	openssl := needBinary(t, "openssl")
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
