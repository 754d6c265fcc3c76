package ticket

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"
)

// rotate calls k.Rotate at epoch+after or fails the test.
func rotate(t *testing.T, k *Keys, after time.Duration) {
	t.Helper()
	if err := k.Rotate(rand.Reader, epoch.Add(after)); err != nil {
		t.Fatal(err)
	}
}

// currentName returns the name a ticket sealed now would carry.
func currentName(t *testing.T, k *Keys) []byte {
	t.Helper()
	return seal(t, k, nil, aad13)[:NameSize]
}

func TestRotationLifecycle(t *testing.T) {
	s := DefaultSchedule
	k := randomKeys(t)
	nameA := currentName(t, k)
	ticketA := seal(t, k, []byte("sealed by A"), aad13)
	keyA := k.snapshot()[0]

	rotate(t, k, s.Issue-time.Nanosecond)
	if !bytes.Equal(currentName(t, k), nameA) {
		t.Fatal("a new key took over before Schedule.Issue elapsed")
	}

	rotate(t, k, s.Issue) // B replaces A; A retired at Issue
	nameB := currentName(t, k)
	if bytes.Equal(nameB, nameA) {
		t.Fatal("no new key after Schedule.Issue")
	}
	if !opens(k, ticketA, aad13) {
		t.Fatal("A's ticket does not open right after A became a previous key")
	}

	rotate(t, k, 2*s.Issue) // C replaces B
	if n := currentName(t, k); bytes.Equal(n, nameA) || bytes.Equal(n, nameB) {
		t.Fatal("no third key after twice Schedule.Issue")
	}
	rotate(t, k, s.Issue+s.Accept-time.Nanosecond)
	if !opens(k, ticketA, aad13) {
		t.Fatal("A's ticket does not open just before A's acceptance ends")
	}

	rotate(t, k, s.Issue+s.Accept)
	if opens(k, ticketA, aad13) {
		t.Fatal("A's ticket still opens after A's acceptance ended")
	}
	if !allZero(keyA.secret) {
		t.Fatal("the dropped key A was not zeroed")
	}
	// At Issue+Accept C has issued for Schedule.Issue too: D replaced it.
	if len(k.snapshot()) != 3 {
		t.Fatalf("%d keys held, want 3 (D current, C and B previous)", len(k.snapshot()))
	}
}

func TestRotationAfterLongGap(t *testing.T) {
	k := randomKeys(t)
	old := seal(t, k, []byte("state"), aad13)
	// The owner's tick stalled for days: one new key, and the old one is
	// kept for Schedule.Accept from now, since it issued until now.
	rotate(t, k, 100*time.Hour)
	if len(k.snapshot()) != 2 || !opens(k, old, aad13) {
		t.Fatalf("after a long gap: %d keys, old ticket opens %v; want 2, true", len(k.snapshot()), opens(k, old, aad13))
	}
	rotate(t, k, 100*time.Hour+DefaultSchedule.Accept)
	if opens(k, old, aad13) {
		t.Fatal("the old ticket outlived Schedule.Accept after the gap")
	}
}

func TestRotationIgnoresClockGoingBack(t *testing.T) {
	k := randomKeys(t)
	name := currentName(t, k)
	rotate(t, k, -48*time.Hour)
	if len(k.snapshot()) != 1 || !bytes.Equal(currentName(t, k), name) {
		t.Fatal("a clock going back changed the keys")
	}
}

func TestRotationRandomFailureChangesNothing(t *testing.T) {
	k := randomKeys(t)
	name := currentName(t, k)
	if err := k.Rotate(failingReader{}, epoch.Add(DefaultSchedule.Issue)); err == nil {
		t.Fatal("Rotate succeeded without randomness")
	}
	if len(k.snapshot()) != 1 || !bytes.Equal(currentName(t, k), name) {
		t.Fatal("a failed Rotate changed the keys")
	}
}

func TestRotationLeavesFileKeysAlone(t *testing.T) {
	k, err := FromFile(writeKeyFile(t, randomBytes(t, 2*KeySize), 0o600))
	if err != nil {
		t.Fatal(err)
	}
	ticket := seal(t, k, []byte("state"), aad13)
	rotate(t, k, 365*24*time.Hour)
	if len(k.snapshot()) != 2 || !opens(k, ticket, aad13) {
		t.Fatal("Rotate changed keys that came from a file")
	}
}

func TestNewRandomValidates(t *testing.T) {
	for _, s := range []Schedule{{}, {Issue: -time.Hour, Accept: time.Hour}, {Issue: time.Hour, Accept: -1}} {
		if _, err := NewRandom(rand.Reader, epoch, s); err == nil {
			t.Errorf("NewRandom accepted schedule %+v", s)
		}
	}
	if _, err := NewRandom(failingReader{}, epoch, DefaultSchedule); err == nil {
		t.Error("NewRandom succeeded without randomness")
	}
}

func TestRandomKeysAreDerivedNotRaw(t *testing.T) {
	raw := randomBytes(t, KeySize)
	k, err := NewRandom(bytes.NewReader(bytes.Clone(raw)), epoch, DefaultSchedule)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.snapshot()[0].name[:], raw[:NameSize]) {
		t.Fatal("the key name is not the first 16 bytes of the raw material")
	}
	if bytes.Contains(raw, k.snapshot()[0].secret) {
		t.Fatal("the AEAD key is a slice of the raw material, not derived from it")
	}
}

func TestLifetimeLimit(t *testing.T) {
	if got, limited := randomKeys(t).LifetimeLimit(); got != DefaultSchedule.Accept || !limited {
		t.Errorf("random keys: limit %v %v, want the accept window %v", got, limited, DefaultSchedule.Accept)
	}
	k, err := FromFile(writeKeyFile(t, randomBytes(t, KeySize), 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if _, limited := k.LifetimeLimit(); limited {
		t.Error("file keys report a lifetime limit")
	}
}
