package server

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Go's HTTP/2 client, h2c and over TLS: fifty requests at once on one
// connection (small and 100 KiB files, hello, and two 6 MiB files), every body whole,
// one connection accepted, and one access log line per stream saying
// HTTP/2.0.
func TestH2GoClientConcurrentStreams(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			var srv *Server
			var base string
			var log *syncBuffer
			var ts *testSite
			if useTLS {
				s := startTLS(t, "", Options{})
				srv, base, log, ts = s.srv, "https://"+s.tlsAddr, s.log, s.site
			} else {
				ts = newTestSite(t)
				cfg := testConfig(t, ts, "h2c = true\nthreads = 1\n")
				cfg.Quiet = false
				log = &syncBuffer{}
				var addr string
				srv, addr = startServer(t, cfg, Options{AccessLog: log})
				base = "http://" + addr
			}
			client := h2Client(t, useTLS)
			bodies := map[string][]byte{"/small.txt": []byte("small file\n"), "/medium.bin": ts.medium,
				"/big.bin": ts.big, "/hello": []byte("Hello, World!")}
			paths := []string{"/small.txt", "/medium.bin", "/hello"}
			var wg sync.WaitGroup
			errs := make(chan error, 50)
			for i := range 50 {
				path := paths[i%len(paths)]
				if i%25 == 0 {
					path = "/big.bin"
				}
				want := bodies[path]
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := client.Get(base + path)
					if err != nil {
						errs <- err
						return
					}
					defer resp.Body.Close()
					body, err := io.ReadAll(resp.Body)
					switch {
					case err != nil:
						errs <- fmt.Errorf("%s: %v", path, err)
					case resp.ProtoMajor != 2 || resp.StatusCode != 200 || !bytes.Equal(body, want):
						errs <- fmt.Errorf("%s: %s %d, %d bytes, want %d", path, resp.Proto, resp.StatusCode, len(body), len(want))
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := srv.Stats().Accepted; n != 1 {
				t.Errorf("%d connections accepted, want 1", n)
			}
			waitFor(t, func() bool { return strings.Count(log.String(), "HTTP/2.0\" 200") == 50 }, "50 access log lines")
		})
	}
}

// Every handler answers an HTTP/2 stream as it answers HTTP/1.1: curl
// --http2-prior-knowledge and curl --http1.1 get the same status, the same
// headers (but Date, and the connection-specific ones HTTP/2 forbids) and
// the same body, for serve_files (index, listing, precompressed sibling,
// ETag and Last-Modified revalidation, ranges), redirect, response,
// rewrite, basic authorization, hello and a POST body.
func TestH2HandlersAnswerAsHTTP1(t *testing.T) {
	s := startE2ESite(t)
	base := "http://" + s.addr
	cases := [][]string{
		{base + "/small.txt"},
		{base + "/"},
		{base + "/docs/"},
		{base + "/docs"},
		{"-H", "Accept-Encoding: gzip", base + "/notes.txt"},
		{base + "/notes.txt"},
		{"-H", "Range: bytes=2-5", base + "/digits.txt"},
		{"-H", "Range: bytes=-3", base + "/digits.txt"},
		{"-H", "Range: bytes=50-60", base + "/digits.txt"},
		{"-I", "-o", "/dev/null", base + "/small.txt"},
		{base + "/old/x?y"},
		{base + "/gone/anything"},
		{"-X", "DELETE", base + "/sink"},
		{base + "/blog/42"},
		{base + "/blog/feed"},
		{base + "/blog/x"},
		{base + "/private/secret.txt"},
		{"-u", "alice:wonderland", base + "/private/secret.txt"},
		{"-u", "bob:builder", base + "/private/secret.txt"},
		{"-u", "alice:builder", base + "/private/secret.txt"},
		{base + "/nope"},
		{base + "/outside.txt"},
		{"--data-binary", "a body", base + "/sink"},
		{"-X", "BREW", base + "/small.txt"},
		{base + "/%2e%2e/etc/passwd"},
	}
	_, h, _ := curlHead(t, base+"/small.txt")
	etag, modified := h.Get("ETag"), h.Get("Last-Modified")
	cases = append(cases, []string{"-H", "If-None-Match: " + etag, base + "/small.txt"},
		[]string{"-H", "If-Modified-Since: " + modified, base + "/small.txt"})
	for _, args := range cases {
		s1, h1, b1 := curlHead(t, append([]string{"--http1.1"}, args...)...)
		s2, h2, b2 := curlHead(t, append([]string{"--http2-prior-knowledge"}, args...)...)
		if s1 != s2 || b1 != b2 {
			t.Errorf("%v: HTTP/1.1 %d %q, HTTP/2 %d %q", args, s1, b1, s2, b2)
		}
		for _, hh := range []http.Header{h1, h2} {
			// Date and Expires (Date plus expires) may be a second apart.
			for _, name := range []string{"Date", "Expires", "Connection", "Keep-Alive"} {
				hh.Del(name)
			}
		}
		if fmt.Sprint(h1) != fmt.Sprint(canonical(h2)) {
			t.Errorf("%v: headers differ\nHTTP/1.1 %v\nHTTP/2   %v", args, h1, canonical(h2))
		}
	}
}

