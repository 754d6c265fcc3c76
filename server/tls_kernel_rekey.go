package server

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"lwango/coro"
	"lwango/kernel"
	"lwango/tlsstate"
)

// secretSize holds one direction's TLS 1.3 application traffic secret
// (SHA-384's 48 bytes at most); a vault slot holds both directions.
const (
	secretSize    = 48
	vaultSlotSize = 2 * secretSize
	vaultChunk    = 64 << 10
)

// secretVault holds the traffic secrets of kernel TLS connections that
// follow KeyUpdates (ktls_key_update = "rekey") in memory that is locked
// (mlock: never written to swap) and excluded from core dumps
// (MADV_DONTDUMP), allocated from anonymous mappings outside the Go heap.
// A slot is wiped when it is given back. A connection takes a slot when it
// is handed to the kernel and gives it back when it closes, so the lock is
// taken twice per connection, never per request.
type secretVault struct {
	mu   sync.Mutex
	free [][]byte
}

// vault is the process's secret vault.
var vault secretVault

// take returns a zeroed slot of vaultSlotSize bytes, mapping, locking and
// excluding from dumps a new chunk when none is free. An error (typically
// RLIMIT_MEMLOCK reached) means the connection cannot keep its secrets.
func (v *secretVault) take() ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.free) == 0 {
		chunk, err := unix.Mmap(-1, 0, vaultChunk, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return nil, fmt.Errorf("mmap for traffic secrets: %w", err)
		}
		if err := errors.Join(unix.Madvise(chunk, unix.MADV_DONTDUMP), unix.Mlock(chunk)); err != nil {
			unix.Munmap(chunk)
			return nil, fmt.Errorf("locking memory for traffic secrets (RLIMIT_MEMLOCK?): %w", err)
		}
		for off := 0; off+vaultSlotSize <= len(chunk); off += vaultSlotSize {
			v.free = append(v.free, chunk[off:off+vaultSlotSize:off+vaultSlotSize])
		}
	}
	slot := v.free[len(v.free)-1]
	v.free = v.free[:len(v.free)-1]
	return slot, nil
}

// give wipes a slot and makes it free again.
func (v *secretVault) give(slot []byte) {
	clear(slot)
	v.mu.Lock()
	v.free = append(v.free, slot)
	v.mu.Unlock()
}

// rekeyState is what a kernel TLS 1.3 connection that follows KeyUpdates
// keeps: the current traffic secrets (in a vault slot: RX first, then TX),
// the suite to derive the next ones, and a conservative count of the
// records sent under the current transmit key. A connection that cannot
// move to a next key keeps only the count (slot nil; see countRecordsOnly).
type rekeyState struct {
	slot      []byte
	secretLen int
	suite     tlsstate.CipherSuite
	limit     uint64 // records under one transmit key before the server moves to the next
	txRecords uint64
	// sendUpdate: a KeyUpdate of ours is due before the next application
	// data (the peer asked for one, or limit was reached).
	sendUpdate bool
}

// keepSecrets copies the session's current application traffic secrets
// into a vault slot, for a connection that follows KeyUpdates. limit is
// the configured record limit (0: the suite's).
func keepSecrets(sess *tlsstate.Session, limit uint64) (*rekeyState, error) {
	n := len(sess.RX.Secret)
	if n == 0 || n > secretSize || len(sess.TX.Secret) != n {
		return nil, errors.New("no TLS 1.3 traffic secrets to keep")
	}
	slot, err := vault.take()
	if err != nil {
		return nil, err
	}
	copy(slot, sess.RX.Secret)
	copy(slot[secretSize:], sess.TX.Secret)
	if limit == 0 {
		limit = tlsstate.RecordLimit(sess.CipherSuite)
	}
	return &rekeyState{slot: slot, secretLen: n, suite: sess.CipherSuite, limit: limit}, nil
}

// countRecordsOnly is the record count of a connection that cannot move to
// a next key and must end before its key has protected too many records: a
// TLS 1.2 connection (no KeyUpdate), a TLS 1.3 one whose process keeps no
// secret (ktls_key_update = "close", secrets that could not be kept, a
// connection passed by an upgrade). The limit is limit when set, else that
// of the TLS 1.3 suite with the same AEAD (AES-GCM; nil for
// ChaCha20-Poly1305, whose limit is out of reach).
func countRecordsOnly(suite tlsstate.CipherSuite, limit uint64) *rekeyState {
	if limit == 0 {
		cipher, _ := kernelCipher(suite)
		switch cipher {
		case kernel.TLS_CIPHER_AES_GCM_128, kernel.TLS_CIPHER_AES_GCM_256:
			limit = tlsstate.RecordLimit(tlsstate.AES128GCMSHA256)
		default:
			return nil
		}
	}
	return &rekeyState{suite: suite, limit: limit}
}

