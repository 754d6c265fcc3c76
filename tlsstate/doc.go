// Package tlsstate is lwango's own TLS server: the TLS 1.3 and TLS 1.2
// handshakes as resumable, sans-I/O state machines, their key schedules, and
// the user-space
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
// The files are split by concern so that a TLS 1.2 handshake can share them.
// Version-neutral: record framing (record.go), alerts (alert.go), ClientHello
// parsing (clienthello.go), extension and message numbers (extensions.go),
// certificates and their selection (certificate.go), cipher suites
// (suites.go), groups and key agreement (groups.go), configuration
// (config.go), the step driver (server.go) and the hand-over (session.go).
// Everything specific to TLS 1.3 is in files ending in 13: the state
// machine (handshake13.go), which records it accepts when
// (handshake13_records.go), messages (messages13.go), key schedule
// (keyschedule13.go), record protection (protect13.go) and the record layer
// after the handshake (records13.go). The version is chosen in versions.go
// from the shared ClientHello path; everything specific to TLS 1.2 is in
// files ending in 12: the state machine and its record dispatch
// (handshake12.go), messages (messages12.go), certificate kinds and
// signature schemes (certificate12.go), suites (suites12.go), the PRF and
// key block (prf12.go), record protection (protect12.go) and the record
// layer after the handshake (records12.go, run behind [Records]).
//
// Session resumption: the state a ticket carries and its sealing under
// [Config.TicketKeys] (sessionstate.go, keys in package ticket); TLS 1.3
// PSK selection and binders (psk13.go) and NewSessionTickets
// (tickets13.go); TLS 1.2 tickets and the abbreviated handshake
// (resume12.go). Certificates are chosen by server name in certificate.go.
package tlsstate
