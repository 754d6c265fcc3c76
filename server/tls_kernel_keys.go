package server

import (
	"fmt"

	"lwango/kernel"
	"lwango/tlsstate"
)

// kernelCipher maps a negotiated cipher suite onto the kernel's
// TLS_CIPHER_* number: the kernel knows the AEAD, not the suite.
func kernelCipher(suite tlsstate.CipherSuite) (uint16, bool) {
	switch suite {
	case tlsstate.AES128GCMSHA256,
		tlsstate.ECDHEECDSAWithAES128GCMSHA256, tlsstate.ECDHERSAWithAES128GCMSHA256:
		return kernel.TLS_CIPHER_AES_GCM_128, true
	case tlsstate.AES256GCMSHA384,
		tlsstate.ECDHEECDSAWithAES256GCMSHA384, tlsstate.ECDHERSAWithAES256GCMSHA384:
		return kernel.TLS_CIPHER_AES_GCM_256, true
	case tlsstate.ChaCha20Poly1305SHA256,
		tlsstate.ECDHEECDSAWithChaCha20Poly1305SHA256, tlsstate.ECDHERSAWithChaCha20Poly1305SHA256:
		return kernel.TLS_CIPHER_CHACHA20_POLY1305, true
	}
	return 0, false
}

// kernelKeys turns one direction of a live session into the kernel's
// crypto_info fields. The result aliases keys.Key and keys.IV (zeroing the
// session zeroes it), except the 8-byte explicit-nonce seed of TLS 1.2
// AES-GCM, which the caller zeroes with TrafficKeys.Zero.
func kernelKeys(sess *tlsstate.Session, keys *tlsstate.TrafficKeys) (*kernel.CryptoInfo, error) {
	cipher, ok := kernelCipher(sess.CipherSuite)
	if !ok {
		return nil, fmt.Errorf("cipher suite %v has no kernel TLS cipher", sess.CipherSuite)
	}
	switch sess.Version {
	case tlsstate.VersionTLS13:
		return kernel.TLS13Keys(cipher, keys.Key, keys.IV, keys.Seq)
	case tlsstate.VersionTLS12:
		return kernel.TLS12Keys(cipher, keys.Key, keys.IV, keys.Seq)
	}
	return nil, fmt.Errorf("protocol version %#04x has no kernel TLS", sess.Version)
}
