package tlsstate

import (
	"crypto/hmac"
	"strings"
	"time"
)

// TLS 1.3 session resumption (RFC 8446 §2.2, §4.2.11): the server accepts
// a PSK that is one of its own tickets, with psk_dhe_ke only, so every
// resumed handshake still runs a fresh (EC)DHE exchange and keeps forward
// secrecy. A ticket that fails any check is ignored and the handshake goes
// on as a full one; only a ticket that is ours and valid but whose binder
// does not verify aborts the handshake (decrypt_error, §4.2.11 and §6.2).

// resumption13 is the PSK the server accepted.
type resumption13 struct {
	// selected is the index of the identity, sent back in ServerHello.
	selected uint16
	state    *ticketState
}

// choosePSK13 looks for a ticket among the client's PSK identities that
// this server can resume with the negotiated suite, and verifies its
// binder. It returns nil (a full handshake) when there is none.
// retryPrefix is the message_hash and HelloRetryRequest that precede this
// ClientHello in the transcript, if there was a retry.
func (h *handshake13) choosePSK13(ch *clientHello, suite *suiteInfo, retryPrefix []byte) (*resumption13, error) {
	if h.cfg.TicketKeys == nil || !ch.hasPreSharedKey || !ch.offersPSKWithDHE() {
		return nil, nil
	}
	now := h.cfg.now()
	for i, id := range ch.pskIdentities {
		st, ok := h.cfg.openTicket(id.identity, ticketLabel13, VersionTLS13)
		if !ok {
			continue
		}
		if !resumable13(st, id, suite, ch.serverName, now) {
			st.zero()
			continue
		}
		if !binderVerifies(ch, i, st.secret, suite, retryPrefix) {
			st.zero()
			return nil, fatal(AlertDecryptError, "PSK binder does not verify")
		}
		return &resumption13{selected: uint16(i), state: st}, nil
	}
	return nil, nil
}

// resumable13 checks an opened TLS 1.3 ticket against the ClientHello
// offering it: a suite with the same hash (§4.2.11), still fresh, a ticket
// age that the client reports (obfuscated with ticket_age_add, §4.2.11.1)
// close to the server's own count, and the same server name it was issued
// for (§4.6.1), so a session never moves to another virtual host.
func resumable13(st *ticketState, id pskIdentity, suite *suiteInfo, serverName string, now time.Time) bool {
	ticketSuite := suiteByID(st.suite)
	if ticketSuite == nil || ticketSuite.hashLen != suite.hashLen || len(st.secret) != suite.hashLen {
		return false
	}
	if !st.fresh(now) || !strings.EqualFold(st.serverName, serverName) {
		return false
	}
	clientAge := time.Duration(id.obfuscatedTicketAge-st.ageAdd) * time.Millisecond
	serverAge := now.Sub(st.issued)
	return clientAge-serverAge <= ticketAgeTolerance && serverAge-clientAge <= ticketAgeTolerance
}

// binderVerifies computes the binder of PSK i over the transcript up to and
// including the identities (§4.2.11.2) and compares it in constant time.
func binderVerifies(ch *clientHello, i int, psk []byte, suite *suiteInfo, retryPrefix []byte) bool {
	early := suite.extract(nil, psk)
	binderKey := suite.deriveSecret(early, "res binder", suite.emptyHash())
	clear(early)
	h := suite.newHash()
	h.Write(retryPrefix)
	h.Write(ch.raw[:ch.bindersStart])
	want := suite.finishedVerifyData(binderKey, h.Sum(nil))
	clear(binderKey)
	ok := hmac.Equal(want, ch.pskBinders[i])
	clear(want)
	return ok
}
