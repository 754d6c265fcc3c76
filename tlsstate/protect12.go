package tlsstate

import (
	"crypto/cipher"
	"encoding/binary"
	"math"
	"slices"
)

// maxCiphertext12 bounds a TLS 1.2 protected record (RFC 5246 §6.2.3).
const maxCiphertext12 = maxPlaintext + 2048

// recordCipher12 protects the records of one direction of a TLS 1.2
// connection with an AEAD suite (RFC 5246 §6.2.3.3):
//
//   - AES-GCM (RFC 5288 §3): nonce = the 4-byte implicit IV from the key
//     block || an 8-byte explicit nonce carried in front of the ciphertext.
//     This side sends its sequence number as the explicit nonce (unique per
//     key, and what the kernel continues with after a kTLS hand-off); the
//     peer's explicit nonce is taken as sent.
//   - ChaCha20-Poly1305 (RFC 7905 §2): nonce = the 12-byte IV XOR the
//     sequence number, nothing explicit on the wire.
//
// The additional data is seq_num || type || version || plaintext length.
// Sequence numbers start at 0 with the first record after
// ChangeCipherSpec (the Finished).
type recordCipher12 struct {
	aead          cipher.AEAD
	fixedIV       [ivLen]byte
	explicitNonce bool
	nonce         [ivLen]byte
	aad           [13]byte
	seq           uint64
}

func newRecordCipher12(suite *suite12Info, key, iv []byte) (*recordCipher12, error) {
	aead, err := suite.newAEAD(key)
	if err != nil {
		return nil, err
	}
	c := &recordCipher12{aead: aead, explicitNonce: suite.explicitNonceLen > 0}
	copy(c.fixedIV[:], iv)
	return c, nil
}

// additionalData fills the AAD for a record of typ and version carrying
// plaintextLen bytes, under the current sequence number.
func (c *recordCipher12) additionalData(typ contentType, version []byte, plaintextLen int) []byte {
	binary.BigEndian.PutUint64(c.aad[:8], c.seq)
	c.aad[8] = byte(typ)
	c.aad[9], c.aad[10] = version[0], version[1]
	c.aad[11], c.aad[12] = byte(plaintextLen>>8), byte(plaintextLen)
	return c.aad[:]
}

// xorNonce is the ChaCha20-Poly1305 nonce for the current sequence number.
func (c *recordCipher12) xorNonce() []byte {
	c.nonce = c.fixedIV
	for i := 0; i < 8; i++ {
		c.nonce[ivLen-1-i] ^= byte(c.seq >> (8 * i))
	}
	return c.nonce[:]
}

// seal appends one protected record of typ carrying data (at most
// maxPlaintext bytes). When out has room, nothing is allocated.
func (c *recordCipher12) seal(out []byte, typ contentType, data []byte) ([]byte, *AlertError) {
	if c.seq == math.MaxUint64 {
		return out, fatal(AlertInternalError, "record sequence number exhausted")
	}
	explicitLen := 0
	if c.explicitNonce {
		explicitLen = 8
	}
	length := explicitLen + len(data) + c.aead.Overhead()
	out = slices.Grow(out, recordHeaderLen+length)
	out = appendRecordHeader(out, typ, length)
	var nonce []byte
	if c.explicitNonce {
		// The first 4 bytes of c.nonce are the implicit part; the explicit
		// part (the sequence number) also goes on the wire.
		copy(c.nonce[:4], c.fixedIV[:4])
		binary.BigEndian.PutUint64(c.nonce[4:], c.seq)
		out = append(out, c.nonce[4:]...)
		nonce = c.nonce[:]
	} else {
		nonce = c.xorNonce()
	}
	version := [2]byte{legacyRecordVersion >> 8, legacyRecordVersion & 0xff}
	aad := c.additionalData(typ, version[:], len(data))
	body := len(out)
	out = append(out, data...)
	sealed := c.aead.Seal(out[body:body], nonce, out[body:], aad)
	c.seq++
	return out[:body+len(sealed)], nil
}

// open authenticates and decrypts rec, writing the plaintext into the spare
// capacity of dst (dst itself is not extended), and returns the plaintext.
// The record's own header supplies type and version to the additional data,
// so a record whose header was altered fails to authenticate.
func (c *recordCipher12) open(dst []byte, rec record) ([]byte, *AlertError) {
	if c.seq == math.MaxUint64 {
		return nil, fatal(AlertInternalError, "record sequence number exhausted")
	}
	payload := rec.payload
	var nonce []byte
	if c.explicitNonce {
		if len(payload) < 8+c.aead.Overhead() {
			return nil, fatal(AlertBadRecordMAC, "protected record shorter than its nonce and tag")
		}
		copy(c.nonce[:4], c.fixedIV[:4])
		copy(c.nonce[4:], payload[:8])
		nonce = c.nonce[:]
		payload = payload[8:]
	} else {
		if len(payload) < c.aead.Overhead() {
			return nil, fatal(AlertBadRecordMAC, "protected record shorter than its tag")
		}
		nonce = c.xorNonce()
	}
	plainLen := len(payload) - c.aead.Overhead()
	if plainLen > maxPlaintext {
		return nil, fatal(AlertRecordOverflow, "protected record longer than 2^14 when decrypted")
	}
	aad := c.additionalData(rec.typ, rec.header[1:3], plainLen)
	plain, err := c.aead.Open(dst[len(dst):len(dst)], nonce, payload, aad)
	if err != nil {
		return nil, fatal(AlertBadRecordMAC, "record failed to authenticate")
	}
	c.seq++
	return plain, nil
}

// wipe forgets the IV; the cipher must not be used afterwards.
func (c *recordCipher12) wipe() {
	clear(c.fixedIV[:])
	clear(c.nonce[:])
	clear(c.aad[:])
	wipeObject(c.aead)
	c.aead = nil
}
