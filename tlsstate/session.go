package tlsstate

// TrafficKeys is one direction's record protection state: what the kernel
// needs for TLS_TX / TLS_RX, and what a KeyUpdate derives from.
type TrafficKeys struct {
	// Secret is the current application traffic secret (RFC 8446 §7.2).
	Secret []byte
	// Key and IV are derived from Secret (RFC 8446 §7.3).
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
	// Version is the negotiated protocol version (VersionTLS13).
	Version uint16
	// CipherSuite is the negotiated suite.
	CipherSuite CipherSuite
	// ALPN is the negotiated application protocol, "" if the client sent
	// no ALPN extension.
	ALPN string
	// ServerName is the client's SNI host name, if any.
	ServerName string
	// RX protects client-to-server records, TX server-to-client records.
	RX, TX TrafficKeys
}

// Zero wipes both directions' key material.
func (s *Session) Zero() {
	s.RX.Zero()
	s.TX.Zero()
}

// newTrafficKeys derives key and IV from an application traffic secret; the
// secret is kept (not copied).
func newTrafficKeys(suite *suiteInfo, secret []byte) TrafficKeys {
	key, iv := suite.trafficKey(secret)
	return TrafficKeys{Secret: secret, Key: key, IV: iv}
}
