package kernel

import (
	"encoding/binary"
	"fmt"
)

// Socket options, cmsg types, versions and ciphers of Linux kernel TLS (uapi
// <linux/tls.h>) that golang.org/x/sys/unix does not define. unix.SOL_TLS and
// unix.TCP_ULP are defined there and used as they are.
const (
	// TLS_TX installs transmit keys: setsockopt(fd, SOL_TLS, TLS_TX, &crypto_info).
	TLS_TX = 1
	// TLS_RX installs receive keys: setsockopt(fd, SOL_TLS, TLS_RX, &crypto_info).
	TLS_RX = 2
	// TLS_TX_ZEROCOPY_RO lets sendfile skip the copy of file pages (device offload only).
	TLS_TX_ZEROCOPY_RO = 3
	// TLS_RX_EXPECT_NO_PAD tells the kernel that TLS 1.3 peer records carry no padding.
	TLS_RX_EXPECT_NO_PAD = 4

	// TLS_SET_RECORD_TYPE is the SOL_TLS cmsg type that gives a sendmsg its record content type.
	TLS_SET_RECORD_TYPE = 1
	// TLS_GET_RECORD_TYPE is the SOL_TLS cmsg type by which recvmsg reports a record's content type.
	TLS_GET_RECORD_TYPE = 2

	// TLS_1_2_VERSION is crypto_info.version for TLS 1.2.
	TLS_1_2_VERSION = 0x0303
	// TLS_1_3_VERSION is crypto_info.version for TLS 1.3.
	TLS_1_3_VERSION = 0x0304

	// TLS_CIPHER_AES_GCM_128 is crypto_info.cipher_type for AES-128-GCM.
	TLS_CIPHER_AES_GCM_128 = 51
	// TLS_CIPHER_AES_GCM_256 is crypto_info.cipher_type for AES-256-GCM.
	TLS_CIPHER_AES_GCM_256 = 52
	// TLS_CIPHER_CHACHA20_POLY1305 is crypto_info.cipher_type for ChaCha20-Poly1305.
	TLS_CIPHER_CHACHA20_POLY1305 = 54
)

// TLS record content types (RFC 8446 §5.1), as carried by the record-type cmsgs.
const (
	RecordChangeCipherSpec uint8 = 20
	RecordAlert            uint8 = 21
	RecordHandshake        uint8 = 22
	RecordApplicationData  uint8 = 23
)

// cipherLayout gives the sizes of the fields of struct tls12_crypto_info_<cipher>.
type cipherLayout struct {
	ivSize, keySize, saltSize, recSeqSize int
}

// Fixed field sizes of the crypto_info structs (TLS_CIPHER_*_{IV,KEY,SALT,REC_SEQ}_SIZE).
var cipherLayouts = map[uint16]cipherLayout{
	TLS_CIPHER_AES_GCM_128:       {ivSize: 8, keySize: 16, saltSize: 4, recSeqSize: 8},
	TLS_CIPHER_AES_GCM_256:       {ivSize: 8, keySize: 32, saltSize: 4, recSeqSize: 8},
	TLS_CIPHER_CHACHA20_POLY1305: {ivSize: 12, keySize: 32, saltSize: 0, recSeqSize: 8},
}

// cryptoInfoHeaderSize is sizeof(struct tls_crypto_info): __u16 version, __u16 cipher_type.
const cryptoInfoHeaderSize = 4

// maxCryptoInfoSize is the largest crypto_info we marshal (AES-256-GCM and ChaCha20-Poly1305: 56 bytes).
const maxCryptoInfoSize = cryptoInfoHeaderSize + 8 + 32 + 4 + 8

// size is sizeof(struct tls12_crypto_info_<cipher>); the struct has no padding.
func (l cipherLayout) size() int {
	return cryptoInfoHeaderSize + l.ivSize + l.keySize + l.saltSize + l.recSeqSize
}

// CryptoInfo is one direction's record protection state, in exactly the shape
// the kernel's crypto_info wants it. It is the same for TLS 1.2 and 1.3; only
// the way a handshake's output maps onto IV and Salt differs (see TLS13Keys and
// TLS12Keys, which do that mapping).
//
// The slices are not copied by InstallTX/InstallRX; call Zero when the keys are
// no longer needed.
type CryptoInfo struct {
	// Version is TLS_1_2_VERSION or TLS_1_3_VERSION.
	Version uint16
	// Cipher is TLS_CIPHER_AES_GCM_128, TLS_CIPHER_AES_GCM_256 or TLS_CIPHER_CHACHA20_POLY1305.
	Cipher uint16
	// Key is the AEAD key: 16 bytes for AES-128-GCM, 32 for AES-256-GCM and ChaCha20-Poly1305.
	Key []byte
	// IV is crypto_info.iv: 8 bytes for AES-GCM, 12 for ChaCha20-Poly1305.
	IV []byte
	// Salt is crypto_info.salt: 4 bytes for AES-GCM, empty for ChaCha20-Poly1305.
	Salt []byte
	// Seq is the sequence number of the next record under these keys (crypto_info.rec_seq, big-endian).
	Seq uint64
}

