package site

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/http1"
)

// workingSetSite serves n distinct files of size bytes each.
func workingSetSite(t testing.TB, n, size int) *Site {
	dir := t.TempDir()
	for i := range n {
		writeFile(t, dir, fmt.Sprintf("f%04d.txt", i), bigData(size), fileTime)
	}
	return newTestSite(t, dir, filesConf)
}

// BenchmarkServeFilesWorkingSet requests n distinct 8 KiB files in turn, the
// pattern under which a cache smaller than the working set thrashes: with
// 3000 files (24 MiB) the cost per request must stay at most that of an
// uncached open and sendfile (cache=0MiB), not grow with the size of the
// cache.
func BenchmarkServeFilesWorkingSet(b *testing.B) {
	for _, bc := range []struct {
		n      int
		budget int64
	}{{500, cacheBytes}, {3000, cacheBytes}, {3000, 0}} {
		n := bc.n
		b.Run(fmt.Sprintf("files=%d/cache=%dMiB", n, bc.budget>>20), func(b *testing.B) {
			s := workingSetSite(b, n, 8<<10)
			s.now = time.Now
			s.routes[0].handler.(*serveFiles).cache = newFileCache(bc.budget)
			reqs := make([]*http1.Request, n)
			for i := range reqs {
				reqs[i] = request(http1.MethodGet, fmt.Sprintf("/f%04d.txt", i))
			}
			resp := &http1.Response{Extra: make([]byte, 0, 1024)}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				resp.Reset()
				s.ServeHTTP1(reqs[i%n], resp)
				if resp.Status != 200 {
					b.Fatalf("status %d", resp.Status)
				}
				switch {
				case resp.FileOwner != nil:
					resp.FileOwner.ReleaseFile(resp.File)
				case resp.File >= 0:
					unix.Close(resp.File)
				}
				i++
			}
		})
	}
}

// TestCacheWorkingSetLargerThanBudget requests 3000 distinct 8 KiB files
// (24 MiB, more than the cache holds) round after round. Every answer is
// right; once the cache has learnt which files it keeps, it serves a
// steady share of them from memory and reads almost no file into memory
// again: a file it has no room for is sent from its descriptor, so a
// request costs at most an uncached open and sendfile (before, every
// request read its file, copied the whole cache map and threw it away).
func TestCacheWorkingSetLargerThanBudget(t *testing.T) {
	const n, size = 3000, 8 << 10
	s := workingSetSite(t, n, size)
	h := s.routes[0].handler.(*serveFiles)
	want := string(bigData(size))
	for round := range 5 {
		var hits, loads, fromDisk int
		for i := range n {
			key := fmt.Sprintf("/f%04d.txt", i)
			wasCached := h.cache.holds(key)
			r := get(t, s, key)
			if r.Status != 200 || string(r.body) != want {
				t.Fatalf("round %d %s: status %d, %d bytes", round, key, r.Status, len(r.body))
			}
			switch {
			case wasCached:
				hits++
			case r.File >= 0 || r.Body == nil:
				fromDisk++
			default:
				loads++
			}
		}
		t.Logf("round %d: %d hits, %d files read into memory, %d sent from their descriptor", round, hits, loads, fromDisk)
		if round >= 2 && (hits < n/3 || loads > n/100) {
			t.Errorf("round %d: %d hits (want ≥ %d), %d files read into memory (want ≤ %d)", round, hits, n/3, loads, n/100)
		}
	}
	if h.cache.used > cacheBytes {
		t.Errorf("the cache holds %d bytes, more than its budget of %d", h.cache.used, cacheBytes)
	}
	// A file that becomes popular displaces one that is not.
	hot := fmt.Sprintf("/f%04d.txt", n-1)
	for i := 0; i < 8 && !h.cache.holds(hot); i++ {
		get(t, s, hot)
	}
	if !h.cache.holds(hot) {
		t.Error("a file asked for 8 times in a row is still not cached")
	}
}

// holds reports whether key has an entry, without counting a request.
func (c *fileCache) holds(key string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.entries[key] != nil
}
