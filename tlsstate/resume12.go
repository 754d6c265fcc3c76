package tlsstate

import (
	"slices"
	"strings"
	"time"
)

// TLS 1.2 session tickets (RFC 5077). A client that sends an empty
// session_ticket extension, and negotiates the extended master secret, gets
// a NewSessionTicket before the server's ChangeCipherSpec. A client that
// sends a ticket of ours is resumed with the abbreviated handshake: no
// certificate, no key exchange; the master secret comes from the ticket and
// the keys from it and the new randoms. A ticket that fails any check gives
// a full handshake, as if none had been sent.

// resumable12 opens the client's ticket and checks that the session can be
// resumed on this ClientHello: it used the extended master secret and the
// client offers it again (RFC 7627 §5.3), the client offers the session's
// suite and this server still enables it, the ticket is fresh, and it is
// for the same server name. It returns nil for a full handshake.
func (h *handshake12) resumable12(ch *clientHello, neg negotiated12) *ticketState {
	if h.cfg.TicketKeys == nil || len(ch.sessionTicket) == 0 {
		return nil
	}
	st, ok := h.cfg.openTicket(ch.sessionTicket, ticketLabel12, VersionTLS12)
	if !ok {
		return nil
	}
	if !st.ems || !neg.ems || len(st.secret) != masterSecretLen || !st.fresh(h.cfg.now()) ||
		!strings.EqualFold(st.serverName, ch.serverName) ||
		!ch.offersSuite(uint16(st.suite)) || !slices.Contains(h.cfg.cipherSuites12(), st.suite) {
		st.zero()
		return nil
	}
	return st
}

// sendResumedFlight12 answers a ClientHello whose ticket resumes st with
// ServerHello (echoing the client's session ID, RFC 5077 §3.4), a fresh
// NewSessionTicket, ChangeCipherSpec and Finished, and waits for the
// client's ChangeCipherSpec and Finished.
func (h *handshake12) sendResumedFlight12(ch *clientHello, neg negotiated12, st *ticketState, out []byte) ([]byte, error) {
	h.suite = suite12ByID(st.suite)
	h.transcript = h.suite.newHash()
	h.transcript.Write(ch.raw)
	h.master, h.resumed, h.authenticated = st.secret, true, st.authenticated
	h.issueTicket = h.cfg.ticketLifetime() > 0
	hello, err := marshalServerHello12(serverHello12{
		random: h.serverRandom, suite: h.suite.id, secureReneg: neg.secureReneg, ems: true,
		pointFormat: neg.pointFormat, alpn: neg.alpn, ticket: h.issueTicket, sessionID: ch.sessionID,
	})
	if err != nil {
		return out, fatal(AlertInternalError, "cannot encode ServerHello")
	}
	h.transcript.Write(hello)
	flight := hello
	if h.issueTicket {
		nst := h.newSessionTicket12()
		h.transcript.Write(nst)
		flight = append(flight, nst...)
	}
	h.keys = h.suite.keyBlock(h.master, h.clientRandom, h.serverRandom)
	if h.pendingRX, err = newRecordCipher12(h.suite, h.keys.clientKey, h.keys.clientIV); err != nil {
		return out, fatal(AlertInternalError, "cannot build the record cipher")
	}
	out = appendPlaintextRecords(out, typeHandshake, flight)
	out, err = h.sendServerFinished12(out)
	h.state = state12ExpectChangeCipherSpec
	return out, err
}

// newSessionTicket12 is the NewSessionTicket for the session being
// established, sealing its master secret. If sealing fails the ticket is
// empty, which tells the client that none is issued after all (RFC 5077
// §3.3): the ServerHello already promised the message.
func (h *handshake12) newSessionTicket12() []byte {
	lifetime := h.cfg.ticketLifetime()
	st := &ticketState{
		version:       VersionTLS12,
		suite:         h.suite.id,
		issued:        h.cfg.now(),
		authenticated: h.authenticated,
		lifetime:      lifetime,
		ems:           true,
		serverName:    h.serverName,
		secret:        h.master,
	}
	sealed := h.cfg.sealTicket(st, ticketLabel12)
	msg, err := marshalNewSessionTicket12(uint32(lifetime/time.Second), sealed)
	if err != nil {
		// Only a ticket over 64 KiB fails, and the ticket package caps
		// them far below that.
		panic("tlsstate: encoding NewSessionTicket: " + err.Error())
	}
	return msg
}
