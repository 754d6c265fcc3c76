package tlsstate

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// CipherSuite is a TLS cipher suite number as on the wire.
type CipherSuite uint16

// The TLS 1.3 cipher suites (RFC 8446 §B.4).
const (
	AES128GCMSHA256        CipherSuite = 0x1301
	AES256GCMSHA384        CipherSuite = 0x1302
	ChaCha20Poly1305SHA256 CipherSuite = 0x1303
)

// DefaultCipherSuites is the preference order used when a Config names none.
var DefaultCipherSuites = []CipherSuite{AES128GCMSHA256, AES256GCMSHA384, ChaCha20Poly1305SHA256}

// suiteInfo is what the key schedule and the record layer need of a suite.
type suiteInfo struct {
	id      CipherSuite
	name    string
	newHash func() hash.Hash
	hashLen int
	keyLen  int
	newAEAD func(key []byte) (cipher.AEAD, error)
	// rekeyAfter is the default number of records sent under one key before
	// this side sends a KeyUpdate. RFC 8446 §5.5 caps AES-GCM at 2^24.5 full
	// records per key; we stay a factor of ~2.8 below it. ChaCha20-Poly1305
	// has no practical limit below the sequence number space.
	rekeyAfter uint64

	// Key schedule constants, set by initKeySchedule.
	emptyTranscript []byte // Transcript-Hash("")
	derivedNoPSK    []byte // Derive-Secret(early secret without PSK, "derived", "")
}

const ivLen = 12

var suites = []suiteInfo{
	{id: AES128GCMSHA256, name: "TLS_AES_128_GCM_SHA256", newHash: sha256.New, hashLen: sha256.Size, keyLen: 16, newAEAD: newAESGCM, rekeyAfter: 1 << 23},
	{id: AES256GCMSHA384, name: "TLS_AES_256_GCM_SHA384", newHash: sha512.New384, hashLen: sha512.Size384, keyLen: 32, newAEAD: newAESGCM, rekeyAfter: 1 << 23},
	{id: ChaCha20Poly1305SHA256, name: "TLS_CHACHA20_POLY1305_SHA256", newHash: sha256.New, hashLen: sha256.Size, keyLen: 32, newAEAD: chacha20poly1305.New, rekeyAfter: 1 << 60},
}

func init() {
	for i := range suites {
		suites[i].initKeySchedule()
	}
}

func newAESGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err == nil && holdsNoPointer(aead) {
		wipeObject(block) // the GCM keeps its own copy of the key schedule
	}
	return aead, err
}

// suiteByID returns the table entry of a TLS 1.3 suite, or nil.
func suiteByID(id CipherSuite) *suiteInfo {
	for i := range suites {
		if suites[i].id == id {
			return &suites[i]
		}
	}
	return nil
}

// String returns the IANA name of the suite.
func (c CipherSuite) String() string {
	if s := suiteByID(c); s != nil {
		return s.name
	}
	if s := suite12ByID(c); s != nil {
		return s.name
	}
	return "CipherSuite(" + hex16(uint16(c)) + ")"
}

// CipherSuiteByName looks a TLS 1.3 or TLS 1.2 suite up by its IANA name,
// ignoring case (e.g. "TLS_AES_128_GCM_SHA256",
// "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").
func CipherSuiteByName(name string) (CipherSuite, bool) {
	for _, s := range suites {
		if strings.EqualFold(s.name, name) {
			return s.id, true
		}
	}
	return suite12ByName(name)
}

func hex16(v uint16) string {
	const digits = "0123456789abcdef"
	return "0x" + string([]byte{digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}
