package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// scrapeMetrics fetches /metrics with curl, checks it with promtool and
// returns its samples by "name{labels}".
func scrapeMetrics(t *testing.T, curl, promtool, addr string) map[string]uint64 {
	t.Helper()
	out, err := exec.Command(curl, "-sS", "-f", "--max-time", "20", "http://"+addr+"/metrics").Output()
	if err != nil {
		t.Fatalf("curl /metrics: %v", err)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(out)
	if msg, err := check.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n%s", err, msg, out)
	}
	samples := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseUint(line[i+1:], 10, 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// sumMatching adds the samples whose name and labels contain every part.
func sumMatching(samples map[string]uint64, parts ...string) uint64 {
	var n uint64
next:
	for k, v := range samples {
		for _, p := range parts {
			if !strings.Contains(k, p) {
				continue next
			}
		}
		n += v
	}
	return n
}

// The metrics handler's output passes promtool check metrics, and its
// counters move as traffic is driven through real clients: a full TLS 1.3
// handshake and a resumed one, a handshake failure with an alert sent and
// one with an alert received, a 404, bytes by send and by sendfile,
// connections open by transport, each kind of timeout, and a reload.
func TestMetrics(t *testing.T) {
	curl := testenv.Program(t, "curl")
	promtool := testenv.Program(t, "promtool")
	tlsLines := certLines(t, "ecdsa-p256") + "\n[[site.metrics]]\nprefix = \"/metrics\"\n"
	// The default timeouts (10 s, 15 s): a connection held open while
	// curl and promtool run on a loaded machine must not meet them.
	s := startTLSServer(t, tlsLines, Options{})
	base := scrapeMetrics(t, curl, promtool, s.plainAddr)
	delta := func(now map[string]uint64, parts ...string) int64 {
		return int64(sumMatching(now, parts...)) - int64(sumMatching(base, parts...))
	}

	// A full TLS 1.3 handshake, then one resumed from its ticket; the
	// connection stays open while the metrics are read.
	cache := tls.NewLRUClientSessionCache(4)
	cfg := &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache, MinVersion: tls.VersionTLS13}
	c1 := tlsDial(t, s.tlsAddr, cfg)
	if resp, _ := get(t, c1, bufio.NewReader(c1), "/hello"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	m := scrapeMetrics(t, curl, promtool, s.plainAddr)
	if d := delta(m, `lwango_tls_handshakes_total{version="1.3",suite="TLS_AES_128_GCM_SHA256"`, `resumed="false"`); d != 1 {
		t.Errorf("full TLS 1.3 handshakes: +%d, want +1", d)
	}
	if n := sumMatching(m, "lwango_connections_open{", `transport="tls"`) + sumMatching(m, "lwango_connections_open{", `transport="ktls"`); n != 1 {
		t.Errorf("TLS connections open: %d, want 1", n)
	}
	c1.Close()
	c2 := tlsDial(t, s.tlsAddr, cfg)
	if !c2.ConnectionState().DidResume {
		t.Fatal("the second connection did not resume")
	}
	get(t, c2, bufio.NewReader(c2), "/hello")
	c2.Close()
	m = scrapeMetrics(t, curl, promtool, s.plainAddr)
	if d := delta(m, `lwango_tls_handshakes_total{version="1.3"`, `resumed="true"`); d != 1 {
		t.Errorf("resumed TLS 1.3 handshakes: +%d, want +1", d)
	}
	if strings.Contains(strings.Join(keys(m), "\n"), `group="none"`) {
		t.Errorf("a TLS 1.3 handshake counted without its group: %v", keys(m))
	}

	// An alert sent: a TLS 1.2 client whose only suite the server lacks.
	raw, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	bad := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}})
	if err := bad.Handshake(); err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Fatalf("handshake with a suite the server lacks: %v", err)
	}
	bad.Close()
	// An alert received: a client that does not trust the certificate.
	raw, err = net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	distrust := tls.Client(raw, &tls.Config{ServerName: "localhost", RootCAs: x509.NewCertPool()})
	if err := distrust.Handshake(); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	distrust.Close()
	waitFor(t, func() bool {
		m = scrapeMetrics(t, curl, promtool, s.plainAddr)
		return delta(m, `lwango_tls_handshake_failures_total{direction="sent",alert="handshake_failure"}`) == 1 &&
			delta(m, `lwango_tls_handshake_failures_total{direction="received",alert="bad_certificate"}`) == 1
	}, "a handshake failure with an alert sent and one with an alert received")

	// A 404, and a file large enough for sendfile, over cleartext.
	before := scrapeMetrics(t, curl, promtool, s.plainAddr)
	if out, err := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://"+s.plainAddr+"/no-such-file").Output(); err != nil || string(out) != "404" {
		t.Fatalf("404: %v %s", err, out)
	}
	if out, err := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{size_download}", "http://"+s.plainAddr+"/big.bin").Output(); err != nil || string(out) != strconv.Itoa(len(s.site.big)) {
		t.Fatalf("big.bin: %v %s", err, out)
	}
	m = scrapeMetrics(t, curl, promtool, s.plainAddr)
	if d := int64(sumMatching(m, `lwango_http_requests_total{protocol="HTTP/1.1",class="4xx"}`)) - int64(sumMatching(before, `lwango_http_requests_total{protocol="HTTP/1.1",class="4xx"}`)); d != 1 {
		t.Errorf("4xx responses: +%d, want +1", d)
	}
	if d := sumMatching(m, `method="sendfile"`) - sumMatching(before, `method="sendfile"`); d < uint64(len(s.site.big)) {
		t.Errorf("sendfile bytes: +%d, want at least %d", d, len(s.site.big))
	}
	if d := sumMatching(m, `method="write"`) - sumMatching(before, `method="write"`); d == 0 {
		t.Error("bytes sent by write did not move")
	}

	// Timeouts, on a server of their own whose timeouts are short: a
	// request that never ends, a handshake that never starts, a keep-alive
	// connection left idle. (curl's scrapes send their request at once.)
	short := startTLSServer(t, tlsLines, Options{RequestTimeout: 400 * time.Millisecond, KeepAliveTimeout: 800 * time.Millisecond})
	shortBase := scrapeMetrics(t, curl, promtool, short.plainAddr)
	part := dialRaw(t, short.plainAddr)
	part.send(t, "GET /hello HTTP/1.1\r\n")
	if resp, _ := part.response(t, "GET"); resp.StatusCode != 408 {
		t.Fatalf("partial request: %d", resp.StatusCode)
	}
	silent := dialRaw(t, short.tlsAddr)
	silent.expectClosed(t)
	idle := dialRaw(t, short.plainAddr)
	idle.send(t, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.response(t, "GET")
	idle.expectClosed(t)
	waitFor(t, func() bool {
		m := scrapeMetrics(t, curl, promtool, short.plainAddr)
		d := func(kind string) int64 { return int64(sumMatching(m, kind)) - int64(sumMatching(shortBase, kind)) }
		return d(`kind="request_deadline"`) == 1 && d(`kind="handshake"`) == 1 && d(`kind="keep_alive"`) >= 1
	}, "one request deadline, one handshake and a keep-alive timeout counted")

	if err := s.srv.Reload(s.srv.cfg); err != nil {
		t.Fatal(err)
	}
	m = scrapeMetrics(t, curl, promtool, s.plainAddr)
	if d := delta(m, `lwango_reloads_total{result="ok"}`); d != 1 {
		t.Errorf("reloads: +%d, want +1", d)
	}
}