// canonical re-keys an HTTP/2 response's lowercase header names as
// net/http spells HTTP/1.1 ones.
func canonical(h http.Header) http.Header {
	c := http.Header{}
	for k, v := range h {
		c[http.CanonicalHeaderKey(k)] = v
	}
	return c
}

// curl --http2 over TLS 1.3 and TLS 1.2: ALPN picks h2, a 6 MiB file
// arrives whole (by hash), several URLs share one connection.
func TestH2CurlTLS(t *testing.T) {
	s := startTLS(t, "", Options{})
	want := sha256.Sum256(s.site.big)
	for _, version := range [][]string{{"--tlsv1.3"}, {"--tlsv1.2", "--tls-max", "1.2"}} {
		out := filepath.Join(t.TempDir(), "big")
		got, _ := curl(t, append(version, "-k", "--http2", "-o", out, "-w", "%{http_version} %{http_code} %{size_download}",
			"https://"+s.tlsAddr+"/big.bin")...)
		if got != fmt.Sprintf("2 200 %d", len(s.site.big)) {
			t.Fatalf("%v: %q", version, got)
		}
		data, _ := os.ReadFile(out)
		if sha256.Sum256(data) != want {
			t.Fatalf("%v: the file arrived changed", version)
		}
		got, _ = curl(t, append(version, "-k", "--http2", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
			"-w", "%{http_version} %{http_code} %{num_connects}\n",
			"https://"+s.tlsAddr+"/small.txt", "https://"+s.tlsAddr+"/hello", "https://"+s.tlsAddr+"/medium.bin")...)
		if got != "2 200 1\n2 200 0\n2 200 0\n" {
			t.Fatalf("%v: three URLs: %q", version, got)
		}
	}
	if n := strings.Count(s.log.String(), "HTTP/2.0\" 200"); n != 8 {
		t.Fatalf("%d access log lines with HTTP/2.0, want 8:\n%s", n, s.log.String())
	}
}

