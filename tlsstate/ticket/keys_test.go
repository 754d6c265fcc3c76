package ticket

import (
	"bytes"
	"crypto/rand"
	"sync"
	"testing"
	"time"
)

func TestSealOpenRoundTrip(t *testing.T) {
	k := randomKeys(t)
	for _, size := range []int{0, 1, 48, 200, MaxPlaintext} {
		plaintext := randomBytes(t, size)
		prefix := []byte("kept")
		ticket, err := k.Seal(bytes.Clone(prefix), plaintext, aad13, rand.Reader)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.HasPrefix(ticket, prefix) {
			t.Fatalf("size %d: Seal did not append to dst", size)
		}
		ticket = ticket[len(prefix):]
		if len(ticket) != size+Overhead {
			t.Fatalf("size %d: ticket is %d bytes, want %d", size, len(ticket), size+Overhead)
		}
		if !bytes.Equal(ticket[:NameSize], k.snapshot()[0].name[:]) {
			t.Fatalf("size %d: ticket does not start with the current key's name", size)
		}
		got, ok := k.Open([]byte("dst:"), ticket, aad13)
		if !ok {
			t.Fatalf("size %d: Open failed on a fresh ticket", size)
		}
		if !bytes.Equal(got, append([]byte("dst:"), plaintext...)) {
			t.Fatalf("size %d: Open returned %x, want dst:%x", size, got, plaintext)
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := randomKeys(t)
	a, b := seal(t, k, []byte("same state"), aad13), seal(t, k, []byte("same state"), aad13)
	if bytes.Equal(a[NameSize:NameSize+nonceSize], b[NameSize:NameSize+nonceSize]) || bytes.Equal(a, b) {
		t.Fatal("two tickets for the same state share a nonce")
	}
}

func TestSealRefusesOversizedState(t *testing.T) {
	k := randomKeys(t)
	dst := []byte("dst")
	got, err := k.Seal(dst, make([]byte, MaxPlaintext+1), aad13, rand.Reader)
	if err == nil {
		t.Fatal("Seal accepted more than MaxPlaintext bytes")
	}
	if !bytes.Equal(got, dst) {
		t.Fatalf("Seal returned %q on error, want dst unchanged", got)
	}
}

func TestSealReportsRandomFailure(t *testing.T) {
	k := randomKeys(t)
	dst := []byte("dst")
	got, err := k.Seal(dst, []byte("state"), aad13, failingReader{})
	if err == nil {
		t.Fatal("Seal succeeded without a nonce")
	}
	if !bytes.Equal(got, dst) {
		t.Fatalf("Seal returned %q on error, want dst unchanged", got)
	}
}

func TestOpenRejectsWrongAAD(t *testing.T) {
	k := randomKeys(t)
	ticket := seal(t, k, []byte("tls 1.2 session"), aad12)
	if opens(k, ticket, aad13) {
		t.Fatal("a TLS 1.2 ticket opened as a TLS 1.3 one")
	}
	if opens(k, ticket, nil) {
		t.Fatal("a ticket opened without its associated data")
	}
	if !opens(k, ticket, aad12) {
		t.Fatal("the ticket does not open with its own associated data")
	}
}

func TestOpenRejectsTamperedTickets(t *testing.T) {
	k := randomKeys(t)
	ticket := seal(t, k, []byte("a session worth forging"), aad13)
	for i := range ticket {
		for _, bit := range []byte{0x01, 0x80} {
			tampered := bytes.Clone(ticket)
			tampered[i] ^= bit
			if opens(k, tampered, aad13) {
				t.Fatalf("ticket with byte %d xor %#x opened", i, bit)
			}
		}
	}
	for n := range len(ticket) {
		if opens(k, ticket[:n], aad13) {
			t.Fatalf("ticket truncated to %d bytes opened", n)
		}
	}
	if opens(k, append(bytes.Clone(ticket), 0), aad13) {
		t.Fatal("ticket with a byte appended opened")
	}
}

func TestOpenBoundsLength(t *testing.T) {
	k := randomKeys(t)
	name := k.snapshot()[0].name[:]
	for _, n := range []int{0, 1, NameSize, Overhead - 1, MaxPlaintext + Overhead + 1, 1 << 16} {
		garbage := make([]byte, n)
		copy(garbage, name)
		dst := []byte("dst")
		got, ok := k.Open(dst, garbage, aad13)
		if ok || !bytes.Equal(got, dst) {
			t.Fatalf("Open of %d bytes = %q, %v; want dst, false", n, got, ok)
		}
	}
}

func TestOpenRejectsUnknownKeyName(t *testing.T) {
	sealer, opener := randomKeys(t), randomKeys(t)
	if opens(opener, seal(t, sealer, []byte("state"), aad13), aad13) {
		t.Fatal("a ticket opened under an unrelated key set")
	}
}

func TestZeroWipesKeys(t *testing.T) {
	k := randomKeys(t)
	before := seal(t, k, []byte("state"), aad13)
	if err := k.Rotate(rand.Reader, epoch.Add(DefaultSchedule.Issue)); err != nil {
		t.Fatal(err)
	}
	if len(k.snapshot()) != 2 {
		t.Fatalf("%d keys after one rotation, want 2", len(k.snapshot()))
	}
	var secrets [][]byte
	for _, key := range k.snapshot() {
		if allZero(key.secret) {
			t.Fatal("a live key is already all zeros")
		}
		secrets = append(secrets, key.secret)
	}
	k.Zero()
	for i, s := range secrets {
		if len(s) != 32 || !allZero(s) {
			t.Fatalf("key %d after Zero: %x", i, s)
		}
	}
	if opens(k, before, aad13) {
		t.Fatal("a ticket opened after Zero")
	}
	if _, err := k.Seal(nil, []byte("state"), aad13, rand.Reader); err == nil {
		t.Fatal("Seal succeeded after Zero")
	}
	if err := k.Rotate(rand.Reader, epoch.Add(100*time.Hour)); err != nil || k.snapshot() != nil {
		t.Fatalf("Rotate after Zero: %v, %d keys; want no error and no keys", err, len(k.snapshot()))
	}
}

// TestConcurrentUse runs Seal and Open on several goroutines while the set
// rotates and is finally zeroed: the race detector checks the locking, and a
// ticket that opens (its key may have expired meanwhile) yields its state.
func TestConcurrentUse(t *testing.T) {
	k := randomKeys(t)
	stop := make(chan struct{})
	var workers sync.WaitGroup
	for w := range 4 {
		workers.Go(func() {
			state := []byte{byte(w), 1, 2, 3}
			for {
				select {
				case <-stop:
					return
				default:
				}
				ticket, err := k.Seal(nil, state, aad13, rand.Reader)
				if err != nil {
					return // zeroed
				}
				got, ok := k.Open(nil, ticket, aad13)
				if ok && !bytes.Equal(got, state) {
					t.Errorf("worker %d opened %x, want %x", w, got, state)
				}
			}
		})
	}
	for i := range 50 {
		if err := k.Rotate(rand.Reader, epoch.Add(time.Duration(i)*DefaultSchedule.Issue)); err != nil {
			t.Fatal(err)
		}
	}
	k.Zero()
	close(stop)
	workers.Wait()
}