func keys(m map[string]uint64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// lwango_connections_open counts a connection on the TLS listener under
// transport "tls" from its first bytes (its handshake included; the
// listener defers the accept until some arrive) to its end, each
// connection once: a failed handshake and the close that follows take it
// off once, so the next one counts again. Plain connections are the rest
// (here the keep-alive one and the scrape's own). ktls = "off" keeps the
// records in user space on any host; the hand-off to "ktls" is counted in
// the guest (TestKTLSGuestMetrics).
func TestConnectionsOpenByTransport(t *testing.T) {
	curl := testenv.Program(t, "curl")
	promtool := testenv.Program(t, "promtool")
	s := startTLS(t, "ktls = \"off\"\n\n[[site.metrics]]\nprefix = \"/metrics\"\n", Options{})
	expect := func(plain, tls uint64, what string) {
		t.Helper()
		var m map[string]uint64
		open := func(transport string) uint64 {
			return sumMatching(m, "lwango_connections_open{", `transport="`+transport+`"`)
		}
		waitFor(t, func() bool {
			m = scrapeMetrics(t, curl, promtool, s.plainAddr)
			return open("plain") == plain+1 && open("tls") == tls && open("ktls") == 0
		}, fmt.Sprintf("%s: %d plain (and the scrape's), %d tls, 0 ktls open", what, plain, tls))
	}
	expect(0, 0, "at the start")

	mid, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer mid.Close()
	hello := clientHello11()
	mid.Write(hello[:5])
	expect(0, 1, "a TLS connection in its handshake")

	keepAlive := dialRaw(t, s.plainAddr)
	defer keepAlive.Close()
	keepAlive.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	keepAlive.response(t, "GET")
	c := tlsDial(t, s.tlsAddr, nil)
	defer c.Close()
	if resp, _ := get(t, c, bufio.NewReader(c), "/hello"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	expect(1, 2, "an established TLS connection too, and a plain one")

	mid.Write(hello[5:])
	if got := readAlert(t, mid); !bytes.Equal(got, []byte{21, 3, 3, 0, 2, 2, 70}) {
		t.Fatalf("server sent % x, want protocol_version", got)
	}
	mid.Close()
	expect(1, 1, "after a failed handshake and its close")
	c.Close()
	expect(1, 0, "after the TLS connection's close")

	again := tlsDial(t, s.tlsAddr, nil)
	defer again.Close()
	expect(1, 1, "a new TLS connection")
}
