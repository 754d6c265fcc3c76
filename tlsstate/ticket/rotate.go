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
	return newKeys([]*key{first}, &s), nil
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
	k.mu.Lock()
	defer k.mu.Unlock()
	keys := k.snapshot()
	if len(keys) == 0 || !k.rotationDue(keys, now) {
		return nil
	}
	next := make([]*key, 0, len(keys)+1)
	if !now.Before(keys[0].created.Add(k.schedule.Issue)) {
		fresh, err := randomKey(rand, now)
		if err != nil {
			return err
		}
		keys[0].retired = now
		next = append(next, fresh)
	}
	next = append(next, keys[0])
	for _, old := range keys[1:] {
		if k.accepts(old, now) {
			next = append(next, old)
		} else {
			old.zero()
		}
	}
	k.keys.Store(&next)
	return nil
}

// rotationDue reports whether at time now the current key has issued long
// enough or a previous key is no longer accepted.
func (k *Keys) rotationDue(keys []*key, now time.Time) bool {
	if !now.Before(keys[0].created.Add(k.schedule.Issue)) {
		return true
	}
	for _, old := range keys[1:] {
		if !k.accepts(old, now) {
			return true
		}
	}
	return false
}

// accepts reports whether a previous key still opens tickets at time now.
func (k *Keys) accepts(old *key, now time.Time) bool {
	return now.Before(old.retired.Add(k.schedule.Accept))
}

// LifetimeLimit reports the longest a ticket may be valid so that the key
// that sealed it still opens it: for random keys Schedule.Accept (a key
// accepts that long after it stopped sealing) and limited is true; keys from
// a file never expire by themselves, so limited is false.
func (k *Keys) LifetimeLimit() (limit time.Duration, limited bool) {
	if k.schedule == nil {
		return 0, false
	}
	return k.schedule.Accept, true
}
