// Command fixedload sends a fixed number of HTTP/1.1 GET requests to a
// server and checks every response, so that a server run under
// `valgrind --tool=callgrind` or `strace -c` can be charged per request:
// run it twice with different -n and divide the difference of the counts by
// the difference of -n (start-up and warm-up cancel out).
//
// Each of -c connections sends its share of the requests one after another
// (no pipelining). With -close every request opens a new connection (and
// with -tls makes a full TLS 1.3 handshake).
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"time"
)

func main() {
	log.SetFlags(0)
	addr := flag.String("addr", "127.0.0.1:8080", "server address (host:port)")
	path := flag.String("path", "/hello", "path to GET")
	total := flag.Int("n", 1000, "requests in all")
	conns := flag.Int("c", 1, "connections at once")
	closeEach := flag.Bool("close", false, "one request per connection (Connection: close)")
	useTLS := flag.Bool("tls", false, "TLS 1.3 (X25519, certificate not verified)")
	flag.Parse()
	if *total <= 0 || *conns <= 0 {
		log.Fatal("fixedload: -n and -c must be positive")
	}
	cfg := &tls.Config{
		InsecureSkipVerify: true, // a benchmark's throw-away certificate
		MinVersion:         tls.VersionTLS13,
		CurvePreferences:   []tls.CurveID{tls.X25519},
	}
	if !*useTLS {
		cfg = nil
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *conns)
	for i := range *conns {
		n := *total / *conns
		if i < *total%*conns {
			n++
		}
		wg.Go(func() {
			if err := run(*addr, *path, n, *closeEach, cfg); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		log.Fatalf("fixedload: %v", err)
	}
	fmt.Printf("%d requests in %v\n", *total, time.Since(start).Round(time.Millisecond))
}

// run makes n requests, on one connection or (closeEach) one each.
func run(addr, path string, n int, closeEach bool, cfg *tls.Config) error {
	request := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if closeEach {
		request += "Connection: close\r\n"
	}
	request += "\r\n"
	var conn net.Conn
	var r *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for range n {
		if conn == nil {
			c, err := dial(addr, cfg)
			if err != nil {
				return err
			}
			conn, r = c, bufio.NewReaderSize(c, 64<<10)
		}
		if _, err := io.WriteString(conn, request); err != nil {
			return err
		}
		if err := readResponse(r); err != nil {
			return err
		}
		if closeEach {
			if _, err := r.ReadByte(); err != io.EOF {
				return fmt.Errorf("the server did not close after Connection: close (%v)", err)
			}
			conn.Close()
			conn = nil
		}
	}
	return nil
}

func dial(addr string, cfg *tls.Config) (net.Conn, error) {
	if cfg == nil {
		return net.Dial("tcp", addr)
	}
	return tls.Dial("tcp", addr, cfg)
}

// readResponse reads one 200 response with a Content-Length body.
func readResponse(r *bufio.Reader) error {
	status, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("status line %q", bytes.TrimSpace(status))
	}
	length := int64(-1)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64); err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return errors.New("response without Content-Length")
	}
	_, err = r.Discard(int(length))
	return err
}
