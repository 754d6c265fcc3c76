package server

import (
	"bufio"
	"crypto/sha256"
	"io"
	"testing"

	"lwango/internal/testenv"
)

// A hand-off passes an idle plain HTTP/1 connection (the same socket goes
// on serving in the new server, a sendfile download included) and closes a
// user-space TLS connection with close_notify (Go's client reads io.EOF only
// after a valid close_notify; a bare FIN is io.ErrUnexpectedEOF): its keys
// never leave the process. The new server accepts on the same listeners,
// and its metrics (curl, promtool) count the connection it took over, and
// count it open.
func TestHandOffPassesPlainClosesUserSpaceTLS(t *testing.T) {
	curl := testenv.Program(t, "curl")
	promtool := testenv.Program(t, "promtool")
	s := startTLS(t, "ktls = \"off\"\n\n[[site.metrics]]\nprefix = \"/metrics\"\n", Options{})
	plain := dialRaw(t, s.plainAddr)
	plain.send(t, "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := plain.response(t, "GET"); resp.StatusCode != 200 || string(body) != "small file\n" {
		t.Fatalf("before: %d %q", resp.StatusCode, body)
	}
	tc := tlsDial(t, s.tlsAddr, nil)
	tr := bufio.NewReader(tc)
	if resp, body := get(t, tc, tr, "/small.txt"); resp.StatusCode != 200 || string(body) != "small file\n" {
		t.Fatalf("TLS before: %d %q", resp.StatusCode, body)
	}

	log := &syncBuffer{}
	next, passed := upgradeTo(t, s.srv, Options{AccessLog: log})
	defer func() { t.Logf("new server: %+v, log %q", next.Stats(), log.String()) }()
	if passed != 1 {
		t.Fatalf("%d connections passed, want the plain one", passed)
	}
	if rest, err := io.ReadAll(tr); len(rest) != 0 || err != nil {
		t.Fatalf("the user-space TLS connection: %q, %v; want close_notify (io.EOF)", rest, err)
	}
	before := next.Stats().Requests
	plain.send(t, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := plain.response(t, "GET"); resp.StatusCode != 200 || sha256.Sum256(body) != sha256.Sum256(s.site.big) {
		t.Fatalf("after: %d, %d bytes", resp.StatusCode, len(body))
	}
	if next.Stats().Requests != before+1 {
		t.Fatal("the new server did not answer the passed connection")
	}
	fresh := dialRaw(t, s.plainAddr)
	fresh.send(t, "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := fresh.response(t, "GET"); resp.StatusCode != 200 {
		t.Fatalf("a new connection after the hand-off: %d", resp.StatusCode)
	}
	m := scrapeMetrics(t, curl, promtool, s.plainAddr)
	if total, plain := sumMatching(m, "lwango_upgrade_adopted_connections_total{"), sumMatching(m, `lwango_upgrade_adopted_connections_total{transport="plain"}`); total != 1 || plain != 1 {
		t.Errorf("adopted connections in the new server's metrics: %d plain, %d in all; want the plain one", plain, total)
	}
	// Open: the adopted connection, the fresh one and the scrape's own.
	if open, tls := sumMatching(m, "lwango_connections_open{", `transport="plain"`), sumMatching(m, "lwango_connections_open{", `transport="tls"`)+sumMatching(m, "lwango_connections_open{", `transport="ktls"`); open != 3 || tls != 0 {
		t.Errorf("the new server counts %d plain connections open and %d TLS; want 3 plain (adopted, fresh, the scrape's) and none", open, tls)
	}
	tc2 := tlsDial(t, s.tlsAddr, nil)
	if resp, body := get(t, tc2, bufio.NewReader(tc2), "/small.txt"); resp.StatusCode != 200 || string(body) != "small file\n" {
		t.Fatalf("a new TLS connection after the hand-off: %d %q", resp.StatusCode, body)
	}
}
