package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"lwango/loop"
	"lwango/tlsstate"
)

// plaintextKernelTLS is the kernel TLS transport (kernelRecords) on a
// socket whose kernel has no TLS keys, behind the Transport seam: what it
// sends goes out as it is, close_notify as its two bytes (01 00), and it
// counts its records as a TLS 1.3 connection without a next key does
// (adoptKernelTLS). The "handshake" is done at once, with ALPN h2 when h2.
type plaintextKernelTLS struct {
	*kernelRecords
	h2 bool
}

func (plaintextKernelTLS) Handshake() error { return nil }

func (p plaintextKernelTLS) Established() (*tlsstate.Session, error) {
	s := &tlsstate.Session{Version: tlsstate.VersionTLS13, CipherSuite: tlsstate.AES128GCMSHA256}
	if p.h2 {
		s.ALPN = "h2"
	}
	return s, nil
}

func (plaintextKernelTLS) EndOutput() {}

func (plaintextKernelTLS) Name() string { return "ktls" }

// loopFlags: its close waits for the send queue, as a kernel TLS one does.
func (plaintextKernelTLS) loopFlags() loop.Flags { return loop.KernelTLS }

// dropIdle keeps the transport: the worker would rebuild it with the
// record limit of the server's own TLS listener, which this one has not.
func (plaintextKernelTLS) dropIdle() (uint16, bool) { return 0, false }

// startRecordLimitServer serves the test site on a "TLS" listener whose
// connections are plaintextKernelTLS with a record limit of limit.
func startRecordLimitServer(t *testing.T, limit uint64, h2 bool) (*Server, *testSite, string, *syncBuffer) {
	t.Helper()
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "threads = 1\n[tls_listener]\naddress = \"127.0.0.1:0\"\n")
	log := &syncBuffer{}
	srv, _ := startServer(t, cfg, Options{newTLS: func(fd int) (Transport, error) {
		k, err := adoptKernelTLS(fd, handedConn{kind: handedKTLS, version: tlsstate.VersionTLS13, suite: tlsstate.AES128GCMSHA256}, limit, testLogger(log))
		return plaintextKernelTLS{kernelRecords: k, h2: h2}, err
	}})
	addr, _ := srv.TLSAddr()
	return srv, ts, addr.String(), log
}

// tailConn keeps the last bytes read from its connection.
type tailConn struct {
	net.Conn
	tail []byte
}

func (c *tailConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.tail = append(c.tail, p[:n]...)
	if len(c.tail) > 16 {
		c.tail = c.tail[len(c.tail)-16:]
	}
	return n, err
}

// closeNotifyBody is a close_notify alert's body, which plaintextKernelTLS
// sends as it is.
const closeNotifyBody = "\x01\x00"

// TestH2RecordLimitGoAway: an HTTP/2 connection whose kernel TLS key nears
// its record limit (seven eighths of 1200 records, counted by the real
// transport) while streams are in flight sends GOAWAY NO_ERROR naming the
// last stream it took, finishes those streams (three of them held at a 16
// KiB window until after the GOAWAY: the server reads on), ignores a stream
// opened after the GOAWAY (no answer, no RST_STREAM), then sends
// close_notify and closes. The kernel's part is in the guest
// (TestKTLSGuestH2RecordLimit); here the socket has no keys.
func TestH2RecordLimitGoAway(t *testing.T) {
	_, ts, addr, log := startRecordLimitServer(t, 1200, true)
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	wire := &tailConn{Conn: raw}
	r := startH2(t, wire, h2SmallWindow)
	h := newH2Rounds(t, r, "/medium.bin", ts.medium)
	h.run(50, func() bool { return false })
	h.finish()
	h.checkGoAway()
	if err := h.frameAfterEnd(); err != io.ErrUnexpectedEOF || !bytes.HasSuffix(wire.tail, []byte(closeNotifyBody)) {
		t.Fatalf("after the last stream: %v, last bytes %x; want close_notify (%x), then the end", err, wire.tail, closeNotifyBody)
	}
	waitFor(t, func() bool { return strings.Contains(log.String(), "near the record limit") }, "the reason in the server log")
	t.Logf("%d rounds; GOAWAY last stream %d with %d streams in flight; stream %d, opened after it, ignored", h.rounds, h.goAway.LastStreamID, h.inFlight, h.afterGoAway)
}

