package tlsstate

import "errors"

// NextTrafficKeys moves one direction of a TLS 1.3 session to the next
// generation of its application traffic secret (RFC 8446 §7.2), as a
// KeyUpdate does: Secret, Key and IV are replaced by
// HKDF-Expand-Label(Secret, "traffic upd") and the key and IV derived from
// it (the old ones wiped) and Seq restarts at 0. It is for a record layer
// outside this package (kernel TLS), which must hand the kernel the new key.
func NextTrafficKeys(suite CipherSuite, keys *TrafficKeys) error {
	s := suiteByID(suite)
	if s == nil || keys.Secret == nil {
		return errors.New("tls: KeyUpdate needs a TLS 1.3 session with its traffic secret")
	}
	next := s.nextTrafficSecret(keys.Secret)
	keys.Zero()
	*keys = newTrafficKeys(s, next)
	return nil
}

// KeyUpdateMessage is the 5-byte KeyUpdate handshake message (RFC 8446
// §4.6.3); requestUpdate asks the peer to update its own keys too.
func KeyUpdateMessage(requestUpdate bool) [5]byte { return keyUpdateMessage(requestUpdate) }

// RecordLimit is how many records are protected under one TLS 1.3 key of
// suite before the record layer moves to the next (well inside the AEAD
// limits of RFC 8446 §5.5), or 0 for a suite that is not TLS 1.3's.
func RecordLimit(suite CipherSuite) uint64 {
	if s := suiteByID(suite); s != nil {
		return s.rekeyAfter
	}
	return 0
}
