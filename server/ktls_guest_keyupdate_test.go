//go:build vmguest

package server

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedOutput collects a process's output and says when it contains something.
type lockedOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *lockedOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *lockedOutput) Bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Clone(o.buf.Bytes())
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
	openssl := os.Getenv("LWANGO_GUEST_OPENSSL")
	if openssl == "" {
		t.Fatal("LWANGO_GUEST_OPENSSL is not set; kernel/vmtest provides openssl")
	}
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
			cmd := exec.Command(openssl, "s_client", "-connect", g.tlsAddr, "-tls1_3", "-no_ign_eof")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var out, diag lockedOutput // the page on stdout; openssl's KEYUPDATE on stderr
			cmd.Stdout, cmd.Stderr = &out, &diag
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			waitFor(t, func() bool { return bytes.Contains(out.Bytes(), []byte("Verify return code")) }, "openssl's handshake")
			io.WriteString(stdin, "GET /page.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
			waitFor(t, func() bool { return bytes.Contains(out.Bytes(), []byte("HTTP/1.1 200 OK")) }, "the response's first bytes")
			io.WriteString(stdin, c.command) // the response is still coming: 4 MiB through emulated crypto
			select {
			case err = <-done:
			case <-time.After(3 * time.Minute):
				cmd.Process.Kill()
				t.Fatalf("openssl still running after the KeyUpdate:\n%s", tail(out.Bytes()))
			}
			stdin.Close()
			got := out.Bytes()
			if err != nil {
				t.Errorf("openssl: %v", err)
			}
			if !bytes.Contains(diag.Bytes(), []byte(c.sent)) {
				t.Errorf("openssl did not report sending the KeyUpdate:\n%s", tail(diag.Bytes()))
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
			if !bytes.Contains(append(got, diag.Bytes()...), []byte("closed\n")) {
				t.Errorf("openssl did not see close_notify (\"closed\"):\n%s\n%s", tail(got), tail(diag.Bytes()))
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
