package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"lwango/internal/testenv"
	"lwango/site"
)

// e2eSite is a served tree exercising every handler kind, with the
// top-level keys that change responses (allow_cors, expires, [headers]).
type e2eSite struct {
	addr   string
	dir    string
	gzBody []byte // the original of notes.txt, which has a .gz sibling
}

func startE2ESite(t *testing.T) *e2eSite {
	t.Helper()
	s := &e2eSite{dir: t.TempDir(), gzBody: bytes.Repeat([]byte("compress me please\n"), 200)}
	write := func(name string, data []byte) {
		path := filepath.Join(s.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("small.txt", []byte("small file\n"))
	write("digits.txt", []byte("0123456789abcdefghij"))
	write("posts/42.txt", []byte("post forty-two\n"))
	write("posts/feed.txt", []byte("the feed\n"))
	write("docs/a.txt", []byte("a\n"))
	write("docs/b.txt", []byte("b\n"))
	write("private/secret.txt", []byte("the secret\n"))
	write("notes.txt", s.gzBody)
	if err := os.Symlink("/etc/passwd", filepath.Join(s.dir, "outside.txt")); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(s.gzBody)
	zw.Close()
	write("notes.txt.gz", gz.Bytes())
	// The sibling must be newer than the file it stands for.
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(s.dir, "notes.txt.gz"), later, later)

	hash, err := bcrypt.GenerateFromPassword([]byte("builder"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	passwords := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(passwords, []byte("# staff\nalice = wonderland\nbob = "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	text := fmt.Sprintf(`listener = "127.0.0.1:0"
quiet = true
threads = 1
h2c = true
allow_cors = true
expires = "1h"
max_post_data_size = 2000000

[headers]
Server = "edge"
X-Frame-Options = "DENY"

[[site.redirect]]
prefix = "/old"
to = "/small.txt"
code = 308

[[site.response]]
prefix = "/gone"
code = 410

[[site.response]]
prefix = "/sink"
code = 204

[[site.rewrite]]
prefix = "/blog"
[[site.rewrite.pattern]]
match = "^/(\\d+)$"
rewrite_as = "/posts/$1.txt"
[[site.rewrite.pattern]]
match = "^/feed$"
redirect_to = "/posts/feed.txt"
code = 301

[[site.serve_files]]
prefix = "/private"
path = %q
authorization = { realm = "Staff only", password_file = %q }

[[site.serve_files]]
prefix = "/"
path = %q
`, filepath.Join(s.dir, "private"), passwords, s.dir)
	cfg, err := site.Parse("e2e.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	_, s.addr = startServer(t, cfg, Options{})
	return s
}

// curl runs curl with args and returns its standard output and error. A
// missing curl fails the test under CI and skips it elsewhere (testenv).
func curl(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	path := testenv.Program(t, "curl")
	var out, errOut bytes.Buffer
	cmd := exec.Command(path, append([]string{"-sS", "--max-time", "20"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, errOut.String())
	}
	return out.String(), errOut.String()
}

// curlHead runs curl for url and returns the status, the response headers
// (of the last response, curl's -w %header{} is too new for CI's curl) and
// the body.
func curlHead(t *testing.T, args ...string) (int, http.Header, string) {
	t.Helper()
	headers := filepath.Join(t.TempDir(), "headers")
	body, _ := curl(t, append([]string{"-D", headers}, args...)...)
	raw, err := os.ReadFile(headers)
	if err != nil {
		t.Fatal(err)
	}
	// With -L every response's head is written: keep the last.
	blocks := strings.Split(strings.TrimSpace(string(raw)), "\r\n\r\n")
	lines := strings.Split(blocks[len(blocks)-1], "\r\n")
	var status int
	if f := strings.Fields(lines[0]); len(f) >= 2 {
		status, _ = strconv.Atoi(f[1])
	}
	h := http.Header{}
	for _, l := range lines[1:] {
		if name, value, ok := strings.Cut(l, ":"); ok {
			h.Add(name, strings.TrimSpace(value))
		}
	}
	return status, h, body
}

func TestCurlConfiguredHeaders(t *testing.T) {
	s := startE2ESite(t)
	for _, path := range []string{"/small.txt", "/gone", "/nope"} {
		_, h, _ := curlHead(t, "http://"+s.addr+path)
		if got := h.Values("Server"); len(got) != 1 || got[0] != "edge" {
			t.Errorf("%s: Server %q, want the configured one only", path, got)
		}
		if h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: configured header missing: %v", path, h)
		}
		if h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "GET") ||
			h.Get("Access-Control-Allow-Headers") == "" {
			t.Errorf("%s: allow_cors headers missing: %v", path, h)
		}
	}
}

// expires = "1h" gives every file response Cache-Control: max-age=3600 and
// an Expires an hour after its Date.
func TestCurlExpires(t *testing.T) {
	s := startE2ESite(t)
	for _, path := range []string{"/small.txt", "/notes.txt", "/docs/a.txt"} {
		status, h, _ := curlHead(t, "http://"+s.addr+path)
		if status != 200 || h.Get("Cache-Control") != "max-age=3600" {
			t.Fatalf("%s: %d, Cache-Control %q", path, status, h.Get("Cache-Control"))
		}
		date, err1 := http.ParseTime(h.Get("Date"))
		expires, err2 := http.ParseTime(h.Get("Expires"))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: Date %q, Expires %q", path, h.Get("Date"), h.Get("Expires"))
		}
		if d := expires.Sub(date); d < time.Hour-2*time.Second || d > time.Hour+2*time.Second {
			t.Fatalf("%s: Expires %v after Date, want an hour", path, d)
		}
	}
}

func TestCurlRedirectAndResponse(t *testing.T) {
	s := startE2ESite(t)
	base := "http://" + s.addr
	out, _ := curl(t, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", base+"/old/x?y")
	if out != "308 "+base+"/small.txt" {
		t.Fatalf("redirect: %q", out)
	}
	if status, _, body := curlHead(t, "-L", base+"/old"); status != 200 || body != "small file\n" {
		t.Fatalf("following the redirect: %d %q", status, body)
	}
	status, h, body := curlHead(t, base+"/gone/anything")
	if status != 410 || !strings.Contains(body, "410 Gone") || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("response 410: %d %q %v", status, body, h)
	}
	if status, _, body := curlHead(t, "-X", "DELETE", base+"/sink"); status != 204 || body != "" {
		t.Fatalf("response 204: %d %q", status, body)
	}
}

func TestCurlRewrite(t *testing.T) {
	s := startE2ESite(t)
	base := "http://" + s.addr
	if status, _, body := curlHead(t, base+"/blog/42"); status != 200 || body != "post forty-two\n" {
		t.Fatalf("rewrite_as: %d %q", status, body)
	}
	out, _ := curl(t, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", base+"/blog/feed")
	if out != "301 "+base+"/posts/feed.txt" {
		t.Fatalf("redirect_to: %q", out)
	}
	if status, _, body := curlHead(t, "-L", base+"/blog/feed"); status != 200 || body != "the feed\n" {
		t.Fatalf("following redirect_to: %d %q", status, body)
	}
	if status, _, _ := curlHead(t, base+"/blog/x"); status != 404 {
		t.Fatalf("no pattern matches: %d, want 404", status)
	}
}

// Basic authorization with a cleartext and a bcrypt password, through curl.
func TestCurlBasicAuthorization(t *testing.T) {
	s := startE2ESite(t)
	url := "http://" + s.addr + "/private/secret.txt"
	status, h, _ := curlHead(t, url)
	if status != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), `Basic realm="Staff only"`) {
		t.Fatalf("no credentials: %d, WWW-Authenticate %q", status, h.Get("WWW-Authenticate"))
	}
	for _, tc := range []struct {
		user   string
		status int
	}{
		{"alice:wonderland", 200},
		{"bob:builder", 200},
		{"alice:builder", 401},
		{"bob:wonderland", 401},
		{"carol:wonderland", 401},
	} {
		status, _, body := curlHead(t, "-u", tc.user, url)
		if status != tc.status || (status == 200 && body != "the secret\n") {
			t.Errorf("%s: %d %q, want %d", tc.user, status, body, tc.status)
		}
	}
	// The rest of the site needs no credentials.
	if status, _, _ := curlHead(t, "http://"+s.addr+"/small.txt"); status != 200 {
		t.Fatalf("public file: %d", status)
	}
}

// curl's own Expect: 100-continue: it waits for the interim response before
// sending the body; a body over max_post_data_size is refused with 413
// before curl sends it.
func TestCurlExpectContinue(t *testing.T) {
	s := startE2ESite(t)
	body := filepath.Join(t.TempDir(), "body")
	os.WriteFile(body, bytes.Repeat([]byte("x"), 1500000), 0o644)
	_, trace := curl(t, "-v", "-o", "/dev/null", "-H", "Expect: 100-continue", "--data-binary", "@"+body, "-w", "", "http://"+s.addr+"/sink")
	if !strings.Contains(trace, "> Expect: 100-continue") || !strings.Contains(trace, "< HTTP/1.1 100 Continue") ||
		!strings.Contains(trace, "< HTTP/1.1 204 No Content") {
		t.Fatalf("curl trace:\n%s", trace)
	}
	big := filepath.Join(t.TempDir(), "big")
	os.WriteFile(big, bytes.Repeat([]byte("x"), 3000000), 0o644)
	out, trace := curl(t, "-v", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect: 100-continue", "--data-binary", "@"+big, "http://"+s.addr+"/sink")
	if out != "413" || strings.Contains(trace, "100 Continue") {
		t.Fatalf("body over the limit: %q\n%s", out, trace)
	}
}

// serve_files' HTTP features as curl meets them.
func TestCurlServeFiles(t *testing.T) {
	s := startE2ESite(t)
	base := "http://" + s.addr

	status, h, _ := curlHead(t, base+"/small.txt")
	etag, modified := h.Get("ETag"), h.Get("Last-Modified")
	if status != 200 || etag == "" || modified == "" {
		t.Fatalf("validators: %d %v", status, h)
	}
	if status, _, body := curlHead(t, "-H", "If-None-Match: "+etag, base+"/small.txt"); status != 304 || body != "" {
		t.Fatalf("If-None-Match: %d %q", status, body)
	}
	if status, _, _ := curlHead(t, "-z", modified, base+"/small.txt"); status != 304 {
		t.Fatalf("If-Modified-Since (curl -z): %d", status)
	}

	status, h, body := curlHead(t, "-r", "5-9", base+"/digits.txt")
	if status != 206 || body != "56789" || h.Get("Content-Range") != "bytes 5-9/20" {
		t.Fatalf("range: %d %q %v", status, body, h)
	}
	if status, h, _ := curlHead(t, "-r", "100-", base+"/digits.txt"); status != 416 || h.Get("Content-Range") != "bytes */20" {
		t.Fatalf("unsatisfiable range: %d %v", status, h)
	}

	out, _ := curl(t, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", base+"/docs")
	if out != "301 "+base+"/docs/" {
		t.Fatalf("directory without slash: %q", out)
	}
	if status, _, listing := curlHead(t, base+"/docs/"); status != 200 || !strings.Contains(listing, `href="./a.txt"`) || !strings.Contains(listing, `href="./b.txt"`) {
		t.Fatalf("auto_index: %d\n%s", status, listing)
	}
	for _, path := range []string{"/../../etc/passwd", "/%2e%2e/%2E%2E/etc/passwd", "/docs/..%2f..%2f..%2fetc/passwd", "/outside.txt"} {
		if status, _, body := curlHead(t, "--path-as-is", base+path); status != 404 || strings.Contains(body, "root:") {
			t.Fatalf("climbing out of the root by %s: %d", path, status)
		}
	}

	status, h, plain := curlHead(t, "--compressed", base+"/notes.txt")
	if status != 200 || h.Get("Content-Encoding") != "gzip" || h.Get("Vary") != "Accept-Encoding" || plain != string(s.gzBody) {
		t.Fatalf("precompressed: %d %v, %d bytes decoded", status, h, len(plain))
	}
	if status, h, raw := curlHead(t, base+"/notes.txt"); status != 200 || h.Get("Content-Encoding") != "" || raw != string(s.gzBody) {
		t.Fatalf("without Accept-Encoding: %d %v", status, h)
	}
}

// curl keeps an HTTP/1.0 connection open when it asks for keep-alive and the
// server answers "Connection: keep-alive".
func TestCurlHTTP10KeepAlive(t *testing.T) {
	s := startE2ESite(t)
	url := "http://" + s.addr + "/small.txt"
	out, trace := curl(t, "-v", "--http1.0", "-H", "Connection: keep-alive", url, url)
	if out != "small file\nsmall file\n" {
		t.Fatalf("bodies %q", out)
	}
	if !strings.Contains(trace, "< Connection: keep-alive") || !strings.Contains(trace, "Re-using existing connection") {
		t.Fatalf("the connection was not kept:\n%s", trace)
	}
}

// request_buffer_size and max_post_data_size from the configuration set
// where 414, 431 and 413 begin.
func TestConfiguredLimits(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, "request_buffer_size = 8192\nmax_post_data_size = 100"), Options{})
	header := func(n int) string { return "X-Pad: " + strings.Repeat("p", n) + "\r\n" }
	for _, tc := range []struct {
		name, raw string
		status    int
	}{
		{"line over the default buffer", "GET /" + strings.Repeat("a", 6000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 404},
		{"line over the configured buffer", "GET /" + strings.Repeat("a", 8200) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"headers over the default buffer", "GET /hello HTTP/1.1\r\nHost: a\r\n" + header(7000) + "\r\n", 200},
		{"headers over the configured buffer", "GET /hello HTTP/1.1\r\nHost: a\r\n" + header(8200) + "\r\n", 431},
		{"body at the limit", "POST /teapot HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("b", 100), 418},
		{"body over the limit", "POST /teapot HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n" + strings.Repeat("b", 101), 413},
	} {
		c := dialRaw(t, addr)
		c.send(t, tc.raw)
		if resp, _ := c.response(t, "GET"); resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		c.Close()
	}
}

// [[site.response]] with a body naming ${remote_address} answers each
// client with its own address, over HTTP/1.1, h2c and HTTP/2 over TLS (the
// one handler interface), with the configured Content-Type; HEAD gets the
// length. Each curl connects from its own loopback address.
func TestCurlResponseClientAddress(t *testing.T) {
	srv, addr, _ := startH2C(t, "[tls_listener]\naddress = \"127.0.0.1:0\"\n"+certLines(t, "ecdsa-p256")+clientAddressRoute+`
[[site.response]]
prefix = "/json"
code = 403
body = "{\"denied\": \"${remote_address}\", \"price\": \"$$5\"}"
content_type = "application/json"
`)
	tlsAddr, _ := srv.TLSAddr()
	for i, c := range []struct {
		args  []string
		url   string
		proto string
	}{
		{[]string{"--http1.1"}, "http://" + addr, "1.1"},
		{[]string{"--http2-prior-knowledge"}, "http://" + addr, "2"},
		{[]string{"-k", "--http2"}, "https://" + tlsAddr.String(), "2"},
		{[]string{"-k", "--http1.1"}, "https://" + tlsAddr.String(), "1.1"},
	} {
		from := fmt.Sprintf("127.0.0.%d", 11+i)
		args := append([]string{"--interface", from, "-w", "HTTP/%{http_version}"}, c.args...)
		if out, _ := curl(t, append(args, c.url+"/ip")...); out != "you are "+from+"\nHTTP/"+c.proto {
			t.Errorf("%s from %s: %q", c.url+"/ip", from, out)
		}
		status, h, body := curlHead(t, append(args[:2:2], append(c.args, c.url+"/json")...)...)
		if want := `{"denied": "` + from + `", "price": "$5"}`; status != 403 || body != want || h.Get("Content-Type") != "application/json" {
			t.Errorf("%s from %s: %d %q %v, want 403 %q", c.url+"/json", from, status, body, h, want)
		}
		if status, h, _ := curlHead(t, append(args[:2:2], append(c.args, "-I", "-o", "/dev/null", c.url+"/ip")...)...); status != 200 || h.Get("Content-Length") != strconv.Itoa(len("you are "+from+"\n")) {
			t.Errorf("HEAD %s: %d %v", c.url+"/ip", status, h)
		}
	}
}
