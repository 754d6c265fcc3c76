//go:build vmguest

package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recordWatch is a client's socket that follows the TLS record framing of
// what it reads: whether the stream ended inside a record, the type and
// length of the last whole record, and how many records the server sent
// under its application traffic key: every one, ChangeCipherSpec aside,
// whose header arrives after the client's Finished has been written
// (which the client does only once it has read the server's whole
// handshake flight). The client's Finished is the first record it writes
// after its ChangeCipherSpec, or its first protected one; Go's client
// writes whole records, which this relies on.
type recordWatch struct {
	net.Conn
	header   []byte // a record header being read
	rest     int    // bytes of the current record's body still to come
	lastType byte   // content type of the last record
	lastLen  int    // body length of the last whole record
	// counting: the client's Finished is written; clientCCS: its
	// ChangeCipherSpec is.
	counting, clientCCS bool
	records             int // the server's records under its application key
}

// TLS record content types (RFC 8446 §5.1) a recordWatch tells apart.
const (
	recordTypeChangeCipherSpec = 20
	recordTypeAlert            = 21
	recordTypeApplicationData  = 23
)

func (w *recordWatch) Write(p []byte) (int, error) {
	for rec := p; !w.counting && len(rec) >= 5; rec = rec[min(len(rec), 5+(int(rec[3])<<8|int(rec[4]))):] {
		switch {
		case rec[0] == recordTypeChangeCipherSpec:
			w.clientCCS = true
		case w.clientCCS || rec[0] == recordTypeApplicationData:
			w.counting = true
		}
	}
	return w.Conn.Write(p)
}

func (w *recordWatch) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	for b := p[:n]; len(b) > 0; {
		if w.rest > 0 {
			k := min(w.rest, len(b))
			w.rest -= k
			b = b[k:]
			continue
		}
		k := min(5-len(w.header), len(b))
		w.header = append(w.header, b[:k]...)
		b = b[k:]
		if len(w.header) == 5 {
			w.lastType, w.lastLen = w.header[0], int(w.header[3])<<8|int(w.header[4])
			w.rest = w.lastLen
			w.header = w.header[:0]
			if w.counting && w.lastType != recordTypeChangeCipherSpec {
				w.records++
			}
		}
	}
	return n, err
}

// midRecord reports whether the stream stopped inside a record.
func (w *recordWatch) midRecord() bool { return w.rest > 0 || len(w.header) > 0 }

// setSysctl writes value to the sysctl file path for the test's duration.
func setSysctl(t *testing.T, path, value string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(path, old, 0o644) })
}

// TestKTLSGuestCloseAfterLargeResponse: a response that fills a kernel TLS
// socket, after which the server closes at once (the client asked for
// Connection: close), reaches the client whole, followed by the server's
// close_notify; and the loop serves another client while that connection
// waits for its send queue to empty (loop/flush.go). The client reads
// nothing for 300 ms, then everything, over a small receive buffer, and
// the guest's TCP send buffers are 16 KiB (tcp_wmem), so that the server's
// last send leaves its queue full. Closed at once instead, about one
// response in four lost its last record, cut short (a few KiB to 16 KiB
// missing), or its close_notify, on Linux 6.1 and 7.2 alike.
func TestKTLSGuestCloseAfterLargeResponse(t *testing.T) {
	setSysctl(t, "/proc/sys/net/ipv4/tcp_wmem", "4096 16384 16384")
	g := startGuestServer(t, `ciphers = ["TLS_AES_128_GCM_SHA256"]`)
	rounds, lost, noNotify := 0, 0, 0
	// Sizes around a few send buffers' worth: where the last record falls
	// against the full queue differs from one to the next.
	for size := 24 << 10; size < 124<<10; size += 5003 {
		rounds++
		name := fmt.Sprintf("close%d.bin", size) // a new file each round: no cached answer
		body := make([]byte, size)
		rand.Read(body)
		if err := os.WriteFile(filepath.Join(g.site.dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
		d := net.Dialer{Control: func(_, _ string, raw syscall.RawConn) error {
			var err error
			raw.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<10) })
			return err
		}}
		raw, err := d.Dial("tcp", g.tlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		w := &recordWatch{Conn: raw}
		c := tls.Client(w, &tls.Config{InsecureSkipVerify: true})
		c.SetDeadline(time.Now().Add(time.Minute))
		fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", name)
		time.Sleep(300 * time.Millisecond) // the server fills the queue and closes

		// The loop is not held by the connection waiting to close.
		other := dialGuest(t, g.tlsAddr, tls.VersionTLS13, nil)
		other.SetDeadline(time.Now().Add(time.Minute))
		if got := fetch(t, other, bufio.NewReader(other), "/hello"); string(got) != "Hello, World!" {
			t.Fatalf("size %d: another client got %q", size, got)
		}
		other.Close()

		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		got, err := io.ReadAll(resp.Body)
		if err == nil {
			_, err = io.ReadAll(r) // io.EOF (not an error) at a record's end
		}
		c.Close()
		switch {
		case !bytes.Equal(got, body):
			lost++
			t.Errorf("size %d: received %d bytes, then %v (stream cut inside a record: %v)", size, len(got), err, w.midRecord())
		case w.lastLen != closeNotifyRecord:
			// Go's client reports a TCP end between records as io.EOF
			// too: the last record says whether close_notify came.
			noNotify++
			t.Errorf("size %d: whole body, then the end without close_notify (last record %d bytes)", size, w.lastLen)
		}
	}
	t.Logf("%d responses closed on a full queue: %d lost bytes, %d lost their close_notify", rounds, lost, noNotify)
}

// closeNotifyRecord is the length of a TLS 1.3 record that carries an
// alert under AES-GCM: the alert (2), its content type (1), the tag (16).
const closeNotifyRecord = 2 + 1 + 16
