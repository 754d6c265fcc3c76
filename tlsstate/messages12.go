package tlsstate

import (
	"golang.org/x/crypto/cryptobyte"
)

// Marshalling of the TLS 1.2 messages this server sends (RFC 5246 §7.4,
// RFC 8422 §5.4). Each function returns the whole message, 4-byte header
// included, ready for the transcript and the record layer.

// Handshake message types used only by TLS 1.2 (RFC 5246 §7.4).
const (
	msgHelloRequest      uint8 = 0
	msgServerKeyExchange uint8 = 12
	msgServerHelloDone   uint8 = 14
	msgClientKeyExchange uint8 = 16
)

// downgradeSentinel12 ends ServerHello.random when this server negotiates
// TLS 1.2 although it could do TLS 1.3 (RFC 8446 §4.1.3).
var downgradeSentinel12 = [8]byte{'D', 'O', 'W', 'N', 'G', 'R', 'D', 0x01}

// namedCurveType is ECCurveType named_curve (RFC 8422 §5.4).
const namedCurveType = 3

// serverHello12 is what the TLS 1.2 ServerHello says beyond the suite.
type serverHello12 struct {
	random      []byte
	suite       CipherSuite
	secureReneg bool // an empty renegotiation_info (RFC 5746 §3.6)
	ems         bool // extended_master_secret (RFC 7627 §5.1)
	pointFormat bool // ec_point_formats [uncompressed] (RFC 8422 §5.2)
	alpn        string
	// ticket promises a NewSessionTicket (an empty session_ticket, RFC
	// 5077 §3.2).
	ticket bool
	// sessionID is empty on a full handshake: this server keeps no session
	// cache (RFC 5246 §7.4.1.3 allows an empty ID for a session that will
	// not be cached) and resumes from tickets only. On resumption it
	// echoes the client's (RFC 5077 §3.4), which is how the client knows.
	sessionID []byte
}

// marshalServerHello12 builds the ServerHello.
func marshalServerHello12(h serverHello12) ([]byte, error) {
	return handshakeMessage(msgServerHello, func(b *cryptobyte.Builder) {
		b.AddUint16(VersionTLS12)
		b.AddBytes(h.random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(h.sessionID) })
		b.AddUint16(uint16(h.suite))
		b.AddUint8(0) // compression_method null
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			if h.secureReneg {
				b.AddUint16(extRenegotiationInfo)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
			}
			if h.ems {
				b.AddUint16(extExtendedMasterSec)
				b.AddUint16(0)
			}
			if h.pointFormat {
				b.AddUint16(extECPointFormats)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
				})
			}
			if h.ticket {
				b.AddUint16(extSessionTicket)
				b.AddUint16(0)
			}
			if h.alpn != "" {
				b.AddUint16(extALPN)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
						b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(h.alpn)) })
					})
				})
			}
		})
	})
}

// marshalCertificate12 sends the chain, leaf first (RFC 5246 §7.4.2).
func marshalCertificate12(chain [][]byte) ([]byte, error) {
	return handshakeMessage(msgCertificate, func(b *cryptobyte.Builder) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, der := range chain {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(der) })
			}
		})
	})
}

// ecdheParams is ServerECDHParams (RFC 8422 §5.4): the named curve and the
// server's ephemeral public key. It is also part of what gets signed.
func ecdheParams(group Group, public []byte) []byte {
	p := make([]byte, 0, 4+len(public))
	p = append(p, namedCurveType, byte(group>>8), byte(group), byte(len(public)))
	return append(p, public...)
}

// marshalServerKeyExchange12 carries the ECDHE parameters and their
// signature.
func marshalServerKeyExchange12(params []byte, scheme SignatureScheme, signature []byte) ([]byte, error) {
	return handshakeMessage(msgServerKeyExchange, func(b *cryptobyte.Builder) {
		b.AddBytes(params)
		b.AddUint16(uint16(scheme))
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(signature) })
	})
}

// serverHelloDone is the empty message that ends the server's first flight.
var serverHelloDone = []byte{msgServerHelloDone, 0, 0, 0}

// parseClientKeyExchange12 reads ClientECDiffieHellmanPublic (RFC 8422
// §5.7): an explicit ECPoint, opaque point<1..2^8-1>, that must fill the
// message exactly.
func parseClientKeyExchange12(msg []byte) ([]byte, *AlertError) {
	s := cryptobyte.String(msg[4:])
	var point cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&point) || !s.Empty() || point.Empty() {
		return nil, fatal(AlertDecodeError, "malformed ClientKeyExchange")
	}
	return point, nil
}

// marshalNewSessionTicket12 carries a ticket and its lifetime hint in
// seconds (RFC 5077 §3.3).
func marshalNewSessionTicket12(lifetime uint32, ticket []byte) ([]byte, error) {
	return handshakeMessage(msgNewSessionTicket, func(b *cryptobyte.Builder) {
		b.AddUint32(lifetime)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ticket) })
	})
}