// TLS13Keys maps a TLS 1.3 traffic key and its 12-byte write IV (RFC 8446
// §7.3, HKDF-Expand-Label(secret, "key"/"iv")) onto the kernel's fields:
//
//   - AES-GCM: Salt = iv[0:4], IV = iv[4:12]; the kernel rebuilds salt||iv and
//     XORs in the sequence number, as RFC 8446 §5.3 says.
//   - ChaCha20-Poly1305: IV = iv[0:12], no salt.
//
// seq is the number of records already protected under this key (0 right
// after the handshake unless, for example, a NewSessionTicket was already sent
// with it in user space). The returned keys alias key and iv, so Zero on them
// clears the caller's buffers too.
func TLS13Keys(cipher uint16, key, iv []byte, seq uint64) (*CryptoInfo, error) {
	l, err := layoutFor(cipher)
	if err != nil {
		return nil, err
	}
	if len(iv) != 12 {
		return nil, fmt.Errorf("kernel: TLS 1.3 write IV is %d bytes, want 12", len(iv))
	}
	k := &CryptoInfo{Version: TLS_1_3_VERSION, Cipher: cipher, Key: key, Salt: iv[:l.saltSize], IV: iv[l.saltSize:], Seq: seq}
	return k, k.check()
}

// TLS12Keys maps the TLS 1.2 key block's write key and write IV (RFC 5246 §6.3)
// onto the kernel's fields:
//
//   - AES-GCM (RFC 5288): the 4-byte write IV is the implicit nonce part, Salt.
//     IV is the first 8-byte explicit nonce; the kernel puts it in front of
//     each record it sends and increments it with the sequence number. It is
//     set to seq (big-endian), so every explicit nonce equals its record's
//     sequence number, as in Go's crypto/tls and OpenSSL. On receive the
//     kernel reads the explicit nonce from each record and ignores IV.
//   - ChaCha20-Poly1305 (RFC 7905): IV = the 12-byte write IV, no salt, no
//     explicit nonce.
//
// seq is the sequence number of the next record: 1 right after the handshake,
// because the Finished message used 0 (RFC 5246 §6.1: sequence numbers restart
// at zero on ChangeCipherSpec). The returned keys alias key and iv.
func TLS12Keys(cipher uint16, key, iv []byte, seq uint64) (*CryptoInfo, error) {
	l, err := layoutFor(cipher)
	if err != nil {
		return nil, err
	}
	k := &CryptoInfo{Version: TLS_1_2_VERSION, Cipher: cipher, Key: key, Seq: seq}
	if l.saltSize == 0 {
		k.IV = iv
	} else {
		k.Salt = iv
		k.IV = binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
	}
	return k, k.check()
}

// Zero overwrites Key, IV and Salt with zeros.
func (k *CryptoInfo) Zero() {
	clear(k.Key)
	clear(k.IV)
	clear(k.Salt)
}

func layoutFor(cipher uint16) (cipherLayout, error) {
	l, ok := cipherLayouts[cipher]
	if !ok {
		return cipherLayout{}, fmt.Errorf("kernel: unsupported kTLS cipher %d", cipher)
	}
	return l, nil
}

// check validates version and field sizes against the cipher's crypto_info layout.
func (k *CryptoInfo) check() error {
	if k.Version != TLS_1_2_VERSION && k.Version != TLS_1_3_VERSION {
		return fmt.Errorf("kernel: unsupported kTLS version %#04x", k.Version)
	}
	l, err := layoutFor(k.Cipher)
	if err != nil {
		return err
	}
	if len(k.Key) != l.keySize || len(k.IV) != l.ivSize || len(k.Salt) != l.saltSize {
		return fmt.Errorf("kernel: cipher %d wants key/iv/salt of %d/%d/%d bytes, got %d/%d/%d",
			k.Cipher, l.keySize, l.ivSize, l.saltSize, len(k.Key), len(k.IV), len(k.Salt))
	}
	return nil
}

// marshal writes struct tls12_crypto_info_<cipher> into buf and
// returns the used prefix: version and cipher_type in host byte order, then
// iv, key, salt and rec_seq (big-endian, as on the wire).
func (k *CryptoInfo) marshal(buf *[maxCryptoInfoSize]byte) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	b := binary.NativeEndian.AppendUint16(buf[:0], k.Version)
	b = binary.NativeEndian.AppendUint16(b, k.Cipher)
	b = append(b, k.IV...)
	b = append(b, k.Key...)
	b = append(b, k.Salt...)
	return binary.BigEndian.AppendUint64(b, k.Seq), nil
}
