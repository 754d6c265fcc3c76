package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestManySmallFilesAnsweredRight requests 3000 distinct small files (24
// MiB, more than a serve_files cache holds) round after round, pipelined on
// keep-alive connections to both loops: every answer is the right file,
// whether it comes from the cache or from its descriptor.
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
							t.Errorf("client %d round %d file %d: %v", cl, round, f, err)
							return
						}
						body, err := io.ReadAll(resp.Body)
						if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, content(f)) {
							t.Errorf("client %d round %d file %d: status %d, body %.20q", cl, round, f, resp.StatusCode, body)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}
