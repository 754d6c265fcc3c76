package server

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/coro"
	"lwango/tlsstate"
)

// Test helpers for the kernel TLS transport: our own handshake (tlsstate)
// driven over a real loopback socket, then a Transport driven with the Go
// netpoller doing the waiting.

// testTLSConfig is a tlsstate configuration with a fresh self-signed
// certificate for localhost, and the pool a client needs to trust it.
func testTLSConfig(t testing.TB, suites ...tlsstate.CipherSuite) (*tlsstate.Config, *x509.CertPool) {
	t.Helper()
	cert, err := tlsstate.SelfSignedCertificate(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tlsstate.Config{Certificates: []*tlsstate.Certificate{cert}, CipherSuites: suites}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return cfg, pool
}

// handshaken is a server connection right after our handshake completed.
type handshaken struct {
	conn     net.Conn
	raw      syscall.RawConn
	fd       int
	records  *tlsstate.Channel
	leftover []byte // read past the client's Finished, not opened
}

// serverHandshake runs tlsstate's handshake on an accepted connection,
// reading up to 16 KiB at a time (so that whatever follows the client's
// Finished in the same segment is read with it).
func serverHandshake(t testing.TB, conn net.Conn, cfg *tlsstate.Config) *handshaken {
	t.Helper()
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	h := &handshaken{conn: conn, raw: raw}
	raw.Control(func(fd uintptr) { h.fd = int(fd) })
	srv := tlsstate.NewServer(cfg)
	var in, out []byte
	buf := make([]byte, 16<<10)
	for {
		consumed, next, progress := srv.Advance(in, out[:0])
		out = next
		if err := writeAllRaw(raw, out); err != nil {
			t.Fatalf("handshake write: %v", err)
		}
		in = in[consumed:]
		switch progress {
		case tlsstate.Complete:
			h.records, err = tlsstate.NewChannel(srv.Session(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			h.leftover = bytes.Clone(in)
			return h
		case tlsstate.Failed:
			t.Fatalf("handshake failed: %v", srv.Failure())
		}
		var n int
		if err := rawRead(raw, func(fd int) (err error) { n, err = unix.Read(fd, buf); return err }); err != nil {
			t.Fatalf("handshake read: %v", err)
		}
		if n == 0 {
			t.Fatalf("client closed during the handshake")
		}
		in = append(in, buf[:n]...)
	}
}

// writeAllRaw writes b to the socket, waiting out EAGAIN.
func writeAllRaw(raw syscall.RawConn, b []byte) error {
	for len(b) > 0 {
		var n int
		if err := rawWrite(raw, func(fd int) (err error) { n, err = unix.Write(fd, b); return err }); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// rawRead runs op when the socket is readable, until it stops saying EAGAIN.
func rawRead(raw syscall.RawConn, op func(fd int) error) error {
	var opErr error
	err := raw.Read(func(fd uintptr) bool {
		opErr = op(int(fd))
		return !errors.Is(opErr, unix.EAGAIN)
	})
	return errors.Join(err, opErr)
}

// rawWrite runs op when the socket is writable, until it stops saying EAGAIN.
func rawWrite(raw syscall.RawConn, op func(fd int) error) error {
	var opErr error
	err := raw.Write(func(fd uintptr) bool {
		opErr = op(int(fd))
		return !errors.Is(opErr, unix.EAGAIN)
	})
	return errors.Join(err, opErr)
}

// transportRead is one Read of a transport or record backend, waiting while it wants the socket readable.
func transportRead(raw syscall.RawConn, tr dataPath, p []byte) (n int, err error) {
	waitErr := raw.Read(func(uintptr) bool {
		n, err = tr.Read(p)
		return !errors.Is(err, coro.ErrWantRead)
	})
	return n, errors.Join(err, waitErr)
}

// readRequestHead reads through tr until a blank line ends a request head.
func readRequestHead(raw syscall.RawConn, tr dataPath, buf []byte) (string, error) {
	var got []byte
	for !bytes.Contains(got, []byte("\r\n\r\n")) {
		n, err := transportRead(raw, tr, buf)
		if err != nil {
			return string(got), err
		}
		got = append(got, buf[:n]...)
	}
	return string(got), nil
}

// transportWrite writes all of p through tr.
func transportWrite(raw syscall.RawConn, tr dataPath, p []byte, more bool) error {
	for len(p) > 0 {
		var n int
		var err error
		waitErr := raw.Write(func(uintptr) bool {
			n, err = tr.Write(p, more)
			return !errors.Is(err, coro.ErrWantWrite)
		})
		if err = errors.Join(err, waitErr); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// transportSendfile sends length bytes of file through tr.
func transportSendfile(raw syscall.RawConn, tr dataPath, file int, length int64) error {
	var offset int64
	for offset < length {
		var n int
		var err error
		waitErr := raw.Write(func(uintptr) bool {
			n, err = tr.Sendfile(file, offset, int(min(length-offset, 1<<20)))
			return !errors.Is(err, coro.ErrWantWrite)
		})
		if err = errors.Join(err, waitErr); err != nil {
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		offset += int64(n)
	}
	return nil
}

// testLogger logs at every level into buf.
func testLogger(buf io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
