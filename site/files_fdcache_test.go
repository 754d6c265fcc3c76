package site

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/http1"
)

// serveHeld runs req through s and returns the response without giving its
// descriptor back, as a server still sending the body would hold it.
func serveHeld(t *testing.T, s *Site, path string) *http1.Response {
	t.Helper()
	resp := &http1.Response{}
	resp.Reset()
	s.ServeHTTP1(request(http1.MethodGet, path), resp)
	if resp.Status != 200 || resp.File < 0 {
		t.Fatalf("GET %s: status %d, file %d", path, resp.Status, resp.File)
	}
	return resp
}

// inode returns the inode fd refers to, or 0 when fd is not open.
func inode(fd int) uint64 {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0
	}
	return st.Ino
}

// replaceFile gives dir/name new contents under a new inode, as a deploy
// that renames files into place does.
func replaceFile(t *testing.T, dir, name string, data []byte, mtime time.Time) {
	t.Helper()
	writeFile(t, dir, name+".new", data, mtime)
	if err := os.Rename(filepath.Join(dir, name+".new"), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// TestOpenFileCacheKeepsLargeFilesOpen checks that a large file is opened
// once and answered from the same descriptor, with the same headers, until
// cache_for passes and it changed on disk.
func TestOpenFileCacheKeepsLargeFilesOpen(t *testing.T) {
	s, dir := newFileSite(t, "cache_for = \"5s\"\n")
	now := testNow
	s.now = func() time.Time { return now }
	first := get(t, s, "/big.txt")
	fds := openFDs(t)
	h := s.routes[0].handler.(*serveFiles)
	f := h.open.get([]byte("/big.txt"))
	if f == nil {
		t.Fatal("big.txt is not kept open")
	}
	f.ReleaseFile(f.fd)
	held := serveHeld(t, s, "/big.txt")
	if held.File != f.fd || held.FileOwner == nil {
		t.Fatalf("second GET: descriptor %d owner %v, want the kept one %d", held.File, held.FileOwner, f.fd)
	}
	held.FileOwner.ReleaseFile(held.File)
	again := get(t, s, "/big.txt")
	for _, name := range []string{"Last-Modified", "ETag", "Accept-Ranges", "Cache-Control", "Expires"} {
		expect(t, name, again.header(name), first.header(name))
	}
	expect(t, "body", string(again.body), string(bigData(100000)))
	if got := openFDs(t); got != fds {
		t.Errorf("descriptors %d after more requests, want %d", got, fds)
	}

	oldInode := inode(f.fd)
	replaceFile(t, dir, "big.txt", bigData(70000), fileTime.Add(time.Hour))
	now = now.Add(4 * time.Second)
	expect(t, "within cache_for", len(get(t, s, "/big.txt").body), 100000)
	now = now.Add(2 * time.Second)
	r := get(t, s, "/big.txt")
	expect(t, "after cache_for", len(r.body), 70000)
	expect(t, "new Last-Modified", r.header("Last-Modified"), "Sat, 01 Jun 2024 09:30:00 GMT")
	if got := openFDs(t); got != fds {
		t.Errorf("descriptors %d after the file changed, want %d (the old one closed)", got, fds)
	}
	if inode(f.fd) == oldInode {
		t.Error("the replaced file's descriptor is still open")
	}

	os.Remove(filepath.Join(dir, "big.txt"))
	now = now.Add(6 * time.Second)
	expect(t, "removed", get(t, s, "/big.txt").Status, 404)
	if got := openFDs(t); got != fds-1 {
		t.Errorf("descriptors %d after the file was removed, want %d", got, fds-1)
	}
}

// TestOpenFileOutlivesTheCacheWhileSent checks that a descriptor a
// response is still sending stays open when the site is closed (a reload
// retiring it), and closes once the response gives it back.
func TestOpenFileOutlivesTheCacheWhileSent(t *testing.T) {
	s, _ := newFileSite(t, "")
	get(t, s, "/big.txt")
	held := serveHeld(t, s, "/big.txt")
	ino := inode(held.File)
	s.Close()
	if inode(held.File) != ino {
		t.Fatal("closing the site closed a descriptor a response holds")
	}
	buf := make([]byte, 10)
	if n, err := unix.Pread(held.File, buf, 0); n != 10 || err != nil {
		t.Fatalf("reading the held descriptor: %d, %v", n, err)
	}
	held.FileOwner.ReleaseFile(held.File)
	if inode(held.File) == ino {
		t.Error("the descriptor stayed open after its last response gave it back")
	}
}

// TestOpenFileCacheSkipsPrecompressedFiles checks that a large file with a
// precompressed sibling is not kept open (its sibling is chosen per
// request), and that a sibling appearing later is seen after cache_for.
func TestOpenFileCacheSkipsPrecompressedFiles(t *testing.T) {
	s, dir := newFileSite(t, "cache_for = \"5s\"\n")
	now := testNow
	s.now = func() time.Time { return now }
	h := s.routes[0].handler.(*serveFiles)
	get(t, s, "/big.txt")
	writeFile(t, dir, "big.txt.gz", []byte("GZIP"), fileTime)
	now = now.Add(6 * time.Second)
	r := get(t, s, "/big.txt", "Accept-Encoding: gzip")
	expect(t, "sibling served", string(r.body), "GZIP")
	if f := h.open.get([]byte("/big.txt")); f != nil {
		f.ReleaseFile(f.fd)
		t.Error("a file with a precompressed sibling is kept open")
	}
}

// TestServeOpenFileAllocatesNothing: answering from a kept-open file
// allocates nothing, ranges included.
func TestServeOpenFileAllocatesNothing(t *testing.T) {
	s, _ := newFileSite(t, "")
	resp := &http1.Response{Extra: make([]byte, 0, 1024)}
	for _, req := range []*http1.Request{
		request(http1.MethodGet, "/big.txt", "Accept-Encoding: gzip, br"),
		request(http1.MethodGet, "/big.txt", "Range: bytes=5-9"),
	} {
		serve(t, s, req)
		allocs := testing.AllocsPerRun(1000, func() {
			resp.Reset()
			s.ServeHTTP1(req, resp)
			resp.FileOwner.ReleaseFile(resp.File)
		})
		if allocs != 0 || resp.File < 0 {
			t.Errorf("%s: %v allocations, file %d", req.Headers[len(req.Headers)-1].Name, allocs, resp.File)
		}
	}
}
