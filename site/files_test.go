package site

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"lwango/http1"
)

var fileTime = time.Date(2024, 6, 1, 8, 30, 0, 0, time.UTC)

const filesConf = `
expires = "1h"
[[site.serve_files]]
prefix = "/"
path = "ROOT"
`

// newFileSite serves a fresh directory with a few files.
func newFileSite(t *testing.T, extra string) (*Site, string) {
	dir := t.TempDir()
	writeFile(t, dir, "index.html", []byte("<h1>home</h1>"), fileTime)
	writeFile(t, dir, "style.css", []byte("body{}"), fileTime)
	writeFile(t, dir, "data.bin", bigData(100), fileTime)
	writeFile(t, dir, "big.txt", bigData(100000), fileTime)
	writeFile(t, dir, "sub/page.txt", []byte("sub page"), fileTime)
	return newTestSite(t, dir, filesConf+extra), dir
}

func TestServeSmallFile(t *testing.T) {
	s, _ := newFileSite(t, "")
	r := get(t, s, "/style.css")
	expect(t, "status", r.Status, 200)
	expect(t, "body", r.body, "body{}")
	expect(t, "type", r.ContentType, "text/css; charset=utf-8")
	expect(t, "Last-Modified", r.header("Last-Modified"), "Sat, 01 Jun 2024 08:30:00 GMT")
	expect(t, "ETag", r.header("ETag"), `"6-`+strconvHex(fileTime.UnixNano())+`"`)
	expect(t, "Cache-Control", r.header("Cache-Control"), "max-age=3600")
	expect(t, "Expires", r.header("Expires"), "Sat, 01 Mar 2025 13:00:00 GMT")
	expect(t, "Vary", r.header("Vary"), "Accept-Encoding")
	expect(t, "Accept-Ranges", r.header("Accept-Ranges"), "bytes")
	if r.File >= 0 {
		t.Error("a small file is sent from memory")
	}
	r = get(t, s, "/data.bin")
	expect(t, "unknown type", r.ContentType, "application/octet-stream")

	r = serve(t, s, request(http1.MethodHead, "/style.css"))
	expect(t, "HEAD status", r.Status, 200)
	expect(t, "HEAD body (the engine drops it, keeping its length)", r.body, "body{}")
}

func strconvHex(n int64) string {
	const digits = "0123456789abcdef"
	var b []byte
	for ; n > 0; n /= 16 {
		b = append([]byte{digits[n%16]}, b...)
	}
	return string(b)
}

func TestServeLargeFileWithSendfile(t *testing.T) {
	s, _ := newFileSite(t, "")
	r := get(t, s, "/big.txt")
	expect(t, "status", r.Status, 200)
	if r.File < 0 || r.FileOffset != 0 || r.FileLength != 100000 {
		t.Fatalf("large file: fd %d offset %d length %d", r.File, r.FileOffset, r.FileLength)
	}
	expect(t, "body", string(r.body) == string(bigData(100000)), true)
	expect(t, "type", r.ContentType, "text/plain; charset=utf-8")
	expect(t, "ETag", r.header("ETag"), `"186a0-`+strconvHex(fileTime.UnixNano())+`"`)
	expect(t, "Expires", r.header("Expires"), "Sat, 01 Mar 2025 13:00:00 GMT")
}

