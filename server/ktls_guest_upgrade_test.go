//go:build vmguest

package server

import (
	"bufio"
	"crypto/sha256"
	"io"
	"strings"
	"testing"
)

// TestKTLSGuestUpgrade: a TLS 1.3 and a TLS 1.2 connection on kernel TLS,
// idle between requests, are passed to the server that upgrades this one
// (as a binary upgrade does, over a unix socket with SCM_RIGHTS): the
// descriptor carries the kernel's keys and sequence numbers, so the client
// goes on over the same TLS session with the new server, a 6 MiB sendfile
// download included (checked by hash), the new access log says ktls, and
// the close_notify exchange at the end is valid.
func TestKTLSGuestUpgrade(t *testing.T) {
	for _, tc := range []guestCase{guestCases[0], guestCases[3]} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGuestServer(t, tc.tlsLines)
			c := dialGuest(t, g.tlsAddr, tc.version, nil)
			r := bufio.NewReader(c)
			if body := fetch(t, c, r, "/small.txt"); string(body) != "small file\n" {
				t.Fatalf("before the upgrade: %q", body)
			}
			access := &syncBuffer{}
			next, passed := upgradeTo(t, g.srv, Options{AccessLog: access})
			if passed != 1 {
				t.Fatalf("%d connections passed, want 1", passed)
			}
			if body := fetch(t, c, r, "/small.txt"); string(body) != "small file\n" {
				t.Fatalf("after the upgrade: %q", body)
			}
			if body := fetch(t, c, r, "/big.bin"); sha256.Sum256(body) != sha256.Sum256(g.site.big) {
				t.Fatalf("big response after the upgrade: %d bytes that differ from the %d of the file", len(body), len(g.site.big))
			}
			if next.Stats().Requests != 2 {
				t.Fatalf("the new server answered %d requests, want 2", next.Stats().Requests)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
				t.Fatalf("after our close_notify: %q, %v", rest, err)
			}
			waitFor(t, func() bool { return strings.Count(access.String(), "\n") == 2 }, "two access log lines")
			for _, line := range access.lines() {
				if !strings.HasSuffix(line, " ktls") {
					t.Errorf("access log line %q does not say ktls", line)
				}
			}
		})
	}
}
