package server

import (
	"net/netip"

	"lwango/coro"
	"lwango/http1"
	"lwango/http2"
)

// conn is what the server keeps for a connection: its phase, its
// transport, and while a request is in flight the exchange holding its
// buffers. An idle plain connection keeps nothing (its loop.Conn State is
// nil); an idle TLS connection keeps its transport, which holds the
// session's keys.
type conn struct {
	phase     connPhase
	transport Transport
	plain     plainTransport // the transport of a plain connection, without allocating
	tls       bool           // accepted on an HTTPS listener
	// h2 is the HTTP/2 state in phase connHTTP2 (ALPN h2, or the preface
	// on an h2c listener). It outlives the exchange: an idle HTTP/2
	// connection keeps its HPACK tables.
	h2 *http2.Conn
	// h2gen is the configuration h2 began under: after a reload the
	// connection announces GOAWAY, finishes its streams and closes, so
	// that its client moves to the new one (certificates included).
	h2gen *generation
	// client is the client's address the PROXY header carried; not valid
	// without one (then the socket's peer is the client).
	client netip.AddrPort
	// peer is the socket's peer, looked up the first time a handler or the
	// access log asks for the client's address (clientAddr).
	peer netip.AddrPort
	ex   *exchange // nil while idle
	// defers are the connection's cleanups (Lwan's coro_defer): a TLS
	// connection registers the closing of its transport, which wipes the
	// handshake state or the session keys, when it is opened; Closed runs
	// them however the connection ends, mid-handshake included.
	defers coro.Defers
}

// connPhase is where a connection is in its life; the worker's Serve acts
// on it:
//
//	[proxyHeader] ─► handshake (HTTPS) ─► http1, or http2 (ALPN "h2")
//	[proxyHeader] ─► sniff (h2c listener) ─► http1, or http2 (the preface)
//	[proxyHeader] ─► http1
//
// proxyHeader comes first when proxy_protocol is on.
type connPhase uint8

const (
	// connProxyHeader: the PROXY protocol header has yet to be read.
	connProxyHeader connPhase = iota + 1
	// connHandshake: the transport's handshake (TLS) is running; no HTTP
	// yet, so a deadline gets no 408.
	connHandshake
	// connSniff: a plain connection on an h2c listener whose first bytes
	// will say HTTP/1.1 or the HTTP/2 preface.
	connSniff
	// connHTTP1: requests through the http1 engine.
	connHTTP1
	// connHTTP2: frames through h2.
	connHTTP2
)

// takeKernelTLS makes t, a kernel TLS connection that another process
// passed or that dropped its state while idle, the connection's transport,
// which its close takes off the kernel gauge of open (kernelTLSConn).
func (s *conn) takeKernelTLS(t *kernelRecords, open *tlsGauges) {
	s.tls = true
	s.transport = kernelTLSConn(t, open)
	s.defers.Defer(s.closeTransport)
}

// closeTransport ends the connection's current transport (after a kernel
// TLS hand-off, the one it was handed to).
func (s *conn) closeTransport() { s.transport.Close() }

// exchange holds a busy connection's buffers, from the first bytes of a
// request until the connection goes idle again; then it returns to its
// loop's pool for the next busy connection.
type exchange struct {
	in         []byte // in[start:end] is received and not yet answered
	start, end int
	// need is how long in[start:] may grow for the request being read (the
	// engine's Result.Need): the buffer grows towards it only as bytes
	// arrive, so a client that announces a large body and sends nothing
	// holds no more than the buffer it started with.
	need int
	out  http1.Output
	// progress is the engine's memory of the request being read, so each
	// read resumes it instead of parsing it again.
	progress http1.Progress

	// phase is where the exchange's step is; then, in phase exWriting,
	// the phase it goes back to once the output is on the wire.
	phase, then exPhase
}

// exPhase is a phase of an exchange: what its step (worker.step for
// HTTP/1, step2 for HTTP/2) does next. For HTTP/1, the engine's answer
// (http1.Engine.Serve's Result.Next) chooses the phase after parsing:
//
//	             bytes arrived
//	reading ───────────────────► parsing ──┬── KeepAlive, ReadMore ──► reading
//	   │                            ▲      ├── ServeMore ──► serving ──┐
//	   │                            └──────┼───── Serve again ─────────┘
//	   │                                   ├── Close ──► closing: close, lingering
//	   └─ nothing pending: idle            └── Close the client asked for
//	                                              ──► clientClosing: close at once
//
// Output leaves before the step goes on: a phase that queued some passes
// through writing first, and comes back to the same phase once it is all
// on the wire (so a response is written before the next request is read,
// and before the connection closes):
//
//	any phase ──output queued──► writing ──written and flushed──► that phase
//
// An HTTP/2 connection uses reading, parsing (bytes its frames were not yet
// received from) and writing; its streams have their states in package
// http2. How far the engine is into a request is not a phase of the
// exchange but the engine's own memory (progress), and whether a response
// was completed in this step is the step's (it decides whether a read is
// worth trying before idling).
type exPhase uint8

const (
	// exReading: the engine needs more bytes (the rest of a request, or
	// the next one): read them, or go idle when nothing is pending.
	exReading exPhase = iota
	// exParsing: in[start:end] holds bytes the engine has not seen.
	exParsing
	// exServing: the engine stopped in the middle of its answers so that
	// the output is written first (http1.ServeMore); it goes on with the
	// same input.
	exServing
	// exWriting: output is queued, or taken by the transport and not yet
	// flushed; the exchange goes back to phase then once it has all left.
	exWriting
	// exClosing: the server closes the connection (an error, a stop, the
	// response said so), lingering for the client's last bytes so that a
	// client still sending gets no reset over its response.
	exClosing
	// exClientClosing: the client asked for the close and sent nothing
	// after that request; the connection closes at once (coro.Finished),
	// unless more input turned up after all.
	exClientClosing
	// (The two phases that close come last: see closes.)
)

// unwritten reports whether the exchange has output to write before its
// phase goes on: queued, or still in exWriting (the transport took it all
// but has not flushed it yet).
func (ex *exchange) unwritten() bool { return ex.phase == exWriting || ex.out.Pending() }

// closes reports whether the exchange ends with the output being written.
func (ex *exchange) closes() bool {
	p := ex.phase
	if p == exWriting {
		p = ex.then
	}
	return p >= exClosing // exClosing or exClientClosing
}

func newExchange(bufferSize int) *exchange {
	ex := &exchange{in: make([]byte, bufferSize)}
	ex.out.Reset(make([]byte, 0, bufferSize))
	return ex
}

// reset empties the exchange for reuse, dropping an input buffer that grew
// for a request body.
func (ex *exchange) reset(bufferSize int) {
	ex.out.Discard()
	if len(ex.in) > bufferSize {
		ex.in = make([]byte, bufferSize)
	}
	ex.start, ex.end, ex.need = 0, 0, 0
	ex.progress.Reset()
	ex.phase, ex.then = exReading, exReading
}

// compact moves the unanswered input to the front of the buffer.
func (ex *exchange) compact() {
	if ex.start > 0 {
		ex.end = copy(ex.in, ex.in[ex.start:ex.end])
		ex.start = 0
	}
}

// grow makes room after in[:end] for more of a request that needs up to
// ex.need bytes: it doubles the buffer, without passing ex.need. It reports
// false when the buffer already holds all the request may need.
func (ex *exchange) grow() bool {
	if ex.need <= len(ex.in) {
		return false
	}
	grown := make([]byte, min(ex.need, 2*len(ex.in)))
	copy(grown, ex.in[:ex.end])
	ex.in = grown
	return true
}
