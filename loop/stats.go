package loop

import "sync/atomic"

// Stats are a loop's counters. The loop adds to them; anyone may read them.
type Stats struct {
	Accepted atomic.Uint64 // connections accepted
	Adopted  atomic.Uint64 // connections passed in from another process (Adopt)
	Closed   atomic.Uint64 // connections closed, for any reason
	Expired  atomic.Uint64 // of those, closed by a timeout
	Refused  atomic.Uint64 // connections closed at once: descriptor beyond the table
	// Reclaimed counts idle connections closed to free descriptors when
	// accept ran out of them.
	Reclaimed atomic.Uint64
}
