package ticket

import (
	"fmt"
	"io"
	"os"
)

// MaxKeys is the most keys a ticket key file may hold.
const MaxKeys = 16

// FromFile reads a ticket key file: the keys that every instance of a fleet
// shares so that each one resumes the sessions the others issued.
//
// The file is a concatenation of one or more 80-byte keys, at most MaxKeys.
// Each key is a 16-byte name (sent in the clear at the front of every ticket)
// followed by 64 bytes of secret. The first key seals new tickets; the others
// are previous keys that still open the tickets they sealed. Generate a file
// with
//
//	(umask 077; openssl rand 80 > ticket.key)
//
// An nginx ssl_session_ticket_key file of 80 bytes is accepted as it is (its
// tickets are not: the cipher differs); a 48-byte one is not.
//
// To rotate across a fleet without any instance issuing tickets the others
// cannot open yet, stage the new key before promoting it, reloading every
// instance after each step:
//
//	(umask 077; openssl rand 80 > new.key)
//	cat old.key new.key > ticket.key   # stage: old seals, new opens
//	cat new.key old.key > ticket.key   # promote: new seals, old opens
//	cat new.key > ticket.key           # retire old once its tickets expired
//
// Keys from a file never expire by themselves: [Keys.Rotate] leaves them
// alone, and they change only when the operator replaces the file.
//
// The error, naming the file, says what is wrong if the file cannot be read,
// is not a regular file, may be read or written by users other than its
// owner and group (mode bits 0o007: chmod 600 or 640 it), is empty, has a
// size that is not a multiple of 80 or holds more than MaxKeys keys, holds a
// key that is all zero bytes, or holds two keys with the same name.
func FromFile(path string) (*Keys, error) {
	raw, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	if err := checkKeyFile(raw); err != nil {
		return nil, fmt.Errorf("ticket key file %s: %w", path, err)
	}
	keys := make([]*key, 0, len(raw)/KeySize)
	for i := 0; i < len(raw); i += KeySize {
		derived, err := newKey(raw[i : i+KeySize])
		if err != nil {
			for _, k := range keys {
				k.zero()
			}
			return nil, fmt.Errorf("ticket key file %s: %w", path, err)
		}
		keys = append(keys, derived)
	}
	return newKeys(keys, nil), nil
}

// readKeyFile returns the bytes of a ticket key file after checking that it
// is a regular file that only its owner and group can use.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ticket key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ticket key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("ticket key file %s: not a regular file (%v)", path, info.Mode().Type())
	}
	if perm := info.Mode().Perm(); perm&0o007 != 0 {
		return nil, fmt.Errorf("ticket key file %s: mode %#o lets other users read or write the keys; chmod 600 %s", path, perm, path)
	}
	// Read one byte more than the largest valid file, so that a file too
	// large is reported as such without reading all of it.
	raw, err := io.ReadAll(io.LimitReader(f, MaxKeys*KeySize+1))
	if err != nil {
		clear(raw)
		return nil, fmt.Errorf("ticket key file %s: %w", path, err)
	}
	return raw, nil
}

// checkKeyFile reports what is wrong with the contents of a key file.
func checkKeyFile(raw []byte) error {
	switch {
	case len(raw) == 0:
		return fmt.Errorf("empty; it must hold one or more %d-byte keys (openssl rand %d)", KeySize, KeySize)
	case len(raw) > MaxKeys*KeySize:
		return fmt.Errorf("more than %d bytes: at most %d keys of %d bytes are allowed", MaxKeys*KeySize, MaxKeys, KeySize)
	case len(raw)%KeySize != 0:
		return fmt.Errorf("%d bytes is not a multiple of %d; it must hold one or more %d-byte keys (openssl rand %d)", len(raw), KeySize, KeySize, KeySize)
	}
	seen := make(map[[NameSize]byte]int, len(raw)/KeySize)
	for i := 0; i < len(raw); i += KeySize {
		record := raw[i : i+KeySize]
		if allZero(record) {
			return fmt.Errorf("key %d is all zero bytes, not random", i/KeySize+1)
		}
		name := [NameSize]byte(record[:NameSize])
		if first, dup := seen[name]; dup {
			return fmt.Errorf("keys %d and %d have the same name (first %d bytes)", first, i/KeySize+1, NameSize)
		}
		seen[name] = i/KeySize + 1
	}
	return nil
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
