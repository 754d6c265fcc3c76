package tlsstate

import (
	"crypto/sha256"

	"golang.org/x/crypto/cryptobyte"
)

// Marshalling of the TLS 1.3 messages this server sends (RFC 8446 §4). Each
// function returns the whole message, 4-byte header included, ready for the
// transcript and the record layer.

// helloRetryRequestRandom is the special ServerHello.random that marks a
// HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
var helloRetryRequestRandom = sha256.Sum256([]byte("HelloRetryRequest"))

func handshakeMessage(typ uint8, body func(b *cryptobyte.Builder)) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(body)
	return b.Bytes()
}

// serverHello13 is a TLS 1.3 ServerHello (or, with the HRR random and no
// share, a HelloRetryRequest).
type serverHello13 struct {
	random, sessionID []byte
	suite             CipherSuite
	group             Group
	share             []byte
	// pskSelected is the accepted PSK identity when hasPSK.
	pskSelected uint16
	hasPSK      bool
}

// marshal builds the message. Extension order follows RFC 8448.
func (h *serverHello13) marshal() ([]byte, error) {
	return handshakeMessage(msgServerHello, func(b *cryptobyte.Builder) {
		b.AddUint16(VersionTLS12) // legacy_version
		b.AddBytes(h.random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(h.sessionID) })
		b.AddUint16(uint16(h.suite))
		b.AddUint8(0) // legacy_compression_method
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			if h.hasPSK {
				b.AddUint16(extPreSharedKey)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(h.pskSelected) })
			}
			b.AddUint16(extKeyShare)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16(uint16(h.group))
				if h.share != nil {
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(h.share) })
				}
			})
			b.AddUint16(extSupportedVersions)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(VersionTLS13) })
		})
	})
}

// marshalHelloRetryRequest asks the client for a key share for group.
func marshalHelloRetryRequest(sessionID []byte, suite CipherSuite, group Group) ([]byte, error) {
	h := serverHello13{random: helloRetryRequestRandom[:], sessionID: sessionID, suite: suite, group: group}
	return h.marshal()
}

// marshalEncryptedExtensions carries the ALPN choice, if any.
func marshalEncryptedExtensions(alpn string) ([]byte, error) {
	return handshakeMessage(msgEncryptedExtensions, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			if alpn == "" {
				return
			}
			b.AddUint16(extALPN)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(alpn)) })
				})
			})
		})
	})
}

// marshalCertificate sends the chain with an empty request context and no
// per-certificate extensions.
func marshalCertificate(chain [][]byte) ([]byte, error) {
	return handshakeMessage(msgCertificate, func(b *cryptobyte.Builder) {
		b.AddUint8(0) // certificate_request_context
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, der := range chain {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(der) })
				b.AddUint16(0) // extensions
			}
		})
	})
}

// marshalCertificateVerify carries the signature over the transcript.
func marshalCertificateVerify(scheme SignatureScheme, signature []byte) ([]byte, error) {
	return handshakeMessage(msgCertificateVerify, func(b *cryptobyte.Builder) {
		b.AddUint16(uint16(scheme))
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(signature) })
	})
}

// finishedMessage wraps verify_data.
func finishedMessage(verifyData []byte) []byte {
	msg := make([]byte, 4+len(verifyData))
	msg[0] = msgFinished
	msg[3] = byte(len(verifyData))
	copy(msg[4:], verifyData)
	return msg
}

// keyUpdateMessage is a KeyUpdate; requestUpdate asks the peer to update too.
func keyUpdateMessage(requestUpdate bool) [5]byte {
	m := [5]byte{msgKeyUpdate, 0, 0, 1, 0}
	if requestUpdate {
		m[4] = 1
	}
	return m
}

// certificateVerifyInput is the content the server signs (RFC 8446 §4.4.3).
func certificateVerifyInput(transcriptHash []byte) []byte {
	const context = "TLS 1.3, server CertificateVerify"
	msg := make([]byte, 0, 64+len(context)+1+len(transcriptHash))
	for range 64 {
		msg = append(msg, 0x20)
	}
	msg = append(msg, context...)
	msg = append(msg, 0)
	return append(msg, transcriptHash...)
}
