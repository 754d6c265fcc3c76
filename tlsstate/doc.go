// Package tlsstate is lwango's own TLS server: the TLS 1.3 and TLS 1.2
// handshakes as resumable, sans-I/O state machines, their key schedules,
// and the channel that carries a connection after its handshake, with its
// records in user space or in the kernel.
//
// Nothing here touches a socket, a clock or a random source that was not
// injected through [Config]. The caller (the connection's step function in
// the event loop) reads bytes, feeds them to [Server.Advance], writes what
// it appended to the output buffer, and acts on the returned [Progress].
// Once the handshake is [Complete], [Server.Session] hands over the
// negotiated version, suite, traffic secrets, keys, IVs and record sequence
// numbers to [NewChannel]. A failed handshake is described by
// [Server.Failure] (alert, direction, reason, version offered, SNI).
//
// # The handshakes
//
// [Server] is the version-neutral front, shaped as in Go's crypto/tls and
// rustls: it reads records until the first ClientHello is whole, parses it
// (clienthello.go) and chooses the version (versions.go). Then it hands the
// ClientHello to that version's handshake, handshake13 or handshake12: two
// siblings behind one small interface (read a record, append an alert
// protected as the version says, zero), each a state machine as RFC 8446
// Appendix A.2 and RFC 5246 §7.3 draw it (server side, no client
// certificates, no 0-RTT), and each the only reader of every later record
// until it completes with the Session:
//
//	TLS 1.3 (handshake13.go)              TLS 1.2 (handshake12.go)
//
//	START                                 START
//	  │ recv ClientHello                    │ recv ClientHello
//	  ├─ no usable share: send HRR          ├─ valid ticket: send ServerHello,
//	  │  ▼                                  │  [NewSessionTicket], CCS,
//	  │  WAIT_SECOND_CH                     │  {Finished} ─► WAIT_CCS (resumed)
//	  │   │ recv ClientHello                │ send ServerHello, Certificate,
//	  ▼   ▼                                 │  ServerKeyExchange, ServerHelloDone
//	NEGOTIATED                              ▼
//	  │ send ServerHello, CCS,            WAIT_CKE
//	  │  {EE}, {Cert}*, {CV}*, {Finished}   │ recv ClientKeyExchange
//	  ▼  (* not with a PSK)                 ▼
//	WAIT_FINISHED                         WAIT_CCS
//	  │ recv {Finished}                     │ recv ChangeCipherSpec
//	  ▼                                     ▼
//	CONNECTED ─ send [NewSessionTicket]s  WAIT_FINISHED
//	                                        │ recv {Finished}
//	                                        ▼  (full: send [NewSessionTicket],
//	                                      CONNECTED  CCS, {Finished})
//
// Which key protects what the server sends follows the RFCs: nothing
// before the ServerHello; in TLS 1.3, once the server's Finished is out,
// every record (an alert while in WAIT_FINISHED, the tickets) is under the
// server application traffic key (RFC 8446 §4.4.4); in TLS 1.2, after the
// server's ChangeCipherSpec, under its write key (RFC 5246 §7.1).
//
// # The channel
//
// [Channel] (channel.go) holds every rule after the handshake, for both
// versions, once. Its states, with the events of RFC 8446 §6 and §4.6.3 and
// RFC 5246 §7.2:
//
//	         Open / Control
//	OPEN ──────────────────────────────────────────────┐
//	 │ │ recv application data, empty record,          │ recv KeyUpdate (1.3):
//	 │ │ user_canceled, warning (1.2),                 │  user space: next RX key,
//	 │ │ ClientHello (1.2: send no_renegotiation)      │   answer update_requested
//	 │ └──► OPEN (records without data counted,        │  keys in the kernel:
//	 │      MaxRecordsWithoutData in a row)            │   PEER_CLOSED (CloseReason)
//	 │ recv close_notify ──────────────────► PEER_CLOSED ── CloseNotify ──► CLOSED
//	 │ CloseNotify ─► SENT_CLOSE (Seal refuses; Open goes on) ── recv close_notify ─► CLOSED
//	 │ recv fatal alert ─► FAILED (nothing sent)
//	 └ rule broken ──► FAILED (fatal alert sent)
//
// Records reach it two ways: [Channel.Open] opens records in user space
// (the version's record protection behind one small interface:
// protect13.go, protect12.go) and [Channel.Seal] seals data; after
// [Channel.HandOff] has given a direction's keys to the kernel (once,
// zeroing the channel's copy), [Channel.Control] judges the records the
// kernel hands up with their content type, and what the channel sends in
// reply comes out unprotected for the kernel to protect. Both ways run the
// same judge, and one table of cases (channel_test.go) checks that they
// give the same answers.
//
// A KeyUpdate that Control judges once the receive key is in the kernel
// ends the connection cleanly (PEER_CLOSED above), unless the owner keeps
// the traffic secrets itself and said so ([Channel.FollowKeyUpdatesInKernel],
// the server's ktls_key_update = "rekey"): then the channel stays OPEN and
// leaves a verdict ([Channel.TakeKeyUpdate]: install the next receive key;
// send our KeyUpdate and move to the next transmit key when
// update_requested) that the owner carries out in the kernel.
//
// # Files
//
// Version-neutral: record framing (record.go), alerts (alert.go),
// handshake failures (failure.go), ClientHello parsing (clienthello.go),
// extension and message numbers (extensions.go), certificates and their
// selection (certificate.go), cipher suites (suites.go), groups and key
// agreement (groups.go, also TLS 1.2's ECDHE), configuration (config.go),
// the step driver (server.go), the hand-over (session.go), the channel
// (channel.go). TLS 1.3: the state machine (handshake13.go), which records
// it accepts when (handshake13_records.go), messages (messages13.go), key
// schedule (keyschedule13.go), record protection (protect13.go). TLS 1.2:
// the state machine and its record dispatch (handshake12.go), messages
// (messages12.go), certificate kinds and signature schemes
// (certificate12.go), suites (suites12.go), the PRF and key block
// (prf12.go), record protection (protect12.go).
//
// Session resumption: the state a ticket carries and its sealing under
// [Config.TicketKeys] (ticketstate.go, keys in package ticket); TLS 1.3
// PSK selection and binders (psk13.go) and NewSessionTickets
// (tickets13.go); TLS 1.2 tickets, issued only when the extended master
// secret was used, and the abbreviated handshake (resume12.go).
// Certificates are chosen by server name in certificate.go.
package tlsstate
