//go:build vmguest

package kernel

import (
	"encoding/binary"
	"io"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKTLSGuestTLS12ExplicitNonceIsSeq checks what TLS12Keys documents: with
// IV set to the big-endian sequence number, the kernel's TLS 1.2 AES-GCM
// records carry their own sequence number as explicit nonce.
func TestKTLSGuestTLS12ExplicitNonceIsSeq(t *testing.T) {
	client, server := testPair(t)
	keys, err := TLS12Keys(TLS_CIPHER_AES_GCM_128, seqBytes(1, 16), seqBytes(9, 4), 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := EnableULP(server); err != nil {
		t.Fatal(err)
	}
	if err := InstallTX(server, keys); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"first", "second"} {
		if _, err := unix.Write(server, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := SendRecord(server, RecordAlert, []byte{1, 0}); err != nil {
		t.Fatal(err)
	}
	peer := fdReader(client)
	for i, want := range []struct {
		typ      uint8
		plainLen int
	}{{RecordApplicationData, 5}, {RecordApplicationData, 6}, {RecordAlert, 2}} {
		header := make([]byte, 5)
		if _, err := io.ReadFull(peer, header); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, binary.BigEndian.Uint16(header[3:]))
		if _, err := io.ReadFull(peer, body); err != nil {
			t.Fatal(err)
		}
		// type, version 1.2, explicit nonce (8) + plaintext + GCM tag (16)
		if header[0] != want.typ || header[1] != 3 || header[2] != 3 || len(body) != 8+want.plainLen+16 {
			t.Fatalf("record %d: header %x, %d-byte body", i, header, len(body))
		}
		if nonce := binary.BigEndian.Uint64(body[:8]); nonce != uint64(5+i) {
			t.Errorf("record %d: explicit nonce %d, want sequence number %d", i, nonce, 5+i)
		}
	}
}

// fdReader reads a raw file descriptor that the test closes itself.
type fdReader int

func (r fdReader) Read(p []byte) (int, error) {
	n, err := unix.Read(int(r), p)
	if n == 0 && err == nil {
		return 0, io.EOF
	}
	return max(n, 0), err
}
