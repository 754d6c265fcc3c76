package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestManySmallFilesAnsweredRight requests 3000 distinct small files (24
// MiB, more than a serve_files cache holds) round after round, pipelined on
// keep-alive connections to both loops: every answer is the right file,
// whether it comes from the cache or from its descriptor.
//
// Each batch of 50 requests has its own deadline: under -race on a loaded
// machine the whole walk can take longer than any fixed deadline (a 20 s
// one for the whole test once cut a body short, and the cut body was
// reported as a wrong one). A read error and a wrong body are told apart.
func TestManySmallFilesAnsweredRight(t *testing.T) {
	const n, size, rounds, clients = 3000, 8 << 10, 3, 2
	ts := newTestSite(t)
	dir := filepath.Join(ts.dir, "many")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	content := func(i int) []byte {
		return bytes.Repeat(fmt.Appendf(nil, "file %04d\n", i), size/10+1)[:size]
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d.txt", i)), content(i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})

	var wg sync.WaitGroup
	for cl := range clients {
		c := dialRaw(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range rounds {
				// Each client walks the files from its own starting point,
				// 50 pipelined requests per write.
				for start := 0; start < n; start += 50 {
					c.SetDeadline(time.Now().Add(time.Minute))
					var batch bytes.Buffer
					for i := start; i < start+50; i++ {
						fmt.Fprintf(&batch, "GET /many/%04d.txt HTTP/1.1\r\nHost: x\r\n\r\n", (i+cl*n/clients)%n)
					}
					if _, err := c.Write(batch.Bytes()); err != nil {
						t.Error(err)
						return
					}
					for i := start; i < start+50; i++ {
						f := (i + cl*n/clients) % n
						resp, err := http.ReadResponse(c.r, nil)
						if err != nil {
							t.Errorf("client %d round %d file %d: reading the head: %v", cl, round, f, err)
							return
						}
						body, err := io.ReadAll(resp.Body)
						if err != nil {
							t.Errorf("client %d round %d file %d: reading the body (%d of %s bytes): %v", cl, round, f, len(body), resp.Header.Get("Content-Length"), err)
							return
						}
						if resp.StatusCode != 200 || !bytes.Equal(body, content(f)) {
							t.Errorf("client %d round %d file %d: WRONG ANSWER: status %d, %d bytes, %s", cl, round, f, resp.StatusCode, len(body), whichFiles(body))
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

// whichFiles describes a body of the many-files test: the file names its
// bytes carry, every 1000 bytes, so a wrong answer says whose bytes it holds.
func whichFiles(body []byte) string {
	var b strings.Builder
	for off := 0; off < len(body); off += 1000 {
		end := min(off+10, len(body))
		fmt.Fprintf(&b, "@%d %q ", off, body[off:end])
	}
	return b.String()
}