// TestH2RecordLimitGoClientRetries: Go's HTTP/2 client, eight streams at a
// time on one connection, 200 GETs of 100 KiB, with a record limit of 2000
// (a connection carries about 80 streams; its last eighth, 250 records
// counted, holds the 8 streams in flight when it is reached, about 22
// each): each connection ends with its GOAWAY at seven eighths of the
// limit, the client retries the requests above its last stream on a new
// connection (RFC 9113 §6.8: the server did not process them), and every
// request gets its whole body (with x/net v0.63.0's client: 3 connections,
// 2 of them ended). With 1000, 8 streams in flight passed the last eighth
// and were cut at the limit (see kernelRecords.sent).
func TestH2RecordLimitGoClientRetries(t *testing.T) {
	srv, ts, addr, log := startRecordLimitServer(t, 2000, true)
	client := h2Client(t, false) // prior knowledge: the socket carries the frames as they are
	const requests = 200
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	slots := make(chan struct{}, 8)
	for i := range requests {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			resp, err := client.Get("http://" + addr + "/medium.bin")
			if err != nil {
				errs <- fmt.Errorf("request %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.ProtoMajor != 2 || resp.StatusCode != 200 || !bytes.Equal(body, ts.medium) {
				errs <- fmt.Errorf("request %d: %s %d, %d bytes of %d, %v", i, resp.Proto, resp.StatusCode, len(body), len(ts.medium), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.Log(log.String())
	}
	ends := strings.Count(log.String(), "near the record limit")
	if n := srv.Stats().Accepted; ends < 1 || n < uint64(ends)+1 {
		t.Errorf("%d connections, %d ended near the record limit; want at least one ended, and a connection more", n, ends)
	}
	t.Logf("%d requests on %d connections, %d of them ended near the record limit", requests, srv.Stats().Accepted, ends)
}

// getMediumUntilEnd asks for /medium.bin (100 KiB) again and again on one
// HTTP/1.1 keep-alive connection, conn written and r read, until ended
// (given the responses so far, asked after each request is sent) says the
// server ended the connection instead of answering; every response must
// be medium. It returns the responses, and fails once there are more than
// a kernel TLS key's record limit allows (each costs at least 7 records).
func getMediumUntilEnd(t *testing.T, conn io.Writer, r *bufio.Reader, medium []byte, limit int, ended func(responses int) bool) int {
	t.Helper()
	responses := 0
	for ; ; responses++ {
		if responses == limit/7+1 {
			t.Fatalf("%d responses of 100 KiB and the server did not end the connection", responses)
		}
		if _, err := io.WriteString(conn, "GET /medium.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if ended(responses) {
			return responses
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response %d: %v", responses, err)
		}
		if body, err := io.ReadAll(resp.Body); err != nil || !bytes.Equal(body, medium) {
			t.Fatalf("response %d: %d bytes, %v; not the file", responses, len(body), err)
		}
	}
}

// TestHTTP1RecordLimitClose: an HTTP/1.1 keep-alive connection whose
// kernel TLS key nears its record limit finishes the response in flight,
// then sends close_notify and closes instead of reading the next request.
func TestHTTP1RecordLimitClose(t *testing.T) {
	const limit = 160
	_, ts, addr, log := startRecordLimitServer(t, limit, false)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(conn)
	responses := getMediumUntilEnd(t, conn, r, ts.medium, limit, func(int) bool {
		b, err := r.Peek(len(closeNotifyBody))
		return err == nil && string(b) == closeNotifyBody
	})
	r.Discard(len(closeNotifyBody))
	if rest, err := io.ReadAll(r); len(rest) != 0 || err != nil {
		t.Fatalf("after close_notify: %q, %v; want the end", rest, err)
	}
	if responses == 0 {
		t.Fatal("close_notify before the first response")
	}
	waitFor(t, func() bool { return strings.Contains(log.String(), "near the record limit") }, "the reason in the server log")
}
