package server

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lwango/site"
)

// reloadTLS reloads s with the configuration startTLS makes, with
// tlsLines in its [tls_listener].
func reloadTLS(t *testing.T, s *tlsServer, tlsLines string) error {
	t.Helper()
	cfg := testConfig(t, s.site, "threads = 1\n[tls_listener]\naddress = \"127.0.0.1:0\"\n"+tlsLines)
	cfg.Quiet = true
	return s.srv.Reload(cfg)
}

// writeKeys writes keys (80 bytes each) into file, mode 0600.
func writeKeys(t *testing.T, file string, keys ...[]byte) {
	t.Helper()
	var raw []byte
	for _, k := range keys {
		raw = append(raw, k...)
	}
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func randomKey() []byte {
	k := make([]byte, 80)
	rand.Read(k)
	return k
}

// A reload reads the ticket key file again: the nginx-style rotation
// (stage the new key after the old, then promote it, then drop the old)
// keeps sessions resuming while the old key is in the file, and a session
// sealed under a key no longer in the file falls back to a full handshake.
// A key file with a bad size is refused, naming it, and the keys in use
// stay.
func TestReloadRotatesTicketKeyFile(t *testing.T) {
	file := ticketKeyFile(t, 1)
	old, next := randomKey(), randomKey()
	writeKeys(t, file, old)
	lines := certLines(t, "ecdsa-p256") + fmt.Sprintf("ticket_key_file = %q\n", file)
	s := startTLS(t, lines, Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			writeKeys(t, file, old)
			if err := reloadTLS(t, s, lines); err != nil {
				t.Fatal(err)
			}
			session := func() *tls.Config {
				cfg := &tls.Config{MinVersion: v.version, MaxVersion: v.version, ClientSessionCache: tls.NewLRUClientSessionCache(8)}
				getHello(t, s.tlsAddr, cfg)
				return cfg
			}
			sealedOld, sealedOld2 := session(), session()

			writeKeys(t, file, old, next) // stage: old seals, next opens
			if err := reloadTLS(t, s, lines); err != nil {
				t.Fatal(err)
			}
			writeKeys(t, file, next, old) // promote: next seals, old opens
			if err := reloadTLS(t, s, lines); err != nil {
				t.Fatal(err)
			}
			if !getHello(t, s.tlsAddr, sealedOld) {
				t.Fatal("a session sealed under the previous key did not resume while that key is still in the file")
			}
			sealedNext := session()

			writeKeys(t, file, next) // retire old
			if err := reloadTLS(t, s, lines); err != nil {
				t.Fatal(err)
			}
			if getHello(t, s.tlsAddr, sealedOld2) {
				t.Fatal("a session sealed under a key no longer in the file resumed")
			}
			if !getHello(t, s.tlsAddr, sealedNext) {
				t.Fatal("a session sealed under the current key did not resume")
			}

			if err := os.WriteFile(file, make([]byte, 79), 0o600); err != nil {
				t.Fatal(err)
			}
			err := reloadTLS(t, s, lines)
			if err == nil || !strings.Contains(err.Error(), "test.conf:") || !strings.Contains(err.Error(), "tls_listener.ticket_key_file") || !strings.Contains(err.Error(), file) {
				t.Fatalf("reload with a 79-byte key file: %v", err)
			}
			if !getHello(t, s.tlsAddr, sealedNext) {
				t.Fatal("after a refused reload the keys in use no longer resume")
			}
		})
	}
}

