package server

import (
	"bytes"
	"context"
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
// stream saying HTTP/2.0; the server accepted at most two connections) and
// every image decoded (the page's load handler counts them).
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
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Program(t, "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--user-data-dir="+t.TempDir(), "--ignore-certificate-errors",
		"--disable-features=NetworkPrediction,PreconnectToSearch", "--dns-prefetch-disable",
		"--dump-dom", "https://"+s.tlsAddr+"/images.html")
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, dom)
	}
	if !strings.Contains(string(dom), `<p id="loaded">50 images</p>`) {
		t.Fatalf("the page did not load its 50 images; DOM:\n%s", dom)
	}
	waitFor(t, func() bool { return strings.Count(s.log.String(), " HTTP/2.0\" 200 ") >= 51 }, "51 access log lines")
	for _, line := range s.log.lines() {
		if !strings.Contains(line, " HTTP/2.0\" ") || !strings.HasSuffix(line, " tls") {
			t.Errorf("access log line %q", line)
		}
	}
	// Chromium opens a second socket besides the one its h2 session uses
	// (a preconnect, whatever the flags say): two, not the six HTTP/1.1
	// would take, and the 51 streams above went over HTTP/2.
	if n := s.srv.Stats().Accepted; n > 2 {
		t.Errorf("%d connections accepted, want at most 2", n)
	}
}
