package tlsstate

import (
	"encoding/binary"
	"io"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// TLS 1.3 NewSessionTickets (RFC 8446 §4.6.1). They are sent once the
// client's Finished has verified, in one record under the server's first
// application traffic key, as part of the output that Advance returns with
// Complete. That record is record 0 of the application key, so the
// Session's TX.Seq counts it: the record layer, or the kernel after a kTLS
// hand-off, continues at the right sequence number.

// appendTickets13 seals the configured number of tickets into one record
// after the handshake and advances sess.TX.Seq past it. Any failure (keys
// zeroed by a reload, a random source that failed) sends fewer tickets or
// none: resumption is an optimisation, never a reason to fail a handshake.
func (h *handshake13) appendTickets13(out []byte, sess *Session) []byte {
	lifetime := h.cfg.ticketLifetime()
	if h.resumptionSecret == nil || lifetime <= 0 {
		return out
	}
	suite := h.suite
	var msgs []byte
	for i := range h.cfg.sessionTickets() {
		nonce := []byte{byte(i)}
		var ageAdd [4]byte
		if _, err := io.ReadFull(h.cfg.rand(), ageAdd[:]); err != nil {
			break
		}
		st := &ticketState{
			version:       VersionTLS13,
			suite:         suite.id,
			issued:        h.cfg.now(),
			authenticated: h.authenticated,
			lifetime:      lifetime,
			ageAdd:        binary.BigEndian.Uint32(ageAdd[:]),
			serverName:    h.serverName,
			secret:        suite.expandLabel(h.resumptionSecret, "resumption", nonce, suite.hashLen),
		}
		sealed := h.cfg.sealTicket(st, ticketLabel13)
		st.zero()
		if sealed == nil {
			break
		}
		msg, err := marshalNewSessionTicket13(st, nonce, sealed)
		if err != nil {
			break
		}
		msgs = append(msgs, msg...)
	}
	if len(msgs) == 0 {
		return out
	}
	// h.tx is the server's application traffic cipher since its Finished.
	tx := h.tx
	tx.seq = sess.TX.Seq
	sealedOut, aerr := tx.seal(out, typeHandshake, msgs)
	if aerr != nil {
		return out
	}
	sess.TX.Seq = tx.seq
	return sealedOut
}

// marshalNewSessionTicket13 builds a NewSessionTicket without extensions:
// no early_data, so clients never send 0-RTT data this server would refuse.
func marshalNewSessionTicket13(st *ticketState, nonce, ticket []byte) ([]byte, error) {
	return handshakeMessage(msgNewSessionTicket, func(b *cryptobyte.Builder) {
		b.AddUint32(uint32(st.lifetime / time.Second))
		b.AddUint32(st.ageAdd)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(nonce) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ticket) })
		b.AddUint16(0) // extensions
	})
}
