package tlsstate

import (
	"crypto/hmac"
	"hash"
)

// The TLS 1.2 pseudo-random function and what is derived with it (RFC 5246
// §5, §6.3, §7.4.9, §8.1; RFC 7627), on crypto/hmac. The standard library
// keeps its own PRF internal, so it is written here.

const (
	masterSecretLen = 48 // RFC 5246 §8.1
	verifyDataLen12 = 12 // RFC 5246 §7.4.9, for every suite here
)

// Finished labels (RFC 5246 §7.4.9).
const (
	clientFinishedLabel = "client finished"
	serverFinishedLabel = "server finished"
)

// prf12 fills out with PRF(secret, label, seed) = P_hash(secret, label +
// seed), where P_hash chains A(i) = HMAC(secret, A(i-1)), A(0) = label +
// seed, and outputs HMAC(secret, A(i) + label + seed) for i = 1, 2, ...
func prf12(newHash func() hash.Hash, secret []byte, label string, seed []byte, out []byte) {
	labelSeed := make([]byte, 0, len(label)+len(seed))
	labelSeed = append(append(labelSeed, label...), seed...)
	mac := hmac.New(newHash, secret)
	mac.Write(labelSeed)
	a := mac.Sum(nil)
	block := make([]byte, 0, len(a))
	for n := 0; n < len(out); {
		mac.Reset()
		mac.Write(a)
		mac.Write(labelSeed)
		block = mac.Sum(block[:0])
		n += copy(out[n:], block)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	clear(a)
	clear(block)
}

// masterSecret is the RFC 5246 §8.1 master secret: PRF(pre_master_secret,
// "master secret", client_random + server_random)[0..47].
func (s *suite12Info) masterSecret(preMaster, clientRandom, serverRandom []byte) []byte {
	seed := make([]byte, 0, len(clientRandom)+len(serverRandom))
	seed = append(append(seed, clientRandom...), serverRandom...)
	out := make([]byte, masterSecretLen)
	prf12(s.newHash, preMaster, "master secret", seed, out)
	return out
}

// extendedMasterSecret is the RFC 7627 §4 master secret, bound to the
// handshake: PRF(pre_master_secret, "extended master secret",
// session_hash)[0..47], where session_hash is the transcript hash up to and
// including the ClientKeyExchange.
func (s *suite12Info) extendedMasterSecret(preMaster, sessionHash []byte) []byte {
	out := make([]byte, masterSecretLen)
	prf12(s.newHash, preMaster, "extended master secret", sessionHash, out)
	return out
}

// keyBlock12 is the key material of an AEAD suite (RFC 5246 §6.3; AEAD
// suites have no MAC keys): one write key and one write IV per direction.
// All four slices share one allocation.
type keyBlock12 struct {
	clientKey, serverKey, clientIV, serverIV []byte
}

// keyBlock expands the master secret: PRF(master_secret, "key expansion",
// server_random + client_random), split into client key, server key,
// client IV, server IV.
func (s *suite12Info) keyBlock(master, clientRandom, serverRandom []byte) keyBlock12 {
	seed := make([]byte, 0, len(serverRandom)+len(clientRandom))
	seed = append(append(seed, serverRandom...), clientRandom...)
	block := make([]byte, 2*s.keyLen+2*s.fixedIVLen)
	prf12(s.newHash, master, "key expansion", seed, block)
	var kb keyBlock12
	kb.clientKey, block = block[:s.keyLen:s.keyLen], block[s.keyLen:]
	kb.serverKey, block = block[:s.keyLen:s.keyLen], block[s.keyLen:]
	kb.clientIV, block = block[:s.fixedIVLen:s.fixedIVLen], block[s.fixedIVLen:]
	kb.serverIV = block[:s.fixedIVLen:s.fixedIVLen]
	return kb
}

// zero wipes the key block.
func (kb *keyBlock12) zero() {
	clear(kb.clientKey)
	clear(kb.serverKey)
	clear(kb.clientIV)
	clear(kb.serverIV)
	*kb = keyBlock12{}
}

// finishedVerifyData is PRF(master_secret, label, Hash(handshake_messages))
// [0..11] (RFC 5246 §7.4.9).
func (s *suite12Info) finishedVerifyData(master []byte, label string, transcriptHash []byte) []byte {
	out := make([]byte, verifyDataLen12)
	prf12(s.newHash, master, label, transcriptHash, out)
	return out
}