// keepRX replaces the kept receive secret with the one the kernel got.
func (r *rekeyState) keepRX(secret []byte) {
	if r.slot != nil && len(secret) == r.secretLen {
		copy(r.slot[:secretSize], secret)
	}
}

// release wipes the secrets and gives their slot back.
func (r *rekeyState) release() {
	if r.slot != nil {
		vault.give(r.slot)
		r.slot = nil
	}
}

// nextKeys moves the secret of one direction (offset 0: RX, secretSize:
// TX) to its next generation in the vault and returns the kernel's keys
// for it, at sequence number 0. The caller zeroes them after installing.
func (r *rekeyState) nextKeys(offset int) (*kernel.CryptoInfo, error) {
	secret := r.slot[offset : offset+r.secretLen]
	keys := tlsstate.TrafficKeys{Secret: secret}
	if err := tlsstate.NextTrafficKeys(r.suite, &keys); err != nil {
		return nil, err
	}
	copy(secret, keys.Secret) // clear(secret) by NextTrafficKeys, then the new one
	clear(keys.Secret)
	cipher, ok := kernelCipher(r.suite)
	if !ok {
		keys.Zero()
		return nil, fmt.Errorf("cipher suite %v has no kernel TLS cipher", r.suite)
	}
	return kernel.TLS13Keys(cipher, keys.Key, keys.IV, 0)
}

// installNextKey moves one direction (offset 0: receive, secretSize:
// transmit) to its next traffic secret and gives the kernel its keys, under
// eraseAfter.
func (t *kernelRecords) installNextKey(offset int, install func(fd int, k *kernel.CryptoInfo) error) (err error) {
	eraseAfter(func() {
		var keys *kernel.CryptoInfo
		if keys, err = t.rekey.nextKeys(offset); err == nil {
			err = install(t.fd, keys)
			keys.Zero()
		}
	})
	return err
}

// countRecords adds what a send of n bytes may have cost in records under
// the transmit key: at most one per 16 KiB, plus one for a record the
// kernel closed early.
func (r *rekeyState) countRecords(n int) {
	r.txRecords += uint64(n)>>14 + 1
	if r.txRecords >= r.limit {
		r.sendUpdate = true
	}
}

// sendBudget bounds one send so that the records it costs stay within
// the transmit key's limit.
func (r *rekeyState) sendBudget(n int) int {
	left := r.limit - min(r.txRecords, r.limit) // records still allowed
	if left <= 1 {
		return min(n, 1<<14)
	}
	return min(n, int(min(left-1, 1<<20))<<14)
}

// keyUpdateReceived acts on the channel's verdict on the client's
// KeyUpdate: the kernel gets the next receive key; with update_requested,
// our own KeyUpdate is due before the next application data we send (RFC
// 8446 §4.6.3).
func (t *kernelRecords) keyUpdateReceived(updateRequested bool) error {
	if err := t.installNextKey(0, kernel.InstallRX); err != nil {
		return t.fail(tlsstate.AlertInternalError, "installing the next receive key: "+err.Error())
	}
	if updateRequested {
		t.rekey.sendUpdate = true
	}
	t.log.Debug("tls: kernel TLS receive key updated", "update_requested", updateRequested)
	return nil
}

// sendKeyUpdate sends our KeyUpdate under the current transmit key, when
// one is due, and gives the kernel the next transmit key.
func (t *kernelRecords) sendKeyUpdate() error {
	msg := tlsstate.KeyUpdateMessage(false)
	n, err := kernel.SendRecord(t.fd, kernel.RecordHandshake, msg[:])
	switch {
	case errors.Is(err, kernel.EAGAIN):
		return coro.ErrWantWrite
	case err == nil && n != len(msg):
		// The record is left open in the kernel: nothing else may follow.
		err = fmt.Errorf("short KeyUpdate record (%d of %d bytes)", n, len(msg))
	}
	if err != nil {
		t.err = err
		return err
	}
	if err := t.installNextKey(secretSize, kernel.InstallTX); err != nil {
		t.err = fmt.Errorf("installing the next transmit key: %w", err)
		return t.err
	}
	t.rekey.sendUpdate = false
	t.rekey.txRecords = 0
	return nil
}