// Random ticket keys (no ticket_key_file) survive a reload: sessions
// issued before it still resume.
func TestReloadKeepsRandomTicketKeys(t *testing.T) {
	lines := certLines(t, "ecdsa-p256")
	s := startTLS(t, lines, Options{})
	cfg := &tls.Config{ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	getHello(t, s.tlsAddr, cfg)
	if err := reloadTLS(t, s, lines); err != nil {
		t.Fatal(err)
	}
	if !getHello(t, s.tlsAddr, cfg) {
		t.Fatal("a session issued before the reload did not resume")
	}
}

// A reload swaps the site for every loop: a keep-alive connection opened
// before, and new connections on both loops, get the new handlers. A
// configuration whose site cannot be built is refused with its file, line
// and key, and the running site keeps answering.
func TestReloadSwapsSite(t *testing.T) {
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "")
	srv, addr := startServer(t, cfg, Options{})
	if srv.Stats().Loops != 2 {
		t.Fatalf("%d loops, want 2", srv.Stats().Loops)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	if resp, _ := get(t, c, r, "/hello"); resp.StatusCode != 200 {
		t.Fatalf("before the reload: %d", resp.StatusCode)
	}

	bad, err := site.Parse("bad.conf", fmt.Appendf(nil, "listener = \"127.0.0.1:0\"\n[[site.serve_files]]\nprefix = \"/\"\npath = %q\n", ts.dir+"/missing"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Reload(bad); err == nil || !strings.HasPrefix(err.Error(), "bad.conf:4: site.serve_files[0].path: ") {
		t.Fatalf("reload with a missing directory: %v", err)
	}
	if resp, _ := get(t, c, r, "/hello"); resp.StatusCode != 200 {
		t.Fatalf("after a refused reload: %d", resp.StatusCode)
	}

	next, err := site.Parse("next.conf", []byte("listener = \"127.0.0.1:0\"\nquiet = true\n[[site.response]]\nprefix = \"/hello\"\ncode = 418\n"))
	if err != nil {
		t.Fatal(err)
	}
	next.Threads = 2
	if err := srv.Reload(next); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, c, r, "/hello"); resp.StatusCode != 418 {
		t.Fatalf("the keep-alive connection after the reload: %d, want 418", resp.StatusCode)
	}
	for i := range 8 { // connections spread over both loops
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(c)
		if resp, _ := get(t, c, r, "/hello"); resp.StatusCode != 418 {
			t.Fatalf("new connection %d after the reload: %d, want 418", i, resp.StatusCode)
		}
		if resp, _ := get(t, c, r, "/index.html"); resp.StatusCode != 404 {
			t.Fatalf("new connection %d: the old site's files are still served (%d)", i, resp.StatusCode)
		}
		c.Close()
	}
}

// Reloads while clients keep making TLS and cleartext requests on both
// loops: every request is answered, none is dropped (run with -race: the
// loops read what the reload swaps).
func TestReloadUnderLoad(t *testing.T) {
	ts := newTestSite(t)
	lines := certLines(t, "ecdsa-p256")
	text := "[tls_listener]\naddress = \"127.0.0.1:0\"\n" + lines
	cfg := testConfig(t, ts, text)
	srv, addr := startServer(t, cfg, Options{})
	tlsAddr, _ := srv.TLSAddr()
	stop := make(chan struct{})
	errs := make(chan error, 4)
	var answered atomic.Int64
	client := func(dial func() (net.Conn, error)) {
		for {
			select {
			case <-stop:
				errs <- nil
				return
			default:
			}
			c, err := dial()
			if err != nil {
				errs <- err
				return
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			r := bufio.NewReader(c)
			for range 5 {
				fmt.Fprintf(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
				resp, err := http.ReadResponse(r, nil)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
				}
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				if err != nil {
					c.Close()
					errs <- err
					return
				}
				answered.Add(1)
			}
			c.Close()
		}
	}
	cache := tls.NewLRUClientSessionCache(8)
	for range 2 {
		go client(func() (net.Conn, error) { return net.Dial("tcp", addr) })
		go client(func() (net.Conn, error) {
			return tls.Dial("tcp", tlsAddr.String(), &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache})
		})
	}
	for i := range 20 {
		if err := srv.Reload(testConfig(t, ts, fmt.Sprintf("[headers]\nX-Reload = \"%d\"\n", i)+text)); err != nil {
			t.Fatal(err)
		}
		// The clients go on between reloads: a few requests each, on
		// average, under this configuration before the next.
		for want, deadline := answered.Load()+8, time.Now().Add(20*time.Second); answered.Load() < want; time.Sleep(time.Millisecond) {
			select {
			case err := <-errs:
				t.Fatalf("a client failed during the reloads: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("the clients made %d requests in 20 s after reload %d", answered.Load()-want+8, i)
			}
		}
	}
	close(stop)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("a client failed during the reloads: %v", err)
		}
	}
}
