package tlsstate

import (
	"crypto/hkdf"
	"crypto/hmac"
)

// The TLS 1.3 key schedule (RFC 8446 §7.1), built on crypto/hkdf. The
// HKDF-Expand-Label and Derive-Secret wrappers are not exported by the
// standard library, so they are written here.

// expandLabel is HKDF-Expand-Label(secret, label, context, length).
func (s *suiteInfo) expandLabel(secret []byte, label string, context []byte, length int) []byte {
	const prefix = "tls13 "
	info := make([]byte, 0, 2+1+len(prefix)+len(label)+1+len(context))
	info = append(info, byte(length>>8), byte(length))
	info = append(info, byte(len(prefix)+len(label)))
	info = append(info, prefix...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	out, err := hkdf.Expand(s.newHash, secret, string(info), length)
	if err != nil {
		// Only an output longer than 255 hash blocks fails; every length
		// used here is a constant far below that.
		panic("tlsstate: HKDF-Expand-Label: " + err.Error())
	}
	return out
}

// deriveSecret is Derive-Secret(secret, label, messages) given the transcript
// hash of the messages.
func (s *suiteInfo) deriveSecret(secret []byte, label string, transcriptHash []byte) []byte {
	return s.expandLabel(secret, label, transcriptHash, s.hashLen)
}

// extract is HKDF-Extract(salt, ikm); a nil ikm means hashLen zero bytes.
func (s *suiteInfo) extract(salt, ikm []byte) []byte {
	if ikm == nil {
		ikm = make([]byte, s.hashLen)
	}
	out, err := hkdf.Extract(s.newHash, ikm, salt)
	if err != nil {
		panic("tlsstate: HKDF-Extract: " + err.Error())
	}
	return out
}

// emptyHash is Transcript-Hash("") for the suite's hash, computed once (see
// initKeySchedule). Callers must not modify it.
func (s *suiteInfo) emptyHash() []byte {
	return s.emptyTranscript
}

// earlySecret is the early secret without a PSK: HKDF-Extract(0, 0).
func (s *suiteInfo) earlySecret() []byte {
	return s.extract(nil, nil)
}

// initKeySchedule computes the suite's key schedule constants: the hash of
// the empty transcript and Derive-Secret(early secret, "derived", "") for
// handshakes without a PSK. Neither is secret: both follow from the suite
// alone.
func (s *suiteInfo) initKeySchedule() {
	s.emptyTranscript = s.newHash().Sum(nil)
	s.derivedNoPSK = s.deriveSecret(s.earlySecret(), "derived", s.emptyTranscript)
}

// handshakeSecret is the handshake secret from the (EC)DHE shared secret
// and the early secret of a PSK, or, with early nil, of no PSK (whose
// "derived" step is the same for every handshake and computed once).
func (s *suiteInfo) handshakeSecret(early, shared []byte) []byte {
	if early == nil {
		return s.extract(s.derivedNoPSK, shared)
	}
	return s.nextStageSecret(early, shared)
}

// nextStageSecret runs one "derived" step and extract:
// HKDF-Extract(Derive-Secret(prev, "derived", ""), ikm). It is how the early
// secret becomes the handshake secret (ikm = the (EC)DHE shared secret) and
// the handshake secret becomes the master secret (ikm = 0).
func (s *suiteInfo) nextStageSecret(prev, ikm []byte) []byte {
	derived := s.deriveSecret(prev, "derived", s.emptyHash())
	out := s.extract(derived, ikm)
	clear(derived)
	return out
}

// trafficKey derives the record key and IV from a traffic secret (§7.3).
func (s *suiteInfo) trafficKey(secret []byte) (key, iv []byte) {
	return s.expandLabel(secret, "key", nil, s.keyLen), s.expandLabel(secret, "iv", nil, ivLen)
}

// finishedVerifyData is HMAC(finished_key, transcript hash) (§4.4.4).
func (s *suiteInfo) finishedVerifyData(baseKey, transcriptHash []byte) []byte {
	finishedKey := s.expandLabel(baseKey, "finished", nil, s.hashLen)
	mac := hmac.New(s.newHash, finishedKey)
	mac.Write(transcriptHash)
	clear(finishedKey)
	return mac.Sum(nil)
}

// nextTrafficSecret is application_traffic_secret_N+1 (§7.2).
func (s *suiteInfo) nextTrafficSecret(secret []byte) []byte {
	return s.expandLabel(secret, "traffic upd", nil, s.hashLen)
}
