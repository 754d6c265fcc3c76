package ticket

import (
	"fmt"
	"io"
	"time"
)

// Schedule is how random in-memory keys rotate.
type Schedule struct {
	// Issue is how long a key is the current key before a new one
	// replaces it.
	Issue time.Duration
	// Accept is how long a key still opens tickets after it stopped being
	// the current key. A ticket's advertised lifetime must not exceed it,
	// or the ticket may outlive its key.
	Accept time.Duration
}

// DefaultSchedule issues with a new key every 12 hours and keeps opening
// tickets with a replaced key for 24 hours, the longest ticket lifetime the
// server should advertise with it.
var DefaultSchedule = Schedule{Issue: 12 * time.Hour, Accept: 24 * time.Hour}

// NewRandom returns a set of one random key, read from rand, created at now,
// that rotates on schedule s when the owner calls Rotate.
func NewRandom(rand io.Reader, now time.Time, s Schedule) (*Keys, error) {
	if s.Issue <= 0 || s.Accept < 0 {
		return nil, fmt.Errorf("ticket: schedule needs Issue > 0 and Accept >= 0, got %v and %v", s.Issue, s.Accept)
	}
	first, err := randomKey(rand, now)
	if err != nil {
		return nil, err
	}
	return &Keys{keys: []*key{first}, schedule: &s}, nil
}

// randomKey makes a key from 80 bytes read from rand.
func randomKey(rand io.Reader, now time.Time) (*key, error) {
	var raw [KeySize]byte
	defer clear(raw[:])
	if _, err := io.ReadFull(rand, raw[:]); err != nil {
		return nil, fmt.Errorf("ticket: reading a random key: %w", err)
	}
	k, err := newKey(raw[:])
	if err != nil {
		return nil, err
	}
	k.created = now
	return k, nil
}

// Rotate brings random keys up to date at time now: once the current key has
// issued for Schedule.Issue, a new key read from rand replaces it, and keys
// that stopped issuing more than Schedule.Accept ago are zeroed and dropped.
// The owner calls it from its periodic tick; a clock that goes back changes
// nothing. Keys from a file, and keys after Zero, are left as they are.
// Rotate fails only if rand does, and then changes nothing.
func (k *Keys) Rotate(rand io.Reader, now time.Time) error {
	if k.schedule == nil {
		return nil
	}
	var fresh *key
	if k.rotationDue(now) {
		// Read and derive outside the write lock, so that Seal and Open
		// on other loops wait only for the slice to be swapped.
		var err error
		if fresh, err = randomKey(rand, now); err != nil {
			return err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) == 0 {
		if fresh != nil {
			fresh.zero()
		}
		return nil
	}
	if fresh != nil {
		if now.Before(k.keys[0].created.Add(k.schedule.Issue)) {
			fresh.zero() // a concurrent Rotate got there first
		} else {
			k.keys[0].retired = now
			k.keys = append([]*key{fresh}, k.keys...)
		}
	}
	k.dropExpired(now)
	return nil
}

// rotationDue reports whether the current key has issued long enough.
func (k *Keys) rotationDue(now time.Time) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.keys) > 0 && !now.Before(k.keys[0].created.Add(k.schedule.Issue))
}

// dropExpired zeroes and removes the previous keys whose acceptance ended.
// The caller holds the write lock.
func (k *Keys) dropExpired(now time.Time) {
	kept := k.keys[:1]
	for _, old := range k.keys[1:] {
		if now.Before(old.retired.Add(k.schedule.Accept)) {
			kept = append(kept, old)
		} else {
			old.zero()
		}
	}
	clear(k.keys[len(kept):])
	k.keys = kept
}
