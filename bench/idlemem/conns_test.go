package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func helloServer(t *testing.T) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "Hello, World!")
	}))
	t.Cleanup(server.Close)
	return server
}

func TestOpenIdleKeepsEveryConnectionOpen(t *testing.T) {
	server := helloServer(t)
	client := newClient(server.Listener.Addr().String(), "/hello")
	conns, err := client.openIdle(40, 8)
	defer closeAll(conns)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 40 {
		t.Fatalf("opened %d connections, want 40", len(conns))
	}
	if closed := countClosed(conns); closed != 0 {
		t.Fatalf("%d connections reported closed while the server keeps them", closed)
	}
}

func TestCountClosedSeesConnectionsTheServerDropped(t *testing.T) {
	server := helloServer(t)
	client := newClient(server.Listener.Addr().String(), "/hello")
	conns, err := client.openIdle(10, 4)
	defer closeAll(conns)
	if err != nil {
		t.Fatal(err)
	}
	server.CloseClientConnections()
	deadline := time.Now().Add(5 * time.Second)
	for countClosed(conns) != len(conns) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d dropped connections reported closed", countClosed(conns), len(conns))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOpenIdleRejectsAServerThatCloses(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}))
	defer server.Close()
	conns, err := newClient(server.Listener.Addr().String(), "/").openIdle(5, 2)
	closeAll(conns)
	if err == nil || !strings.Contains(err.Error(), "closed a keep-alive connection") {
		t.Fatalf("err = %v, want a complaint about the closed connection", err)
	}
}

func TestOpenIdleRejectsAnErrorStatus(t *testing.T) {
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	conns, err := newClient(missing.Listener.Addr().String(), "/hello").openIdle(3, 1)
	closeAll(conns)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v, want the 404 reported", err)
	}
}

func TestOpenIdleReportsARefusedDial(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	conns, err := newClient(addr, "/").openIdle(3, 1)
	closeAll(conns)
	if err == nil {
		t.Fatal("no error dialing a closed port")
	}
}
