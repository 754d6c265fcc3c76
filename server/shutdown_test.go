package server

import (
	"testing"
	"time"
)

// A request that is in flight when the server starts stopping is answered
// with "Connection: close" (not keep-alive), and then the connection
// closes; a request pipelined behind it is left unanswered, as RFC 9112
// §9.6 allows once the server has said close. The request asks for
// 100-continue, so the client knows the server holds its head before the
// stop begins.
func TestStoppingAnswersWithConnectionClose(t *testing.T) {
	ts := newTestSite(t)
	srv, err := New(testConfig(t, ts, "threads = 1"), Options{Tick: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	addr := srv.Addr().String()

	// A keep-alive connection answered once: its next response would say
	// keep-alive if the server were not stopping.
	busy := dialRaw(t, addr)
	busy.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := busy.response(t, "GET"); resp.Close {
		t.Fatal("the first response already closes")
	}
	busy.send(t, "POST /teapot HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	if line, err := busy.r.ReadString('\n'); err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q, %v", line, err)
	}
	if blank, _ := busy.r.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q", blank)
	}
	idle := dialRaw(t, addr)
	idle.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	idle.response(t, "GET")

	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(10 * time.Second) }()
	idle.expectClosed(t) // the server is stopping now
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}

	busy.send(t, "hello"+"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n") // the body, and one more request
	resp, _ := busy.response(t, "POST")
	if resp.StatusCode != 418 {
		t.Fatalf("in-flight request: %d", resp.StatusCode)
	}
	// The status line is HTTP/1.1: only "Connection: close" sets Close
	// (net/http takes that header out of resp.Header).
	if resp.ProtoMinor != 1 || !resp.Close {
		t.Fatalf("in-flight response: HTTP/1.%d, Close %v; want Connection: close", resp.ProtoMinor, resp.Close)
	}
	busy.expectClosed(t)
	busy.Close() // the server lingers until the client closes too
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
