package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// Headless Chromium loads a page with 50 images over HTTPS: ALPN gives it
// h2, every image is fetched over HTTP/2 (the access log has a line per
// stream saying HTTP/2.0) and every image decoded (the page's load handler
// counts them).
//
// Connections: with a fresh profile Chromium opens two. Its net log
// (--log-net-log) shows why, and the test checks it: at navigation start
// its loading predictor preconnects to the page's origin, first one
// socket for the page's URL, then two for the origin, because it does not
// know yet that the origin speaks HTTP/2; the first socket to finish its
// handshake becomes the HTTP/2 session that carries every request, and
// the other is closed right after its TLS handshake, with the net log's
// reason "Switching to HTTP2 session", before sending a byte of HTTP/2
// (or, on a loaded machine, it is still unused when Chromium exits, and
// closed with "Socket pool destroyed").
// The server has no part in it (it cannot know a socket is a preconnect).
// Once the profile has learned that the origin speaks HTTP/2 ("supports_spdy"
// in its Network Persistent State), a second load of the page opens
// exactly one connection.
func TestH2ChromiumFiftyImages(t *testing.T) {
	s := startTLS(t, "", Options{})
	var page strings.Builder
	page.WriteString(`<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>`)
	for i := range 50 {
		img := image.NewRGBA(image.Rect(0, 0, 8, 8))
		img.Set(i%8, i/8%8, color.RGBA{R: uint8(i * 5), A: 255})
		var b bytes.Buffer
		png.Encode(&b, img)
		if err := os.WriteFile(filepath.Join(s.site.dir, fmt.Sprintf("img%d.png", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&page, `<img src="/img%d.png">`, i)
	}
	page.WriteString(`<script>window.addEventListener('load', () => document.body.insertAdjacentHTML('beforeend',` +
		`'<p id="loaded">' + [...document.images].filter(i => i.complete && i.naturalWidth == 8).length + ' images</p>'))</script></body></html>`)
	if err := os.WriteFile(filepath.Join(s.site.dir, "images.html"), []byte(page.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	load := func(netLog string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, testenv.Program(t, "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
			"--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
			"--disable-sync", "--user-data-dir="+profile, "--ignore-certificate-errors",
			"--disable-features=NetworkPrediction,PreconnectToSearch", "--dns-prefetch-disable",
			"--log-net-log="+netLog, "--dump-dom", "https://"+s.tlsAddr+"/images.html")
		dom, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, dom)
		}
		if !strings.Contains(string(dom), `<p id="loaded">50 images</p>`) {
			t.Fatalf("the page did not load its 50 images; DOM:\n%s", dom)
		}
	}
	checkLog := func(lines int) {
		t.Helper()
		waitFor(t, func() bool { return strings.Count(s.log.String(), " HTTP/2.0\" 200 ") >= lines }, "access log lines")
		for _, line := range s.log.lines() {
			if !strings.Contains(line, " HTTP/2.0\" ") || !strings.HasSuffix(line, " tls") {
				t.Errorf("access log line %q", line)
			}
		}
	}

	first := filepath.Join(t.TempDir(), "first.json")
	load(first)
	checkLog(51)
	sockets := chromiumSockets(t, first, s.tlsAddr)
	accepted := s.srv.Stats().Accepted
	t.Logf("first load, fresh profile: sockets to the server by net log source id: %v", sockets)
	if int(accepted) != len(sockets) {
		t.Errorf("the server accepted %d connections, Chromium's net log shows %d sockets to it", accepted, len(sockets))
	}
	sessions := 0
	for id, end := range sockets {
		switch end {
		case "h2 session":
			sessions++
		case "Switching to HTTP2 session", "Socket pool destroyed":
			// The second: a preconnect still unused when Chromium exited
			// (seen once under load, the page loaded in 61 s).
		default:
			t.Errorf("socket %d to the server: %q, want the HTTP/2 session or a preconnect given up for it", id, end)
		}
	}
	if sessions != 1 || len(sockets) > 2 {
		t.Errorf("first load: %d sockets, %d HTTP/2 sessions; want one session and at most one preconnect given up", len(sockets), sessions)
	}

	load(filepath.Join(t.TempDir(), "second.json"))
	checkLog(102)
	if n := s.srv.Stats().Accepted - accepted; n != 1 {
		t.Errorf("second load, the origin known to speak HTTP/2: %d connections accepted, want 1", n)
	}
}

// chromiumSockets reads a Chromium net log and returns, for every socket
// it connected to addr, how it ended: "h2 session" for one that carried an
// HTTP/2 session, or the reason the socket pool gave when it closed it.
func chromiumSockets(t *testing.T, path, addr string) map[int]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var netLog struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int `json:"type"`
			Source struct {
				ID int `json:"id"`
			} `json:"source"`
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(raw, &netLog); err != nil {
		t.Fatalf("Chromium's net log: %v", err)
	}
	types := netLog.Constants.LogEventTypes
	sockets := map[int]string{}
	for _, e := range netLog.Events {
		switch e.Type {
		case types["TCP_CONNECT"]:
			if e.Params["remote_address"] == addr {
				sockets[e.Source.ID] = "open"
			}
		case types["HTTP2_SESSION_INITIALIZED"]:
			if dep, ok := e.Params["source_dependency"].(map[string]any); ok {
				if id := int(dep["id"].(float64)); sockets[id] != "" {
					sockets[id] = "h2 session"
				}
			}
		case types["SOCKET_POOL_CLOSING_SOCKET"]:
			if sockets[e.Source.ID] == "open" {
				sockets[e.Source.ID], _ = e.Params["reason"].(string)
			}
		}
	}
	return sockets
}
