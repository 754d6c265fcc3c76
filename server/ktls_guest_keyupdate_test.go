//go:build vmguest

package server

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// opensslClient is openssl s_client running against a guest server: what
// it prints on stdout (the responses) and on stderr (KEYUPDATE and the
// like) are kept apart, and done reports its exit.
type opensslClient struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	out, diag syncBuffer
	done      chan error
}

// startOpenSSL starts openssl s_client on addr with TLS 1.3 and waits for its handshake.
func startOpenSSL(t *testing.T, addr string) *opensslClient {
	t.Helper()
	openssl := os.Getenv("LWANGO_GUEST_OPENSSL")
	if openssl == "" {
		t.Fatal("LWANGO_GUEST_OPENSSL is not set; kernel/vmtest provides openssl")
	}
	c := &opensslClient{cmd: exec.Command(openssl, "s_client", "-connect", addr, "-tls1_3"), done: make(chan error, 1)}
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.diag
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() { c.cmd.Process.Kill() })
	waitFor(t, c.has("Verify return code", 1), "openssl's handshake")
	return c
}

// all is everything openssl printed, stdout then stderr.
func (c *opensslClient) all() []byte { return []byte(c.out.String() + c.diag.String()) }

// has is a waitFor condition: s printed at least n times.
func (c *opensslClient) has(s string, n int) func() bool {
	return func() bool { return bytes.Count(c.all(), []byte(s)) >= n }
}

// wait waits for openssl to exit by itself and returns how it did.
func (c *opensslClient) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-c.done:
		c.stdin.Close()
		return err
	case <-time.After(3 * time.Minute):
		t.Fatalf("openssl still running:\n%s", tail(c.all()))
		return nil
	}
}

// TestKTLSGuestOpenSSLKeyUpdateCloses: openssl s_client asks for a 4 MiB
// page and, as soon as the response's first bytes arrive (the rest usually
// still on its way through emulated crypto), sends a KeyUpdate (command
// "k") or a KeyUpdate with update_requested ("K"). The server
// keeps no traffic secret after the hand-off (ktls_key_update = "close",
// and on Linux 6.1 no kernel could follow anyway): it finishes the response
// in flight, byte for byte, then ends the connection with close_notify
// (s_client prints "closed", not an error) and logs why.
func TestKTLSGuestOpenSSLKeyUpdateCloses(t *testing.T) {
	for _, c := range []struct{ name, command, sent string }{
		{"k", "k\n", "KEYUPDATE"},
		{"K update_requested", "K\n", "KEYUPDATE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := startGuestServer(t, `ciphers = ["TLS_AES_128_GCM_SHA256"]`)
			page := bytes.Repeat([]byte("a line of the page that is in flight when the KeyUpdate comes\n"), 4<<20/64)
			if err := os.WriteFile(filepath.Join(g.site.dir, "page.txt"), page, 0o644); err != nil {
				t.Fatal(err)
			}
			client := startOpenSSL(t, g.tlsAddr)
			io.WriteString(client.stdin, "GET /page.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
			waitFor(t, client.has("HTTP/1.1 200 OK", 1), "the response's first bytes")
			io.WriteString(client.stdin, c.command) // the response is still coming: 4 MiB through emulated crypto
			if err := client.wait(t); err != nil {
				t.Errorf("openssl: %v", err)
			}
			got, diag := []byte(client.out.String()), []byte(client.diag.String())
			if !bytes.Contains(diag, []byte(c.sent)) {
				t.Errorf("openssl did not report sending the KeyUpdate:\n%s", tail(diag))
			}
			if !bytes.Contains(got, page) {
				start := bytes.Index(got, []byte("\r\n\r\n")) + 4
				same := 0
				for same < len(page) && start+same < len(got) && got[start+same] == page[same] {
					same++
				}
				t.Errorf("the response in flight was not finished byte for byte: %d bytes of output, the first %d of the %d-byte page match; then:\n%q",
					len(got), same, len(page), got[start+same:min(len(got), start+same+600)])
			}
			if !bytes.Contains(client.all(), []byte("closed\n")) {
				t.Errorf("openssl did not see close_notify (\"closed\"):\n%s", tail(client.all()))
			}
			waitFor(t, func() bool { return strings.Contains(g.log.String(), "peer KeyUpdate") }, "the reason in the server log")
			t.Logf("server said: %s", lastLine(g.log.String()))
		})
	}
}

// tail is the end of a long output, for error messages.
func tail(b []byte) string {
	return string(b[max(0, len(b)-1500):])
}
