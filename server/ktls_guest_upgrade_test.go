//go:build vmguest

package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestKTLSGuestUpgrade: a TLS 1.3 and a TLS 1.2 connection on kernel TLS,
// idle between requests, are passed to the server that upgrades this one
// (as a binary upgrade does, over a unix socket with SCM_RIGHTS): the
// descriptor carries the kernel's keys and sequence numbers, so the client
// goes on over the same TLS session with the new server, a 6 MiB sendfile
// download included (checked by hash), the new access log says ktls, the
// new server's metrics, fetched over the same connection, count it under
// its TLS version and cipher suite and open as ktls (and nothing else
// open), and the close_notify exchange at the end is valid.
func TestKTLSGuestUpgrade(t *testing.T) {
	for _, tc := range []guestCase{guestCases[1], guestCases[3]} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGuestServer(t, tc.tlsLines+"\n\n[[site.metrics]]\nprefix = \"/metrics\"\n")
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
			version := map[uint16]string{tls.VersionTLS13: "1.3", tls.VersionTLS12: "1.2"}[tc.version]
			want := fmt.Sprintf("lwango_upgrade_adopted_connections_total{transport=\"ktls\",version=%q,suite=%q} 1\n", version, tls.CipherSuiteName(tc.suite))
			metrics := string(fetch(t, c, r, "/metrics"))
			if !strings.Contains(metrics, want) {
				t.Fatalf("the new server's metrics lack %q:\n%s", want, metrics)
			}
			for _, want := range []string{`transport="plain"} 0`, `transport="tls"} 0`, `transport="ktls"} 1`} {
				if want = `lwango_connections_open{loop="0",` + want + "\n"; !strings.Contains(metrics, want) {
					t.Errorf("the new server's metrics lack %q:\n%s", want, metrics)
				}
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
				t.Fatalf("after our close_notify: %q, %v", rest, err)
			}
			waitFor(t, func() bool { return strings.Count(access.String(), "\n") == 3 }, "three access log lines")
			for _, line := range access.lines() {
				if !strings.HasSuffix(line, " ktls") {
					t.Errorf("access log line %q does not say ktls", line)
				}
			}
		})
	}
}

// TestKTLSGuestUpgradeRekeyMode: a TLS 1.3 connection in rekey mode
// (ktls_key_update = "rekey"; on Linux 7.2 it follows openssl's KeyUpdate
// before the upgrade) is passed by an upgrade without its traffic secrets,
// which stay in the old process and are wiped there: the new server serves
// it, and the client's next KeyUpdate ends it cleanly (close_notify,
// s_client prints "closed"), the reason logged, as in close mode. On Linux
// 6.1, which cannot rekey, the connection is in close mode from the start
// and ends the same way.
func TestKTLSGuestUpgradeRekeyMode(t *testing.T) {
	g := startGuestServer(t, rekeyLines)
	checkKeyUpdateSetting(t, g)
	client := startOpenSSL(t, g.tlsAddr)
	const get = "GET /small.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
	io.WriteString(client.stdin, get)
	waitFor(t, client.has("small file\n", 1), "the first response")
	responses, keyUpdates := 1, 0
	if guestKernelRekeys(t) {
		io.WriteString(client.stdin, "k\n")
		keyUpdates++
		waitFor(t, client.has("KEYUPDATE", keyUpdates), "openssl's KeyUpdate")
		io.WriteString(client.stdin, get)
		responses++
		waitFor(t, client.has("small file\n", responses), "the response after a KeyUpdate the old server followed")
	}

	next, passed := upgradeTo(t, g.srv, Options{AccessLog: &syncBuffer{}})
	if passed != 1 {
		t.Fatalf("%d connections passed, want 1", passed)
	}
	logged := len(g.log.String())
	io.WriteString(client.stdin, get)
	responses++
	waitFor(t, client.has("small file\n", responses), "the response from the new server")
	if next.Stats().Requests != 1 {
		t.Fatalf("the new server answered %d requests, want 1", next.Stats().Requests)
	}
	io.WriteString(client.stdin, "k\n")
	if err := client.wait(t); err != nil || !strings.Contains(string(client.all()), "closed\n") {
		t.Fatalf("openssl after a KeyUpdate to the new server: %v; want a clean end (\"closed\"):\n%s", err, tail(client.all()))
	}
	waitFor(t, func() bool { return strings.Contains(g.log.String()[logged:], "peer KeyUpdate") }, "the reason in the new server's log")
	t.Logf("new server said: %s", lastLine(g.log.String()))
}
