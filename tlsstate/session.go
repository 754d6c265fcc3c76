package tlsstate

// TrafficKeys is one direction's record protection state: what the kernel
// needs for TLS_TX / TLS_RX, and what a KeyUpdate derives from.
//
// For TLS 1.2 there is no traffic secret; Key and IV are the key block's
// write key and write IV (RFC 5246 §6.3): IV is the 4-byte implicit nonce
// (the kernel's salt) for AES-GCM, whose 8-byte explicit nonce this server
// sets to the sequence number, and the whole 12-byte IV for
// ChaCha20-Poly1305. kernel.TLS12Keys maps them onto crypto_info. Seq is 1
// right after the handshake in both directions: the Finished messages were
// record 0.
//
// In TLS 1.3, Seq is 0 right after the handshake, except TX.Seq when
// NewSessionTickets were sent under the first application key with the
// Complete output: then it is 1, and that output must be written before the
// TX key goes to the kernel.
type TrafficKeys struct {
	// Secret is the current application traffic secret (RFC 8446 §7.2);
	// nil in TLS 1.2.
	Secret []byte
	// Key and IV are derived from Secret (RFC 8446 §7.3), or taken from
	// the TLS 1.2 key block.
	Key, IV []byte
	// Seq is the sequence number of the next record under this key.
	Seq uint64
}

// Zero wipes the key material.
func (t *TrafficKeys) Zero() {
	clear(t.Secret)
	clear(t.Key)
	clear(t.IV)
	t.Secret, t.Key, t.IV, t.Seq = nil, nil, nil, 0
}

// Session is the outcome of a completed handshake, handed to the owner of
// the connection: to the kernel (kTLS) or to NewRecords.
type Session struct {
	// Version is the negotiated protocol version (VersionTLS13 or
	// VersionTLS12).
	Version uint16
	// CipherSuite is the negotiated suite.
	CipherSuite CipherSuite
	// Group is the key exchange's group; 0 for a TLS 1.2 resumption,
	// which has none.
	Group Group
	// ALPN is the negotiated application protocol, "" if the client sent
	// no ALPN extension.
	ALPN string
	// ServerName is the client's SNI host name, if any.
	ServerName string
	// Resumed says the handshake resumed an earlier session from a
	// session ticket instead of authenticating with a certificate.
	Resumed bool
	// RX protects client-to-server records, TX server-to-client records.
	RX, TX TrafficKeys

	// txCipher is the TLS 1.3 handshake's cipher for TX, already keyed
	// (it sealed anything the server sent after its Finished): NewChannel
	// takes it instead of expanding the same key again.
	txCipher *recordCipher
}

// Zero wipes both directions' key material.
func (s *Session) Zero() {
	s.RX.Zero()
	s.TX.Zero()
	if s.txCipher != nil {
		s.txCipher.wipe()
		s.txCipher = nil
	}
}

// newTrafficKeys derives key and IV from an application traffic secret; the
// secret is kept (not copied).
func newTrafficKeys(suite *suiteInfo, secret []byte) TrafficKeys {
	key, iv := suite.trafficKey(secret)
	return TrafficKeys{Secret: secret, Key: key, IV: iv}
}
