package kernel

import (
	"bytes"
	"encoding/binary"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// uapiTLSHeader is the kernel's own description of the kTLS ABI (linux-libc-dev).
const uapiTLSHeader = "/usr/include/linux/tls.h"

// headerDefines returns every "#define NAME <integer>" of the uapi header.
func headerDefines(t *testing.T) (map[string]int64, string) {
	t.Helper()
	text, err := os.ReadFile(uapiTLSHeader)
	if err != nil {
		t.Fatalf("the kTLS ABI is checked against %s (package linux-libc-dev): %v", uapiTLSHeader, err)
	}
	defines := make(map[string]int64)
	re := regexp.MustCompile(`(?m)^#define\s+(\w+)\s+(0x[0-9a-fA-F]+|\d+)\b`)
	for _, m := range re.FindAllStringSubmatch(string(text), -1) {
		v, err := strconv.ParseInt(m[2], 0, 64)
		if err != nil {
			t.Fatalf("%s: %s: %v", uapiTLSHeader, m[1], err)
		}
		defines[m[1]] = v
	}
	return defines, string(text)
}

func TestKTLSConstantsMatchUAPIHeader(t *testing.T) {
	defines, _ := headerDefines(t)
	want := map[string]int64{
		"TLS_TX": TLS_TX, "TLS_RX": TLS_RX, "TLS_TX_ZEROCOPY_RO": TLS_TX_ZEROCOPY_RO,
		"TLS_RX_EXPECT_NO_PAD": TLS_RX_EXPECT_NO_PAD, "TLS_SET_RECORD_TYPE": TLS_SET_RECORD_TYPE,
		"TLS_GET_RECORD_TYPE": TLS_GET_RECORD_TYPE, "TLS_CIPHER_AES_GCM_128": TLS_CIPHER_AES_GCM_128,
		"TLS_CIPHER_AES_GCM_256": TLS_CIPHER_AES_GCM_256, "TLS_CIPHER_CHACHA20_POLY1305": TLS_CIPHER_CHACHA20_POLY1305,
	}
	for name, v := range want {
		got, ok := defines[name]
		if !ok || got != v {
			t.Errorf("%s: header has %d (present %v), we have %d", name, got, ok, v)
		}
	}
	// TLS_x_VERSION is a macro of MAJOR and MINOR.
	for name, v := range map[string]int64{"TLS_1_2": TLS_1_2_VERSION, "TLS_1_3": TLS_1_3_VERSION} {
		if got := defines[name+"_VERSION_MAJOR"]<<8 | defines[name+"_VERSION_MINOR"]; got != v {
			t.Errorf("%s_VERSION: header gives %#04x, we have %#04x", name, got, v)
		}
	}
}

func TestKTLSCryptoInfoSizesMatchUAPIHeader(t *testing.T) {
	defines, text := headerDefines(t)
	names := map[uint16]string{
		TLS_CIPHER_AES_GCM_128:       "AES_GCM_128",
		TLS_CIPHER_AES_GCM_256:       "AES_GCM_256",
		TLS_CIPHER_CHACHA20_POLY1305: "CHACHA20_POLY1305",
	}
	if len(names) != len(cipherLayouts) {
		t.Fatalf("test covers %d ciphers, package has %d", len(names), len(cipherLayouts))
	}
	for cipher, name := range names {
		l := cipherLayouts[cipher]
		for field, size := range map[string]int{"IV": l.ivSize, "KEY": l.keySize, "SALT": l.saltSize, "REC_SEQ": l.recSeqSize} {
			macro := "TLS_CIPHER_" + name + "_" + field + "_SIZE"
			if got, ok := defines[macro]; !ok || int(got) != size {
				t.Errorf("%s: header has %d (present %v), we have %d", macro, got, ok, size)
			}
		}
		// The struct must list its fields as we marshal them: info, iv, key, salt, rec_seq.
		body := regexp.MustCompile(`(?s)struct tls12_crypto_info_` + strings.ToLower(name) + ` \{(.*?)\};`).FindStringSubmatch(text)
		if body == nil {
			t.Errorf("struct tls12_crypto_info_%s not found in %s", strings.ToLower(name), uapiTLSHeader)
			continue
		}
		var order []string
		for _, m := range regexp.MustCompile(`(\w+)(\[\w+\])?;`).FindAllStringSubmatch(body[1], -1) {
			order = append(order, m[1])
		}
		if got := strings.Join(order, ","); got != "info,iv,key,salt,rec_seq" {
			t.Errorf("struct tls12_crypto_info_%s fields: %s", strings.ToLower(name), got)
		}
	}
	if maxCryptoInfoSize != cipherLayouts[TLS_CIPHER_CHACHA20_POLY1305].size() {
		t.Errorf("maxCryptoInfoSize %d, largest crypto_info %d", maxCryptoInfoSize, cipherLayouts[TLS_CIPHER_CHACHA20_POLY1305].size())
	}
}

// seqBytes returns n bytes counting up from first.
func seqBytes(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}

func TestKTLSCryptoInfoMarshalIsByteExact(t *testing.T) {
	host16 := func(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		keys CryptoInfo
		want []byte
	}{
		{
			"TLS1.3 AES-128-GCM",
			CryptoInfo{TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128, seqBytes(0x10, 16), seqBytes(0xa0, 8), seqBytes(0xd0, 4), 7},
			cat(host16(0x0304), host16(51), seqBytes(0xa0, 8), seqBytes(0x10, 16), seqBytes(0xd0, 4), []byte{0, 0, 0, 0, 0, 0, 0, 7}),
		},
		{
			"TLS1.2 AES-256-GCM",
			CryptoInfo{TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_256, seqBytes(0x20, 32), seqBytes(0xb0, 8), seqBytes(0xe0, 4), 0x0102030405060708},
			cat(host16(0x0303), host16(52), seqBytes(0xb0, 8), seqBytes(0x20, 32), seqBytes(0xe0, 4), []byte{1, 2, 3, 4, 5, 6, 7, 8}),
		},
		{
			"TLS1.3 ChaCha20-Poly1305",
			CryptoInfo{TLS_1_3_VERSION, TLS_CIPHER_CHACHA20_POLY1305, seqBytes(0x30, 32), seqBytes(0xc0, 12), nil, 1},
			cat(host16(0x0304), host16(54), seqBytes(0xc0, 12), seqBytes(0x30, 32), []byte{0, 0, 0, 0, 0, 0, 0, 1}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf [maxCryptoInfoSize]byte
			got, err := tt.keys.marshal(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("crypto_info\n got %x\nwant %x", got, tt.want)
			}
			if len(got) != cipherLayouts[tt.keys.Cipher].size() {
				t.Errorf("length %d, sizeof struct %d", len(got), cipherLayouts[tt.keys.Cipher].size())
			}
		})
	}
}

func TestKTLSCryptoInfoRejectsWrongSizes(t *testing.T) {
	good := CryptoInfo{TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128, make([]byte, 16), make([]byte, 8), make([]byte, 4), 0}
	bad := map[string]func(k *CryptoInfo){
		"version 1.1":      func(k *CryptoInfo) { k.Version = 0x0302 },
		"AES-CCM cipher":   func(k *CryptoInfo) { k.Cipher = 53 },
		"short key":        func(k *CryptoInfo) { k.Key = k.Key[:15] },
		"AES-256 key size": func(k *CryptoInfo) { k.Cipher = TLS_CIPHER_AES_GCM_256 },
		"12-byte iv":       func(k *CryptoInfo) { k.IV = make([]byte, 12) },
		"missing salt":     func(k *CryptoInfo) { k.Salt = nil },
	}
	var buf [maxCryptoInfoSize]byte
	if _, err := good.marshal(&buf); err != nil {
		t.Fatalf("valid keys rejected: %v", err)
	}
	for name, spoil := range bad {
		k := good
		spoil(&k)
		if _, err := k.marshal(&buf); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKTLSTLS13KeysSplitsTheWriteIV(t *testing.T) {
	key, iv := seqBytes(1, 16), seqBytes(100, 12)
	k, err := TLS13Keys(TLS_CIPHER_AES_GCM_128, key, iv, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Salt, seqBytes(100, 4)) || !bytes.Equal(k.IV, seqBytes(104, 8)) || k.Seq != 3 || k.Version != TLS_1_3_VERSION {
		t.Errorf("AES-GCM: salt %x iv %x seq %d version %#x", k.Salt, k.IV, k.Seq, k.Version)
	}
	chachaKey, chachaIV := seqBytes(1, 32), seqBytes(100, 12)
	c, err := TLS13Keys(TLS_CIPHER_CHACHA20_POLY1305, chachaKey, chachaIV, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Salt) != 0 || !bytes.Equal(c.IV, seqBytes(100, 12)) {
		t.Errorf("ChaCha20: salt %x iv %x", c.Salt, c.IV)
	}
	c.Zero()
	if !bytes.Equal(chachaKey, make([]byte, 32)) || !bytes.Equal(chachaIV, make([]byte, 12)) {
		t.Errorf("Zero left the caller's key %x / iv %x", chachaKey, chachaIV)
	}
	if _, err := TLS13Keys(TLS_CIPHER_AES_GCM_256, seqBytes(1, 32), seqBytes(1, 8), 0); err == nil {
		t.Error("8-byte TLS 1.3 IV accepted")
	}
	if _, err := TLS13Keys(TLS_CIPHER_AES_GCM_256, seqBytes(1, 16), seqBytes(1, 12), 0); err == nil {
		t.Error("16-byte key accepted for AES-256-GCM")
	}
}

func TestKTLSTLS12KeysUseSeqAsExplicitNonce(t *testing.T) {
	k, err := TLS12Keys(TLS_CIPHER_AES_GCM_256, seqBytes(1, 32), seqBytes(200, 4), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Salt, seqBytes(200, 4)) || !bytes.Equal(k.IV, []byte{0, 0, 0, 0, 0, 0, 0, 1}) || k.Seq != 1 || k.Version != TLS_1_2_VERSION {
		t.Errorf("AES-GCM: salt %x iv %x seq %d version %#x", k.Salt, k.IV, k.Seq, k.Version)
	}
	c, err := TLS12Keys(TLS_CIPHER_CHACHA20_POLY1305, seqBytes(1, 32), seqBytes(50, 12), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Salt) != 0 || !bytes.Equal(c.IV, seqBytes(50, 12)) {
		t.Errorf("ChaCha20: salt %x iv %x", c.Salt, c.IV)
	}
	if _, err := TLS12Keys(TLS_CIPHER_AES_GCM_128, seqBytes(1, 16), seqBytes(1, 12), 1); err == nil {
		t.Error("12-byte implicit IV accepted for TLS 1.2 AES-GCM")
	}
}

func TestKTLSParseTLSStats(t *testing.T) {
	stats, err := parseTLSStats("TlsCurrTxSw                     \t2\nTlsCurrRxSw\t1\nTlsTxSw 17\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 3 || stats["TlsCurrTxSw"] != 2 || stats["TlsCurrRxSw"] != 1 || stats["TlsTxSw"] != 17 {
		t.Errorf("parsed %v", stats)
	}
	for _, bad := range []string{"TlsTxSw\n", "TlsTxSw x\n", "TlsTxSw 1 2\n"} {
		if _, err := parseTLSStats(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
