package tlsstate

import (
	"crypto/hkdf"
	"crypto/hmac"
	"hash"
)

// The TLS 1.3 key schedule (RFC 8446 §7.1), built on crypto/hkdf and
// crypto/hmac. The HKDF-Expand-Label and Derive-Secret wrappers are not
// exported by the standard library, so they are written here.

// labels computes HKDF-Expand-Label outputs from one secret with a single
// HMAC keyed by it, reset between labels: crypto/hkdf's Expand sets up a new
// HMAC (two hash states and the pads) on every call, and the key schedule
// takes up to three labels from one secret (a handshake traffic secret gives
// the key, the IV and the finished key). Every output of the TLS 1.3 key
// schedule is at most one hash long, so HKDF-Expand is one HMAC block,
// T(1) = HMAC(secret, info || 0x01) (RFC 5869 §2.3).
type labels struct {
	mac   hash.Hash
	suite *suiteInfo
	// used says the HMAC has produced an output and must be reset before
	// the next: a fresh one is ready as it is, and crypto/hmac's first
	// Reset costs two hash blocks (it saves the keyed states then).
	used bool
}

// labels returns the HKDF-Expand-Label outputs of secret.
func (s *suiteInfo) labels(secret []byte) labels {
	return labels{mac: hmac.New(s.newHash, secret), suite: s}
}

// expand is HKDF-Expand-Label(secret, label, context, length), length at
// most the hash length.
func (l *labels) expand(label string, context []byte, length int) []byte {
	hashLen := l.suite.hashLen
	if length > hashLen {
		// Every length used here is a constant no longer than the hash.
		panic("tlsstate: HKDF-Expand-Label longer than one hash block")
	}
	const prefix = "tls13 "
	// One allocation: the output's hash block, then the HkdfLabel (not
	// secret) behind it.
	buf := make([]byte, hashLen, hashLen+2+1+len(prefix)+len(label)+1+len(context)+1)
	info := append(buf[hashLen:], byte(length>>8), byte(length))
	info = append(info, byte(len(prefix)+len(label)))
	info = append(info, prefix...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	info = append(info, 1) // the block counter of T(1)
	if l.used {
		l.mac.Reset()
	}
	l.used = true
	l.mac.Write(info)
	out := l.mac.Sum(buf[:0])
	clear(out[length:])
	return out[:length]
}

// derive is Derive-Secret(secret, label, messages) given the transcript
// hash of the messages.
func (l *labels) derive(label string, transcriptHash []byte) []byte {
	return l.expand(label, transcriptHash, l.suite.hashLen)
}

// trafficKey derives the record key and IV from the traffic secret the
// labels are keyed by (§7.3).
func (l *labels) trafficKey() (key, iv []byte) {
	return l.expand("key", nil, l.suite.keyLen), l.expand("iv", nil, ivLen)
}

// finishedVerifyData is HMAC(finished_key, transcript hash) (§4.4.4) for
// the base key the labels are keyed by.
func (l *labels) finishedVerifyData(transcriptHash []byte) []byte {
	finishedKey := l.expand("finished", nil, l.suite.hashLen)
	mac := hmac.New(l.suite.newHash, finishedKey)
	mac.Write(transcriptHash)
	clear(finishedKey)
	return mac.Sum(nil)
}

// expandLabel is HKDF-Expand-Label(secret, label, context, length), for a
// secret only one label is taken from.
func (s *suiteInfo) expandLabel(secret []byte, label string, context []byte, length int) []byte {
	l := s.labels(secret)
	return l.expand(label, context, length)
}

// deriveSecret is Derive-Secret(secret, label, messages) given the transcript
// hash of the messages.
func (s *suiteInfo) deriveSecret(secret []byte, label string, transcriptHash []byte) []byte {
	l := s.labels(secret)
	return l.derive(label, transcriptHash)
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
	l := s.labels(prev)
	return l.nextStage(ikm)
}

// nextStage is nextStageSecret for the secret the labels are keyed by (the
// handshake secret's labels also give the handshake traffic secrets).
func (l *labels) nextStage(ikm []byte) []byte {
	derived := l.derive("derived", l.suite.emptyHash())
	out := l.suite.extract(derived, ikm)
	clear(derived)
	return out
}

// trafficKey derives the record key and IV from a traffic secret (§7.3).
func (s *suiteInfo) trafficKey(secret []byte) (key, iv []byte) {
	l := s.labels(secret)
	return l.trafficKey()
}

// finishedVerifyData is HMAC(finished_key, transcript hash) (§4.4.4).
func (s *suiteInfo) finishedVerifyData(baseKey, transcriptHash []byte) []byte {
	l := s.labels(baseKey)
	return l.finishedVerifyData(transcriptHash)
}

// nextTrafficSecret is application_traffic_secret_N+1 (§7.2).
func (s *suiteInfo) nextTrafficSecret(secret []byte) []byte {
	return s.expandLabel(secret, "traffic upd", nil, s.hashLen)
}
