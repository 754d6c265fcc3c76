package tlsstate

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// ticketState is what a session ticket carries: everything the server
// needs to resume a session, sealed by the Config's ticket keys so that
// only a server holding them can read or forge it (RFC 5077 §4, RFC 8446
// §4.6.1). Its encoding is private to this package:
//
//	uint8   format (sessionStateFormat)
//	uint16  protocol version (0x0304 or 0x0303)
//	uint16  cipher suite
//	uint64  issued: when this ticket was made, Unix milliseconds
//	uint64  authenticated: when the full handshake that this session
//	        descends from ran, Unix milliseconds (resumption keeps it)
//	uint32  lifetime in seconds, as advertised in the NewSessionTicket
//	uint32  ticket_age_add (TLS 1.3; 0 in TLS 1.2)
//	uint8   flags (flagExtendedMasterSecret)
//	opaque  server_name<0..255>
//	opaque  secret<1..255>: the resumption PSK (TLS 1.3) or the master
//	        secret (TLS 1.2)
//
// The ticket keys seal it with an associated-data label per protocol
// version (ticketLabel13, ticketLabel12), so a ticket of one version never
// opens as the other; the version inside is checked too.
type ticketState struct {
	version       uint16
	suite         CipherSuite
	issued        time.Time
	authenticated time.Time
	lifetime      time.Duration
	ageAdd        uint32
	ems           bool
	serverName    string
	secret        []byte
}

const (
	sessionStateFormat       = 1
	flagExtendedMasterSecret = 1 << 0
)

// The associated data that binds a sealed ticket to its protocol version.
var (
	ticketLabel13 = []byte("lwango tls13 session ticket v1")
	ticketLabel12 = []byte("lwango tls12 session ticket v1")
)

// Bounds on ticket lifetimes.
const (
	// maxTicketLifetime is the longest lifetime TLS 1.3 allows (RFC 8446
	// §4.6.1), also used for TLS 1.2; it bounds how long a chain of
	// resumptions may go on from one full handshake as well.
	maxTicketLifetime = 7 * 24 * time.Hour
	// defaultTicketLifetime is used when the Config names none.
	defaultTicketLifetime = 24 * time.Hour
	// ticketAgeTolerance is how far the client's idea of a TLS 1.3
	// ticket's age (from obfuscated_ticket_age) may differ from the
	// server's before the ticket is refused: the round trip, and clocks
	// that ran at different rates (a client suspended, a server under
	// load) fit well inside it.
	ticketAgeTolerance = 10 * time.Second
)

// marshal encodes the state for sealing.
func (st *ticketState) marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(sessionStateFormat)
	b.AddUint16(st.version)
	b.AddUint16(uint16(st.suite))
	b.AddUint64(uint64(st.issued.UnixMilli()))
	b.AddUint64(uint64(st.authenticated.UnixMilli()))
	b.AddUint32(uint32(st.lifetime / time.Second))
	b.AddUint32(st.ageAdd)
	var flags uint8
	if st.ems {
		flags |= flagExtendedMasterSecret
	}
	b.AddUint8(flags)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(st.serverName)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(st.secret) })
	return b.Bytes()
}

// parseSessionState decodes what marshal encoded. The plaintext came out of
// an authenticated ticket, so a malformed one means a bug or a key shared
// with something else; it is refused all the same.
func parseSessionState(plain []byte) (*ticketState, bool) {
	s := cryptobyte.String(plain)
	st := &ticketState{}
	var format, flags uint8
	var suite uint16
	var issued, authenticated uint64
	var lifetime uint32
	var name, secret cryptobyte.String
	if !s.ReadUint8(&format) || format != sessionStateFormat ||
		!s.ReadUint16(&st.version) || !s.ReadUint16(&suite) ||
		!s.ReadUint64(&issued) || !s.ReadUint64(&authenticated) ||
		!s.ReadUint32(&lifetime) || !s.ReadUint32(&st.ageAdd) || !s.ReadUint8(&flags) ||
		!s.ReadUint8LengthPrefixed(&name) || !s.ReadUint8LengthPrefixed(&secret) || secret.Empty() || !s.Empty() {
		return nil, false
	}
	st.suite = CipherSuite(suite)
	st.issued = time.UnixMilli(int64(issued))
	st.authenticated = time.UnixMilli(int64(authenticated))
	st.lifetime = time.Duration(lifetime) * time.Second
	st.ems = flags&flagExtendedMasterSecret != 0
	st.serverName = string(name)
	st.secret = secret
	return st, true
}

// fresh reports whether the ticket may still be used at now: within its own
// lifetime, and within maxTicketLifetime of the full handshake it descends
// from. A ticket from the future (a clock that went back, or a fleet whose
// clocks disagree by more than the tolerance) is refused too.
func (st *ticketState) fresh(now time.Time) bool {
	age := now.Sub(st.issued)
	return age > -ticketAgeTolerance && age < st.lifetime && now.Sub(st.authenticated) < maxTicketLifetime
}

// sealTicket seals the state under the Config's current ticket key. It
// returns nil when there are no keys or sealing fails (the keys were
// zeroed by a reload, the random source failed): the handshake then simply
// sends no ticket.
func (c *Config) sealTicket(st *ticketState, label []byte) []byte {
	if c.TicketKeys == nil {
		return nil
	}
	plain, err := st.marshal()
	if err != nil {
		return nil
	}
	defer clear(plain)
	sealed, err := c.TicketKeys.Seal(nil, plain, label, c.rand())
	if err != nil {
		return nil
	}
	return sealed
}

// openTicket opens a ticket sealed under label and returns its state, or
// false for anything that is not a valid ticket of that version.
func (c *Config) openTicket(sealed, label []byte, version uint16) (*ticketState, bool) {
	if c.TicketKeys == nil {
		return nil, false
	}
	plain, ok := c.TicketKeys.Open(nil, sealed, label)
	if !ok {
		return nil, false
	}
	st, ok := parseSessionState(plain)
	if !ok || st.version != version {
		clear(plain)
		return nil, false
	}
	return st, true
}

// zero wipes the secret the state carries.
func (st *ticketState) zero() {
	clear(st.secret)
	st.secret = nil
}
