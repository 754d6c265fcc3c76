package tlsstate

import (
	"bytes"
	"reflect"
	"testing"
	"unsafe"
)

// objectBytes is the memory of the object p points to.
func objectBytes(p any) []byte {
	v := reflect.ValueOf(p)
	return unsafe.Slice((*byte)(v.UnsafePointer()), v.Type().Elem().Size())
}

// Dropping a record cipher zeroes its AEAD's key material (AES-GCM's key
// schedule and GHASH table, ChaCha20-Poly1305's key), which the AEADs keep
// inline in one object without pointers and cannot erase themselves.
func TestWipeErasesAEADKeys(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a, 0xc3, 0x11, 0x7e}, 8)
	for _, c := range []struct {
		name string
		new  func([]byte) (*recordCipher, error)
	}{
		{"AES-128-GCM", func(k []byte) (*recordCipher, error) {
			return newRecordCipher(suiteByID(AES128GCMSHA256), k[:16], make([]byte, 12))
		}},
		{"AES-256-GCM", func(k []byte) (*recordCipher, error) {
			return newRecordCipher(suiteByID(AES256GCMSHA384), k, make([]byte, 12))
		}},
		{"ChaCha20-Poly1305", func(k []byte) (*recordCipher, error) {
			return newRecordCipher(suiteByID(ChaCha20Poly1305SHA256), k, make([]byte, 12))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc, err := c.new(key)
			if err != nil {
				t.Fatal(err)
			}
			aead := rc.aead
			if !holdsNoPointer(aead) {
				t.Fatalf("%T holds pointers: it cannot be wiped", aead)
			}
			mem := objectBytes(aead)
			if bytes.Count(mem, []byte{0}) == len(mem) {
				t.Fatal("the AEAD's memory is zero before the wipe")
			}
			rc.wipe()
			if bytes.Count(mem, []byte{0}) != len(mem) {
				t.Fatalf("%T still holds key material after the wipe", aead)
			}
		})
	}
}
