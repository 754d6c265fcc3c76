//go:build vmguest

package kernel

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net"
	"strings"
)

// Test-only key extraction: Go's crypto/tls does the handshake and writes its
// secrets to a KeyLogWriter; these helpers turn them into kernel CryptoInfo.
// lwango's own handshake (tlsstate) owns its keys and never takes this route.

// suiteParams describes a negotiated cipher suite for key derivation.
type suiteParams struct {
	kernelCipher uint16
	hash         func() hash.Hash
	keyLen       int
	tls12IVLen   int // fixed_iv_length of the TLS 1.2 key block
}

var goSuites = map[uint16]suiteParams{
	tls.TLS_AES_128_GCM_SHA256:                        {TLS_CIPHER_AES_GCM_128, sha256.New, 16, 0},
	tls.TLS_AES_256_GCM_SHA384:                        {TLS_CIPHER_AES_GCM_256, sha512.New384, 32, 0},
	tls.TLS_CHACHA20_POLY1305_SHA256:                  {TLS_CIPHER_CHACHA20_POLY1305, sha256.New, 32, 0},
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       {TLS_CIPHER_AES_GCM_128, sha256.New, 16, 4},
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       {TLS_CIPHER_AES_GCM_256, sha512.New384, 32, 4},
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: {TLS_CIPHER_CHACHA20_POLY1305, sha256.New, 32, 12},
}

// parseKeyLog returns the NSS key log's secrets by label.
func parseKeyLog(log []byte) (map[string][]byte, error) {
	secrets := make(map[string][]byte)
	for sc := bufio.NewScanner(bytes.NewReader(log)); sc.Scan(); {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			return nil, fmt.Errorf("key log line %q", sc.Text())
		}
		secret, err := hex.DecodeString(f[2])
		if err != nil {
			return nil, err
		}
		secrets[f[0]] = secret
	}
	return secrets, nil
}

// hkdfExpandLabel is RFC 8446 §7.1 HKDF-Expand-Label with an empty context.
func hkdfExpandLabel(h func() hash.Hash, secret []byte, label string, n int) ([]byte, error) {
	full := "tls13 " + label
	info := binary.BigEndian.AppendUint16(nil, uint16(n))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0)
	return hkdf.Expand(h, secret, string(info), n)
}

// tls13CryptoInfo derives one direction's kernel keys from a TLS 1.3 application traffic secret.
func tls13CryptoInfo(s suiteParams, secret []byte) (*CryptoInfo, error) {
	key, err := hkdfExpandLabel(s.hash, secret, "key", s.keyLen)
	if err != nil {
		return nil, err
	}
	iv, err := hkdfExpandLabel(s.hash, secret, "iv", 12)
	if err != nil {
		return nil, err
	}
	return TLS13Keys(s.kernelCipher, key, iv, 0)
}

// prf12 is the TLS 1.2 PRF, P_hash (RFC 5246 §5).
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	labelSeed := append([]byte(label), seed...)
	var out []byte
	a := labelSeed
	for len(out) < n {
		m := hmac.New(h, secret)
		m.Write(a)
		a = m.Sum(nil)
		m = hmac.New(h, secret)
		m.Write(a)
		m.Write(labelSeed)
		out = m.Sum(out)
	}
	return out[:n]
}

// tls12CryptoInfo expands the TLS 1.2 key block (RFC 5246 §6.3; AEAD suites
// have no MAC keys) into the server's TX and RX keys, both at sequence 1.
func tls12CryptoInfo(s suiteParams, master, clientRandom, serverRandom []byte) (tx, rx *CryptoInfo, err error) {
	seed := append(append([]byte{}, serverRandom...), clientRandom...)
	block := prf12(s.hash, master, "key expansion", seed, 2*s.keyLen+2*s.tls12IVLen)
	clientKey, block := block[:s.keyLen], block[s.keyLen:]
	serverKey, block := block[:s.keyLen], block[s.keyLen:]
	clientIV, serverIV := block[:s.tls12IVLen], block[s.tls12IVLen:]
	if tx, err = TLS12Keys(s.kernelCipher, serverKey, serverIV, 1); err != nil {
		return nil, nil, err
	}
	rx, err = TLS12Keys(s.kernelCipher, clientKey, clientIV, 1)
	return tx, rx, err
}

// recordConn gives crypto/tls whole TLS records only, so that nothing the
// client sends after its Finished (its request) is buffered inside tls.Conn
// where the kernel can never see it. It also notes the ServerHello random,
// which TLS 1.2 key expansion needs and the key log does not contain.
type recordConn struct {
	net.Conn
	pending      []byte
	serverRandom []byte
}

func (c *recordConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		header := make([]byte, 5)
		if _, err := io.ReadFull(c.Conn, header); err != nil {
			return 0, err
		}
		record := make([]byte, 5+int(binary.BigEndian.Uint16(header[3:])))
		copy(record, header)
		if _, err := io.ReadFull(c.Conn, record[5:]); err != nil {
			return 0, err
		}
		c.pending = record
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *recordConn) Write(p []byte) (int, error) {
	// record header (5) + handshake header (4: type 2 = ServerHello) + legacy_version (2) + random (32)
	if c.serverRandom == nil && len(p) >= 43 && p[0] == 22 && p[5] == 2 {
		c.serverRandom = bytes.Clone(p[11:43])
	}
	return c.Conn.Write(p)
}