func TestServeDirectories(t *testing.T) {
	s, dir := newFileSite(t, "")
	r := get(t, s, "/")
	expect(t, "index", r.body, "<h1>home</h1>")
	expect(t, "index type", r.ContentType, "text/html; charset=utf-8")

	r = get(t, s, "/sub?a=1&b=2")
	expect(t, "redirect status", r.Status, 301)
	expect(t, "redirect keeps the query", r.header("Location"), "/sub/?a=1&b=2")
	os.Mkdir(filepath.Join(dir, "with space"), 0o755)
	r = get(t, s, "/with space")
	expect(t, "redirect escapes", r.header("Location"), "/with%20space/")

	// No index: a listing, sorted, escaped, without dotfiles.
	writeFile(t, dir, "sub/<b>&.txt", []byte("x"), fileTime)
	writeFile(t, dir, "sub/a b.txt", []byte("xy"), fileTime)
	writeFile(t, dir, "sub/.secret", []byte("x"), fileTime)
	os.Mkdir(filepath.Join(dir, "sub", "zdir"), 0o755)
	r = get(t, s, "/sub/")
	expect(t, "listing status", r.Status, 200)
	body := string(r.body)
	for _, want := range []string{
		`<a href="./%3Cb%3E&amp;.txt">&lt;b&gt;&amp;.txt</a> (1 bytes)`,
		`<a href="./a%20b.txt">a b.txt</a> (2 bytes)`,
		`<a href="./page.txt">page.txt</a> (8 bytes)`,
		`<a href="./zdir/">zdir/</a>`,
		`<a href="../">../</a>`,
		`<title>Index of /sub/</title>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("listing lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "secret") {
		t.Errorf("listing shows a dotfile:\n%s", body)
	}
	if strings.Index(body, "&lt;b&gt;") > strings.Index(body, "a b.txt") || strings.Index(body, "page.txt") > strings.Index(body, "zdir") {
		t.Errorf("listing not sorted:\n%s", body)
	}
}

func TestServeDirectoriesWithoutAutoIndex(t *testing.T) {
	s, _ := newFileSite(t, "index_path = \"\"\nauto_index = false\n")
	expect(t, "no index, no listing", get(t, s, "/sub/").Status, 404)
	expect(t, "index_path empty", get(t, s, "/").Status, 404)
	expect(t, "files still served", get(t, s, "/sub/page.txt").Status, 200)
}

func TestServeFilesNotFoundAndHidden(t *testing.T) {
	s, dir := newFileSite(t, "")
	writeFile(t, dir, ".htpasswd", []byte("x = y"), fileTime)
	writeFile(t, dir, ".git/config", []byte("x"), fileTime)
	writeFile(t, dir, ".well-known/acme-challenge/token", []byte("proof"), fileTime)
	for _, p := range []string{"/missing", "/sub/missing.txt", "/.htpasswd", "/.git/config", "/sub/page.txt/x"} {
		if r := get(t, s, p); r.Status != 404 {
			t.Errorf("GET %s: %d, want 404", p, r.Status)
		}
	}
	expect(t, ".well-known", get(t, s, "/.well-known/acme-challenge/token").body, "proof")
}

func TestServeFilesMethods(t *testing.T) {
	s, _ := newFileSite(t, "")
	for _, m := range []http1.Method{http1.MethodPost, http1.MethodPut, http1.MethodDelete, http1.MethodOptions} {
		r := serve(t, s, request(m, "/style.css"))
		expect(t, "status", r.Status, 405)
		expect(t, "Allow", r.header("Allow"), "GET, HEAD")
	}
}

// TestServeFilesFIFO checks that a FIFO is refused without blocking.
func TestServeFilesFIFO(t *testing.T) {
	s, dir := newFileSite(t, "")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, "fifo", get(t, s, "/fifo").Status, 404)
}

func TestServeFilesSymlinks(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret.txt", []byte("secret"), fileTime)
	for _, beneath := range []bool{true, false} {
		s, dir := newFileSite(t, "")
		h := s.routes[0].handler.(*serveFiles)
		if beneath && !h.root.beneath {
			t.Fatal("openat2 with RESOLVE_BENEATH is missing on this kernel")
		}
		h.root.beneath = beneath
		for _, link := range []struct{ name, target string }{
			{"abs-out", filepath.Join(outside, "secret.txt")},
			{"rel-out", "../" + filepath.Base(outside) + "/secret.txt"},
			{"dir-out", outside},
			{"sub/up", "../../" + filepath.Base(outside)},
			{"in", "style.css"},
			{"sub/in", "../style.css"},
			{"dir-in", "sub"},
		} {
			if err := os.Symlink(link.target, filepath.Join(dir, link.name)); err != nil {
				t.Fatal(err)
			}
		}
		// Point the outside files next to the served directory for the
		// relative links.
		os.Symlink(outside, filepath.Join(filepath.Dir(dir), filepath.Base(outside)))
		for _, p := range []string{"/abs-out", "/rel-out", "/dir-out/secret.txt", "/sub/up/secret.txt", "/dir-out/"} {
			if r := get(t, s, p); r.Status != 404 || strings.Contains(string(r.body), "secret") {
				t.Errorf("beneath=%v: GET %s: %d %q, want 404", beneath, p, r.Status, r.body)
			}
		}
		for _, p := range []string{"/in", "/sub/in"} {
			expect(t, p, get(t, s, p).body, "body{}")
		}
		expect(t, "/dir-in/page.txt", get(t, s, "/dir-in/page.txt").body, "sub page")
	}
}

func TestConditionalRequests(t *testing.T) {
	s, _ := newFileSite(t, "")
	for _, path := range []string{"/style.css", "/big.txt"} {
		etag := get(t, s, path).header("ETag")
		for _, tt := range []struct {
			header string
			status int
		}{
			{"If-None-Match: " + etag, 304},
			{"If-None-Match: W/" + etag, 304},
			{`If-None-Match: "other", ` + etag, 304},
			{`If-None-Match: *`, 304},
			{`If-None-Match: "other"`, 200},
			{"If-Modified-Since: Sat, 01 Jun 2024 08:30:00 GMT", 304},
			{"If-Modified-Since: Sat, 01 Jun 2024 09:00:00 GMT", 304},
			{"If-Modified-Since: Saturday, 01-Jun-24 08:30:00 GMT", 304},
			{"If-Modified-Since: Sat Jun  1 08:30:00 2024", 304},
			{"If-Modified-Since: Sat, 01 Jun 2024 08:29:59 GMT", 200},
			{"If-Modified-Since: garbage", 200},
		} {
			r := get(t, s, path, tt.header)
			if r.Status != tt.status {
				t.Errorf("%s %s: %d, want %d", path, tt.header, r.Status, tt.status)
			}
			if r.Status == 304 && (len(r.body) != 0 || r.ContentType != "" || r.header("ETag") != etag) {
				t.Errorf("%s %s: 304 with body %q type %q etag %q", path, tt.header, r.body, r.ContentType, r.header("ETag"))
			}
		}
		// If-None-Match wins over If-Modified-Since.
		r := get(t, s, path, `If-None-Match: "other"`, "If-Modified-Since: Sat, 01 Jun 2024 08:30:00 GMT")
		expect(t, path+" INM decides", r.Status, 200)
	}
}

func TestRanges(t *testing.T) {
	s, _ := newFileSite(t, "")
	small := bigData(100)
	for _, path := range []string{"/data.bin", "/big.txt"} {
		data := small
		if path == "/big.txt" {
			data = bigData(100000)
		}
		size := len(data)
		for _, tt := range []struct {
			rng          string
			status       int
			start, end   int // inclusive
			contentRange string
		}{
			{"bytes=0-9", 206, 0, 9, "bytes 0-9/" + itoa(size)},
			{"bytes=10-", 206, 10, size - 1, "bytes 10-" + itoa(size-1) + "/" + itoa(size)},
			{"bytes=-5", 206, size - 5, size - 1, "bytes " + itoa(size-5) + "-" + itoa(size-1) + "/" + itoa(size)},
			{"bytes=-999999", 206, 0, size - 1, "bytes 0-" + itoa(size-1) + "/" + itoa(size)},
			{"bytes=5-999999", 206, 5, size - 1, "bytes 5-" + itoa(size-1) + "/" + itoa(size)},
			{"BYTES=1-1", 206, 1, 1, "bytes 1-1/" + itoa(size)},
			{"bytes=" + itoa(size) + "-", 416, 0, 0, "bytes */" + itoa(size)},
			{"bytes=-0", 416, 0, 0, "bytes */" + itoa(size)},
			{"bytes=0-1,5-6", 200, 0, size - 1, ""},
			{"bytes=5-2", 200, 0, size - 1, ""},
			{"bytes=x-2", 200, 0, size - 1, ""},
			{"items=0-1", 200, 0, size - 1, ""},
			{"bytes=99999999999999999999-", 200, 0, size - 1, ""},
		} {
			r := get(t, s, path, "Range: "+tt.rng)
			if r.Status != tt.status || r.header("Content-Range") != tt.contentRange {
				t.Errorf("%s %s: %d %q, want %d %q", path, tt.rng, r.Status, r.header("Content-Range"), tt.status, tt.contentRange)
				continue
			}
			if tt.status != 416 && string(r.body) != string(data[tt.start:tt.end+1]) {
				t.Errorf("%s %s: wrong body (%d bytes)", path, tt.rng, len(r.body))
			}
			if tt.status == 416 && r.File >= 0 {
				t.Errorf("%s %s: 416 with a file", path, tt.rng)
			}
		}
		etag := get(t, s, path).header("ETag")
		expect(t, path+" If-Range matching", get(t, s, path, "Range: bytes=0-0", "If-Range: "+etag).Status, 206)
		expect(t, path+" If-Range other", get(t, s, path, "Range: bytes=0-0", `If-Range: "x"`).Status, 200)
		expect(t, path+" If-Range weak", get(t, s, path, "Range: bytes=0-0", "If-Range: W/"+etag).Status, 200)
		expect(t, path+" If-Range date", get(t, s, path, "Range: bytes=0-0", "If-Range: Sat, 01 Jun 2024 08:30:00 GMT").Status, 206)
		expect(t, path+" HEAD ignores Range", serve(t, s, request(http1.MethodHead, path, "Range: bytes=0-0")).Status, 200)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func TestEmptyFileRange(t *testing.T) {
	s, dir := newFileSite(t, "")
	writeFile(t, dir, "empty.txt", nil, fileTime)
	r := get(t, s, "/empty.txt", "Range: bytes=0-")
	expect(t, "status", r.Status, 416)
	expect(t, "Content-Range", r.header("Content-Range"), "bytes */0")
	expect(t, "plain GET", get(t, s, "/empty.txt").Status, 200)
}

func TestPrecompressed(t *testing.T) {
	for _, size := range []int{3000, 50000} {
		s, dir := newFileSite(t, "")
		plain := bigData(size)
		writeFile(t, dir, "app.js", plain, fileTime)
		writeFile(t, dir, "app.js.br", []byte("BR"), fileTime)
		writeFile(t, dir, "app.js.zst", []byte("ZSTD"), fileTime)
		writeFile(t, dir, "app.js.gz", []byte("GZIP"), fileTime.Add(time.Second))
		writeFile(t, dir, "old.js", plain, fileTime)
		writeFile(t, dir, "old.js.gz", []byte("STALE"), fileTime.Add(-time.Second))
		writeFile(t, dir, "fat.js", []byte("small"), fileTime)
		writeFile(t, dir, "fat.js.gz", []byte("larger than the file"), fileTime)
		for _, tt := range []struct {
			path, accept, body, encoding string
		}{
			{"/app.js", "", string(plain), ""},
			{"/app.js", "gzip, deflate, br, zstd", "BR", "br"},
			{"/app.js", "gzip, zstd", "ZSTD", "zstd"},
			{"/app.js", "gzip", "GZIP", "gzip"},
			{"/app.js", "x-gzip", "GZIP", "gzip"},
			{"/app.js", "br;q=0, gzip", "GZIP", "gzip"},
			{"/app.js", "br;q=0.5, gzip;q=0.8", "GZIP", "gzip"},
			{"/app.js", "br;q=0.5, gzip;q=0.500", "BR", "br"},
			{"/app.js", "BR;Q=1.0", "BR", "br"},
			{"/app.js", "*", "BR", "br"},
			{"/app.js", "*;q=0, gzip", "GZIP", "gzip"},
			{"/app.js", "br;q=0, zstd;q=0, gzip;q=0", string(plain), ""},
			{"/app.js", "deflate, identity", string(plain), ""},
			{"/app.js", "deflote, brr", string(plain), ""},
			{"/old.js", "gzip", string(plain), ""},
			{"/fat.js", "gzip", "small", ""},
		} {
			r := get(t, s, tt.path, "Accept-Encoding: "+tt.accept)
			if r.Status != 200 || string(r.body) != tt.body || r.header("Content-Encoding") != tt.encoding {
				t.Errorf("size %d %s %q: %d body %.20q encoding %q, want %.20q %q", size, tt.path, tt.accept, r.Status, r.body, r.header("Content-Encoding"), tt.body, tt.encoding)
			}
			expect(t, "Vary", r.header("Vary"), "Accept-Encoding")
			if tt.path == "/app.js" {
				expect(t, "type of a coded file", r.ContentType, "text/javascript; charset=utf-8")
			}
		}
		// Each coding has its own ETag; a conditional request matches its own.
		br := get(t, s, "/app.js", "Accept-Encoding: br")
		id := get(t, s, "/app.js")
		if br.header("ETag") == id.header("ETag") {
			t.Errorf("br and identity share ETag %s", br.header("ETag"))
		}
		expect(t, "br 304", get(t, s, "/app.js", "Accept-Encoding: br", "If-None-Match: "+br.header("ETag")).Status, 304)
		expect(t, "identity etag vs br", get(t, s, "/app.js", "Accept-Encoding: br", "If-None-Match: "+id.header("ETag")).Status, 200)
		// A Range request gets the identity representation.
		r := get(t, s, "/app.js", "Accept-Encoding: br", "Range: bytes=0-3")
		expect(t, "range on coded file", r.body, string(plain[:4]))
		expect(t, "range encoding", r.header("Content-Encoding"), "")
	}
}

func TestPrecompressedDisabled(t *testing.T) {
	s, dir := newFileSite(t, "serve_precompressed_files = false\n")
	writeFile(t, dir, "app.js", bigData(1000), fileTime)
	writeFile(t, dir, "app.js.br", []byte("BR"), fileTime)
	r := get(t, s, "/app.js", "Accept-Encoding: br")
	if string(r.body) != string(bigData(1000)) || r.header("Content-Encoding") != "" || r.header("Vary") != "" {
		t.Errorf("precompressed disabled: %.10q %q %q", r.body, r.header("Content-Encoding"), r.header("Vary"))
	}
}

// TestCacheRevalidation checks that a changed small file is seen once
// cache_for has passed, and not before.
func TestCacheRevalidation(t *testing.T) {
	s, dir := newFileSite(t, "cache_for = \"5s\"\n")
	now := testNow
	s.now = func() time.Time { return now }
	expect(t, "first", get(t, s, "/style.css").body, "body{}")
	writeFile(t, dir, "style.css", []byte("body{color:red}"), fileTime.Add(time.Hour))
	now = now.Add(4 * time.Second)
	expect(t, "within cache_for", get(t, s, "/style.css").body, "body{}")
	now = now.Add(2 * time.Second)
	r := get(t, s, "/style.css")
	expect(t, "after cache_for", r.body, "body{color:red}")
	expect(t, "new Last-Modified", r.header("Last-Modified"), "Sat, 01 Jun 2024 09:30:00 GMT")

	os.Remove(filepath.Join(dir, "style.css"))
	now = now.Add(6 * time.Second)
	expect(t, "removed", get(t, s, "/style.css").Status, 404)

	// An unchanged file stays cached: replacing the entry's bytes shows
	// that the answer comes from the cache.
	get(t, s, "/index.html")
	h := s.routes[0].handler.(*serveFiles)
	e := h.cache.lookup([]byte("/index.html"))
	if e == nil {
		t.Fatal("index.html not cached")
	}
	e.data[encIdentity] = []byte("from cache")
	now = now.Add(time.Minute)
	expect(t, "revalidated", get(t, s, "/index.html").body, "from cache")
}

// TestServeCachedFileAllocatesNothing is the promise the static-file
// benchmark rests on.
func TestServeCachedFileAllocatesNothing(t *testing.T) {
	s, _ := newFileSite(t, "")
	req := request(http1.MethodGet, "/style.css", "Accept-Encoding: gzip, br", `If-None-Match: "nope"`)
	resp := &http1.Response{Extra: make([]byte, 0, 1024)}
	s.ServeHTTP1(req, resp) // fill the cache
	allocs := testing.AllocsPerRun(1000, func() {
		resp.Reset()
		s.ServeHTTP1(req, resp)
	})
	if allocs != 0 || resp.Status != 200 {
		t.Errorf("cached file: %v allocations, status %d", allocs, resp.Status)
	}
	rangeReq := request(http1.MethodGet, "/data.bin", "Range: bytes=5-9")
	s.ServeHTTP1(rangeReq, resp)
	allocs = testing.AllocsPerRun(1000, func() {
		resp.Reset()
		s.ServeHTTP1(rangeReq, resp)
	})
	if allocs != 0 || resp.Status != 206 {
		t.Errorf("cached range: %v allocations, status %d", allocs, resp.Status)
	}
}

func BenchmarkServeCachedFile(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, dir, "100.html", bigData(100), fileTime)
	s := newTestSite(b, dir, filesConf)
	s.now = time.Now
	req := request(http1.MethodGet, "/100.html", "Accept-Encoding: gzip, deflate")
	resp := &http1.Response{Extra: make([]byte, 0, 1024)}
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset()
		s.ServeHTTP1(req, resp)
	}
}

func BenchmarkServeLargeFile(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, dir, "big.bin", bigData(1<<20), fileTime)
	s := newTestSite(b, dir, filesConf)
	s.now = time.Now
	req := request(http1.MethodGet, "/big.bin")
	resp := &http1.Response{Extra: make([]byte, 0, 1024)}
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset()
		s.ServeHTTP1(req, resp)
		syscall.Close(resp.File)
	}
}

func BenchmarkHello(b *testing.B) {
	s := newTestSite(b, "", "[[site.hello]]\nprefix = \"/hello\"\n[[site.serve_files]]\nprefix = \"/\"\npath = \""+b.TempDir()+"\"\n")
	req := request(http1.MethodGet, "/hello")
	resp := &http1.Response{Extra: make([]byte, 0, 1024)}
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset()
		s.ServeHTTP1(req, resp)
	}
}

// FuzzRange checks that any Range header against any size yields a range
// inside the representation, or no range at all.
func FuzzRange(f *testing.F) {
	for _, seed := range []string{"bytes=0-9", "bytes=-5", "bytes=10-", "bytes=5-2", "bytes=0-1,2-3", "bytes=-0", "BYTES= 1-1 "} {
		f.Add(seed, int64(100))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 { // math.MinInt64
			return
		}
		r, outcome := parseRange([]byte(header), size)
		if outcome == rangePartial && (r.start < 0 || r.length <= 0 || r.start+r.length > size) {
			t.Fatalf("parseRange(%q, %d) = %+v", header, size, r)
		}
	})
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestNoDescriptorLeaks runs every kind of answer for small and large files
// and checks that the only descriptors left open are the ones handed to the
// engine in responses (which serve closes).
func TestNoDescriptorLeaks(t *testing.T) {
	s, dir := newFileSite(t, "")
	writeFile(t, dir, "big.js", bigData(50000), fileTime)
	writeFile(t, dir, "big.js.br", []byte("BR"), fileTime)
	writeFile(t, dir, "big.js.gz", []byte("GZIP"), fileTime)
	etag := get(t, s, "/big.js").header("ETag")
	get(t, s, "/big.txt") // kept open from now on (no precompressed sibling)
	before := openFDs(t)
	for i := 0; i < 20; i++ {
		for _, p := range []string{"/big.js", "/big.txt", "/style.css", "/", "/sub/", "/sub", "/missing", "/.hidden"} {
			for _, hdrs := range [][]string{
				nil,
				{"Accept-Encoding: br, gzip"},
				{"Accept-Encoding: gzip;q=0.5, br;q=0.1, zstd"},
				{"If-None-Match: " + etag},
				{"Range: bytes=1-2"},
				{"Range: bytes=999999-"},
			} {
				get(t, s, p, hdrs...)
				serve(t, s, request(http1.MethodHead, p, hdrs...))
			}
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("open descriptors: %d before, %d after", before, after)
	}
}

// TestConcurrentServing hits one site from several goroutines while files
// change, for the race detector.
func TestConcurrentServing(t *testing.T) {
	s, dir := newFileSite(t, "cache_for = \"1s\"\n")
	var clock atomic.Int64
	clock.Store(testNow.UnixNano())
	s.SetClock(func() time.Time { return time.Unix(0, clock.Add(int64(100*time.Millisecond))) })
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				name := "/f" + itoa(i%7) + ".txt"
				r := get(t, s, name)
				if r.Status != 200 && r.Status != 404 {
					t.Errorf("GET %s: %d", name, r.Status)
				}
			}
		}()
	}
	for i := 0; i < 300; i++ {
		writeFile(t, dir, "f"+itoa(i%7)+".txt", []byte("v"+itoa(i)), fileTime.Add(time.Duration(i)*time.Second))
	}
	wg.Wait()
}
