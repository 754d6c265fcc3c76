package server

import "sync/atomic"

// counter is a count kept by one loop: only that loop's goroutine changes
// it, with a load and a store (no locked read-modify-write, no cache line
// shared with another writer), and a scrape on any goroutine reads it with
// an atomic load. A counter of one loop must never be changed by another.
type counter struct{ v atomic.Uint64 }

// inc adds one; only the owning loop may call it.
func (c *counter) inc() { c.v.Store(c.v.Load() + 1) }

// add adds n; only the owning loop may call it.
func (c *counter) add(n uint64) { c.v.Store(c.v.Load() + n) }

// load reads the count from any goroutine.
func (c *counter) load() uint64 { return c.v.Load() }
