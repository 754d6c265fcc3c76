package tlsstate

// Extension numbers (IANA "TLS ExtensionType Values") that this package
// reads or writes, for every protocol version.
const (
	extServerName          uint16 = 0
	extSupportedGroups     uint16 = 10
	extECPointFormats      uint16 = 11
	extSignatureAlgorithms uint16 = 13
	extALPN                uint16 = 16
	extPadding             uint16 = 21
	extExtendedMasterSec   uint16 = 23
	extSessionTicket       uint16 = 35
	extPreSharedKey        uint16 = 41
	extEarlyData           uint16 = 42
	extSupportedVersions   uint16 = 43
	extCookie              uint16 = 44
	extPSKKeyExchangeModes uint16 = 45
	extKeyShare            uint16 = 51
	extRenegotiationInfo   uint16 = 0xff01
)

// Handshake message types (RFC 8446 §4, RFC 5246 §7.4).
const (
	msgClientHello         uint8 = 1
	msgServerHello         uint8 = 2
	msgNewSessionTicket    uint8 = 4
	msgEndOfEarlyData      uint8 = 5
	msgEncryptedExtensions uint8 = 8
	msgCertificate         uint8 = 11
	msgCertificateVerify   uint8 = 15
	msgFinished            uint8 = 20
	msgKeyUpdate           uint8 = 24
	msgMessageHash         uint8 = 254
)

// Protocol versions as on the wire.
const (
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// pskModeDHE is psk_dhe_ke (RFC 8446 §4.2.9): PSK with (EC)DHE key
// establishment. psk_ke (0), PSK alone, is never used.
const pskModeDHE uint8 = 1
