package server

import (
	"io"

	"lwango/coro"
	"lwango/kernel"
	"lwango/loop"
	"lwango/tlsstate"
)

// Transport moves a connection's bytes between its socket and the HTTP
// engine. It is the one seam between HTTP and the socket: the plain
// transport calls the kernel directly; a TLS connection (tlsConn: records
// in user space, or keys handed to kernel TLS) implements the same methods.
//
// No method blocks: one that cannot make progress returns coro.ErrWantRead
// or coro.ErrWantWrite and is called again when the socket is ready.
type Transport interface {
	// Handshake advances connection set-up (the TLS handshake) and returns
	// nil once application data may flow. The plain transport has none.
	Handshake() error
	// Established is called once, after Handshake has returned nil. It
	// returns the TLS session's parameters (version, suite, group, ALPN
	// protocol; its keys are not the caller's), or nil without TLS. A TLS
	// connection may hand its keys to kernel TLS here (Name says so
	// afterwards).
	Established() (*tlsstate.Session, error)
	dataPath
	// EndOutput says that the output still to come (the rest of the
	// response being written) is the connection's last: only its close
	// follows. A TLS connection with records in user space then seals its
	// close_notify behind the last of it, so that both leave in one send
	// (Close has none left to send). The others do nothing.
	EndOutput()
	// Name names the transport in the access log: "plain", "tls", "ktls".
	Name() string
	// Ending reports that the transport can carry the work in flight and
	// no more (a kernel TLS key near its record limit, with no next key to
	// move to): the connection takes no new request and closes once what
	// it has accepted is answered. An HTTP/1 connection closes instead of
	// reading its next request; an HTTP/2 one sends GOAWAY, finishes its
	// streams (reading on: their WINDOW_UPDATEs) and closes.
	Ending() bool
	// loopFlags are the handler-owned flags the connection's loop entry
	// needs with the transport as it is now: loop.KernelTLS once kernel
	// TLS carries its records (a close waits for the send queue). The
	// worker sets them after Established.
	loopFlags() loop.Flags
	// detach readies the transport to leave the process with its socket,
	// idle between requests (a binary upgrade passes it): it returns what
	// the new process needs to go on, having wiped whatever secret it
	// kept, and true; or false when it cannot leave (keys or bytes in user
	// space), and is then closed as at shutdown.
	detach() (handedConn, bool)
	// dropIdle is called when the connection goes idle between requests.
	// When the transport keeps nothing then but its socket and what fits
	// in 16 bits (no key, no buffered byte, no half-read record; a kernel
	// TLS connection's suite and record count), it wipes what it held and
	// returns those bits, which the caller keeps in the loop entry
	// (loop.Conn.SetTag), and true; the caller drops the transport and
	// rebuilds it from the tag. Otherwise it returns false and is kept.
	dropIdle() (tag uint16, ok bool)
}

// dataPath moves application data once a connection is established: what
// every Transport does, and what each record backend of a TLS connection
// (userRecords, kernelRecords) does for it.
type dataPath interface {
	// Read reads application data into p. It returns io.EOF when the peer
	// has closed.
	Read(p []byte) (int, error)
	// Buffered reports whether Read has data without the socket becoming
	// readable (a user-space TLS layer holding decrypted bytes).
	Buffered() bool
	// Write writes application data from p and returns how much it took.
	// more says the caller has more to send right after (a sendfile body):
	// the transport may hold a partial packet back for it. A transport may
	// take bytes it has not put on the wire yet (records sealed while the
	// socket is full); Flush sends them.
	Write(p []byte, more bool) (int, error)
	// Sendfile sends up to count bytes of the open file from offset and
	// returns how many it took; 0 with a nil error means the file ended.
	Sendfile(file int, offset int64, count int) (int, error)
	// Flush puts on the wire whatever Write or Sendfile took and kept. The
	// step calls it when all output is taken, before reading or idling.
	Flush() error
	// Close ends the transport before its socket closes: a TLS transport
	// sends close_notify (best effort, never blocking) and wipes its keys.
	Close() error
}

// plainTransport is a cleartext TCP connection.
type plainTransport struct{ fd int }

func (p *plainTransport) Handshake() error { return nil }

func (p *plainTransport) Established() (*tlsstate.Session, error) { return nil, nil }

func (p *plainTransport) Read(b []byte) (int, error) {
	n, err := kernel.Read(p.fd, b)
	switch {
	case err == nil && n == 0:
		return 0, io.EOF
	case err == kernel.EAGAIN:
		return 0, coro.ErrWantRead
	}
	return n, err
}

func (p *plainTransport) Buffered() bool { return false }

func (p *plainTransport) Write(b []byte, more bool) (int, error) {
	n, err := kernel.Send(p.fd, b, more)
	if err == kernel.EAGAIN {
		return 0, coro.ErrWantWrite
	}
	return n, err
}

func (p *plainTransport) Sendfile(file int, offset int64, count int) (int, error) {
	n, err := kernel.Sendfile(p.fd, file, &offset, count)
	if err == kernel.EAGAIN {
		return 0, coro.ErrWantWrite
	}
	return n, err
}

func (p *plainTransport) Flush() error { return nil }

func (p *plainTransport) Close() error { return nil }

func (p *plainTransport) EndOutput() {}

func (p *plainTransport) Name() string { return "plain" }

func (p *plainTransport) Ending() bool { return false }

func (p *plainTransport) loopFlags() loop.Flags { return 0 }

func (p *plainTransport) detach() (handedConn, bool) { return handedConn{kind: handedPlain}, true }

func (p *plainTransport) dropIdle() (uint16, bool) { return 0, true }
