// Package tlsstate is lwango's own TLS server: the TLS 1.3 handshake as a
// resumable, sans-I/O state machine, its key schedule, and the user-space
// record layer used after the handshake when the kernel cannot carry the
// records itself.
//
// Nothing here touches a socket, a clock or a random source that was not
// injected through [Config]. The caller (the connection's step function in
// the event loop) reads bytes, feeds them to [Server.Advance], writes what it
// appended to the output buffer, and acts on the returned [Progress]. Once the
// handshake is [Complete], [Server.Session] hands over the negotiated version,
// suite, traffic secrets, keys, IVs and record sequence numbers: either to
// the kernel (kTLS) or to [NewRecords] for the user-space record layer.
//
// The files are split by concern so that a TLS 1.2 handshake can share them:
// record framing (record.go), alerts (alert.go), ClientHello parsing
// (clienthello.go), certificate selection (certificate.go) and the cipher
// suite, group and key schedule tables are version-neutral; everything
// specific to TLS 1.3 lives in files ending in 13.go.
package tlsstate
