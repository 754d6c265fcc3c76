package tlsstate

import (
	"crypto/cipher"
	"math"
	"slices"
)

// recordCipher protects the records of one direction under one TLS 1.3
// traffic key (RFC 8446 §5.2–5.3): the nonce is the IV XOR the 64-bit record
// sequence number, the additional data is the record header.
//
// The AEAD's expanded key lives inside crypto/cipher and cannot be wiped;
// the IV and the traffic secret it came from are wiped by their owners.
type recordCipher struct {
	aead  cipher.AEAD
	iv    [ivLen]byte
	nonce [ivLen]byte
	seq   uint64
}

func newRecordCipher(suite *suiteInfo, key, iv []byte) (*recordCipher, error) {
	aead, err := suite.newAEAD(key)
	if err != nil {
		return nil, err
	}
	c := &recordCipher{aead: aead}
	copy(c.iv[:], iv)
	return c, nil
}

// nextNonce computes the per-record nonce for the current sequence number.
func (c *recordCipher) nextNonce() []byte {
	c.nonce = c.iv
	for i := 0; i < 8; i++ {
		c.nonce[ivLen-1-i] ^= byte(c.seq >> (8 * i))
	}
	return c.nonce[:]
}

// seal appends one protected record carrying data (at most maxPlaintext
// bytes) with inner content type typ. When out has room, nothing is
// allocated: the plaintext is copied behind the header and sealed in place.
func (c *recordCipher) seal(out []byte, typ contentType, data []byte) ([]byte, error) {
	if c.seq == math.MaxUint64 {
		return out, fatal(AlertInternalError, "record sequence number exhausted")
	}
	length := len(data) + 1 + c.aead.Overhead()
	out = slices.Grow(out, recordHeaderLen+length)
	start := len(out)
	out = appendRecordHeader(out, typeApplicationData, length)
	body := len(out)
	out = append(out, data...)
	out = append(out, byte(typ))
	sealed := c.aead.Seal(out[body:body], c.nextNonce(), out[body:], out[start:body])
	c.seq++
	return out[:body+len(sealed)], nil
}

// open authenticates and decrypts rec, writing the plaintext into the spare
// capacity of dst (dst itself is not extended). It returns the inner content
// type and the content with its padding removed.
func (c *recordCipher) open(dst []byte, rec record) (contentType, []byte, *AlertError) {
	if c.seq == math.MaxUint64 {
		return 0, nil, fatal(AlertInternalError, "record sequence number exhausted")
	}
	if len(rec.payload) < c.aead.Overhead()+1 {
		return 0, nil, fatal(AlertBadRecordMAC, "protected record shorter than its tag")
	}
	plain, err := c.aead.Open(dst[len(dst):len(dst)], c.nextNonce(), rec.payload, rec.header)
	if err != nil {
		return 0, nil, fatal(AlertBadRecordMAC, "record failed to authenticate")
	}
	c.seq++
	if len(plain) > maxPlaintext+1 {
		return 0, nil, fatal(AlertRecordOverflow, "inner plaintext longer than 2^14+1")
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, fatal(AlertUnexpectedMessage, "protected record without a content type")
	}
	return contentType(plain[i]), plain[:i], nil
}

// wipe forgets the IV; the cipher must not be used afterwards.
func (c *recordCipher) wipe() {
	clear(c.iv[:])
	clear(c.nonce[:])
	wipeObject(c.aead)
	c.aead = nil
}
