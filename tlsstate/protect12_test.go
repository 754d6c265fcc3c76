package tlsstate

import (
	"bytes"
	"testing"
)

// Known answers computed independently with Python's `cryptography` AEADs:
// key 00..0f (AES-128-GCM) or 00..1f (ChaCha20-Poly1305), implicit IV
// a0a1a2a3 or 12-byte IV b0..bb, sequence number 5, application data
// "hello, TLS 1.2", AAD = seq || 0x17 || 0x0303 || length.
var record12KATs = []struct {
	suite  CipherSuite
	key    []byte
	iv     []byte
	record string
}{
	{ECDHERSAWithAES128GCMSHA256, seqBytes(0, 16), []byte{0xa0, 0xa1, 0xa2, 0xa3},
		"17030300260000000000000005b97bffd249f365b2c605cef51c7ce1daae808c1c503c73b9b6bbbc2fb047"},
	{ECDHEECDSAWithChaCha20Poly1305SHA256, seqBytes(0, 32), seqBytes(0xb0, 0xbc),
		"170303001e4c1f651d12a13e6d181d0921d5dd557bd94fd7a5d04b4fc6cf106a9c90b9"},
}

func TestRecordCipher12KnownAnswers(t *testing.T) {
	for _, kat := range record12KATs {
		suite := suite12ByID(kat.suite)
		want := unhex(t, kat.record)
		tx, err := newRecordCipher12(suite, kat.key, kat.iv)
		if err != nil {
			t.Fatal(err)
		}
		tx.seq = 5
		got, aerr := tx.seal(nil, typeApplicationData, []byte("hello, TLS 1.2"))
		if aerr != nil || !bytes.Equal(got, want) {
			t.Errorf("%v: sealed %x, %v", kat.suite, got, aerr)
		}
		if tx.seq != 6 {
			t.Errorf("%v: seq %d after seal", kat.suite, tx.seq)
		}
		rx, _ := newRecordCipher12(suite, kat.key, kat.iv)
		rx.seq = 5
		rec, n, _ := nextRecord(want, maxCiphertext12)
		plain, aerr := rx.open(make([]byte, 0, 64), rec)
		if n != len(want) || aerr != nil || string(plain) != "hello, TLS 1.2" {
			t.Errorf("%v: opened %q, %v", kat.suite, plain, aerr)
		}
	}
}

// TestRecordCipher12AcceptsAnyExplicitNonce: the peer chooses its GCM
// explicit nonce (RFC 5288 §3); what it sends is used, whatever our
// sequence number.
func TestRecordCipher12AcceptsAnyExplicitNonce(t *testing.T) {
	suite := suite12ByID(ECDHEECDSAWithAES256GCMSHA384)
	key := seqBytes(0, 32)
	peer, _ := newRecordCipher12(suite, key, []byte{1, 2, 3, 4})
	rec1, _ := peer.seal(nil, typeApplicationData, []byte("first"))
	rx, _ := newRecordCipher12(suite, key, []byte{1, 2, 3, 4})
	rec, _, _ := nextRecord(rec1, maxCiphertext12)
	if plain, err := rx.open(nil, rec); err != nil || string(plain) != "first" {
		t.Fatalf("open: %q %v", plain, err)
	}
	// A record sealed by a raw AEAD with an explicit nonce unrelated to
	// the sequence number (1), as a peer with a random-nonce policy sends.
	aead, _ := suite.newAEAD(key)
	explicit := []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04}
	nonce := append([]byte{1, 2, 3, 4}, explicit...)
	aad := []byte{0, 0, 0, 0, 0, 0, 0, 1, 23, 3, 3, 0, 6}
	body := aead.Seal(append([]byte{}, explicit...), nonce, []byte("second"), aad)
	raw := append([]byte{23, 3, 3, 0, byte(len(body))}, body...)
	rec, _, _ = nextRecord(raw, maxCiphertext12)
	if plain, err := rx.open(nil, rec); err != nil || string(plain) != "second" {
		t.Fatalf("record with a foreign explicit nonce: %q %v", plain, err)
	}
}