// A client that offers only http/1.1, a listener with http2 = false, and
// a cleartext listener without h2c are served HTTP/1.1 as before.
func TestH2Off(t *testing.T) {
	s := startTLS(t, "http2 = false\n", Options{})
	got, _ := curl(t, "-k", "--http2", "-o", "/dev/null", "-w", "%{http_version}", "https://"+s.tlsAddr+"/small.txt")
	if got != "1.1" {
		t.Fatalf("http2 = false: HTTP/%s", got)
	}
	s = startTLS(t, "", Options{})
	got, _ = curl(t, "-k", "--http1.1", "-o", "/dev/null", "-w", "%{http_version}", "https://"+s.tlsAddr+"/small.txt")
	if got != "1.1" {
		t.Fatalf("a client offering http/1.1 only: HTTP/%s", got)
	}
	// h2c is off by default: the preface is not an HTTP/1 request.
	got, _ = curl(t, "-o", "/dev/null", "-w", "%{http_version}", "http://"+s.plainAddr+"/small.txt")
	if got != "1.1" {
		t.Fatalf("cleartext: HTTP/%s", got)
	}
	r := dialRaw(t, s.plainAddr)
	r.send(t, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	resp, _ := r.response(t, "PRI")
	if resp.StatusCode < 400 || resp.ProtoMajor != 1 {
		t.Fatalf("HTTP/2 preface without h2c: %s %d", resp.Proto, resp.StatusCode)
	}
}

// nghttp with small flow-control windows (stream 2^12, connection 2^15):
// three files at once over h2c and TLS arrive whole, interleaved through
// windows far smaller than the files.
func TestH2NghttpSmallWindows(t *testing.T) {
	s := startTLS(t, "", Options{})
	cfg := testConfig(t, s.site, "h2c = true\n")
	_, plain := startServer(t, cfg, Options{})
	for _, base := range []string{"http://" + plain, "https://" + s.tlsAddr} {
		out := run(t, "nghttp", "-w", "12", "-W", "15", base+"/big.bin")
		if sha256.Sum256([]byte(out)) != sha256.Sum256(s.site.big) {
			t.Fatalf("%s: big.bin through small windows: %d bytes", base, len(out))
		}
		stats := run(t, "nghttp", "-n", "-s", "-w", "12", "-W", "15", base+"/medium.bin", base+"/big.bin", base+"/small.txt", base+"/hello")
		if n := len(regexp.MustCompile(`(?m)^\s+\d+\s+\S+\s+\S+\s+\S+\s+200\s`).FindAllString(stats, -1)); n != 4 {
			t.Fatalf("%s: %d responses 200, want 4:\n%s", base, n, stats)
		}
	}
}

// h2load: 2 000 requests, 4 clients with 10 streams each, over TLS and
// h2c; every one succeeds.
func TestH2Load(t *testing.T) {
	s := startTLS(t, "", Options{})
	cfg := testConfig(t, s.site, "h2c = true\n")
	_, plain := startServer(t, cfg, Options{})
	for _, url := range []string{"https://" + s.tlsAddr + "/hello", "http://" + plain + "/small.txt", "https://" + s.tlsAddr + "/medium.bin"} {
		out := run(t, "h2load", "-n", "2000", "-c", "4", "-m", "10", url)
		if !strings.Contains(out, "2000 succeeded, 0 failed, 0 errored, 0 timeout") || !strings.Contains(out, "status codes: 2000 2xx") {
			t.Fatalf("%s:\n%s", url, out)
		}
	}
}

// Uploads of 6 MiB, about a hundred times the initial flow-control
// windows, through curl, nghttp and Go's client, h2c and over TLS: each
// arrives whole (the server checks it against content-length, RFC 9113
// §8.1.1, before the handler answers 418) as the server refills the
// windows. A body must arrive within the request deadline (DATA from the
// client does not restart it): under the race detector on a loaded
// machine one upload took more than the default 10 s, so the deadline and
// the clients' time limits here are 2 minutes.
func TestH2LargeUpload(t *testing.T) {
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "h2c = true\nthreads = 1\nmax_post_data_size = 8388608\n[tls_listener]\naddress = \"127.0.0.1:0\"\n")
	srv, plain := startServer(t, cfg, Options{RequestTimeout: 2 * time.Minute})
	tlsAddr, _ := srv.TLSAddr()
	body := ts.big[:6<<20]
	file := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{"http://" + plain, "https://" + tlsAddr.String()} {
		t.Run(base[:strings.Index(base, ":")], func(t *testing.T) {
			mode := "--http2-prior-knowledge"
			if strings.HasPrefix(base, "https") {
				mode = "--http2"
			}
			got, _ := curl(t, "--max-time", "120", "-k", mode, "--data-binary", "@"+file, "-o", "/dev/null",
				"-w", "%{http_version} %{http_code} %{size_upload}", base+"/teapot")
			if want := fmt.Sprintf("2 418 %d", len(body)); got != want {
				t.Fatalf("curl: %q, want %q", got, want)
			}
			stats := run(t, "nghttp", "-n", "-s", "-d", file, base+"/teapot")
			if !regexp.MustCompile(`(?m)^\s+\d+\s+\S+\s+\S+\s+\S+\s+418\s`).MatchString(stats) {
				t.Fatalf("nghttp: no 418:\n%s", stats)
			}
			client := h2Client(t, strings.HasPrefix(base, "https"))
			client.Timeout = 2 * time.Minute
			resp, err := client.Post(base+"/teapot", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 418 || resp.ProtoMajor != 2 {
				t.Fatalf("Go client: %s %d", resp.Proto, resp.StatusCode)
			}
		})
	}
}