func TestRecordCipher12RoundTripAndTamper(t *testing.T) {
	for _, s := range suites12 {
		suite := suite12ByID(s.id)
		key, iv := seqBytes(0, suite.keyLen), seqBytes(0x40, 0x40+suite.fixedIVLen)
		tx, _ := newRecordCipher12(suite, key, iv)
		rx, _ := newRecordCipher12(suite, key, iv)
		var wire []byte
		var err *AlertError
		sizes := []int{0, 1, 100, maxPlaintext}
		for _, n := range sizes {
			if wire, err = tx.seal(wire, typeApplicationData, bytes.Repeat([]byte{byte(n)}, n)); err != nil {
				t.Fatal(err)
			}
		}
		if wire, err = tx.seal(wire, typeAlert, []byte{1, 0}); err != nil {
			t.Fatal(err)
		}
		if explicit := wire[5:13]; s.explicitNonceLen == 8 && !bytes.Equal(explicit, make([]byte, 8)) {
			t.Errorf("%v: first explicit nonce %x, want the sequence number 0", s.id, explicit)
		}
		in := wire
		for i, n := range append(sizes, 2) {
			rec, used, _ := nextRecord(in, maxCiphertext12)
			plain, err := rx.open(make([]byte, 0, maxPlaintext+64), rec)
			if err != nil || len(plain) != n {
				t.Fatalf("%v: record %d: %d bytes, %v", s.id, i, len(plain), err)
			}
			in = in[used:]
		}
		if rx.seq != 5 || tx.seq != 5 {
			t.Errorf("%v: seq rx %d tx %d", s.id, rx.seq, tx.seq)
		}

		// A flipped bit anywhere but in the framing (version, GCM
		// explicit nonce, ciphertext, tag) fails with bad_record_mac.
		one, _ := tx.seal(nil, typeApplicationData, []byte("payload"))
		for i := 0; i < len(one); i++ {
			if i == 0 || i == 3 || i == 4 {
				continue // a different type or length is a different record
			}
			bad := bytes.Clone(one)
			bad[i] ^= 0x80
			checkBadRecord(t, suite, key, iv, 5, bad, AlertBadRecordMAC)
		}
		retyped := bytes.Clone(one)
		retyped[0] = byte(typeHandshake)
		checkBadRecord(t, suite, key, iv, 5, retyped, AlertBadRecordMAC)
		// Replayed under the wrong sequence number.
		checkBadRecord(t, suite, key, iv, 6, one, AlertBadRecordMAC)
		// Shorter than nonce and tag.
		short := append([]byte{23, 3, 3, 0, 10}, make([]byte, 10)...)
		checkBadRecord(t, suite, key, iv, 5, short, AlertBadRecordMAC)
		// Longer than 2^14 of plaintext.
		long := make([]byte, 5+s.explicitNonceLen+maxPlaintext+1+16)
		copy(long, []byte{23, 3, 3, byte((len(long) - 5) >> 8), byte(len(long) - 5)})
		checkBadRecord(t, suite, key, iv, 5, long, AlertRecordOverflow)
	}
}

func checkBadRecord(t *testing.T, suite *suite12Info, key, iv []byte, seq uint64, wire []byte, want Alert) {
	t.Helper()
	rx, _ := newRecordCipher12(suite, key, iv)
	rx.seq = seq
	rec, n, _ := nextRecord(wire, maxCiphertext12)
	if n != len(wire) {
		t.Fatalf("%v: framing consumed %d of %d", suite.id, n, len(wire))
	}
	if _, err := rx.open(nil, rec); err == nil || err.Alert != want {
		t.Errorf("%v: tampered record %x: %v, want %v", suite.id, wire, err, want)
	}
	if rx.seq != seq {
		t.Errorf("%v: seq advanced on a bad record", suite.id)
	}
}

func BenchmarkRecordCipher12Seal16K(b *testing.B) {
	for _, id := range []CipherSuite{ECDHERSAWithAES128GCMSHA256, ECDHERSAWithChaCha20Poly1305SHA256} {
		b.Run(id.String(), func(b *testing.B) {
			suite := suite12ByID(id)
			tx, _ := newRecordCipher12(suite, seqBytes(0, suite.keyLen), seqBytes(0, suite.fixedIVLen))
			data := make([]byte, maxPlaintext)
			out := make([]byte, 0, maxPlaintext+64)
			b.SetBytes(maxPlaintext)
			b.ReportAllocs()
			for b.Loop() {
				out, _ = tx.seal(out[:0], typeApplicationData, data)
			}
		})
	}
}
