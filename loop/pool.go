package loop

// Pool is a free list of reusable objects for one loop. It is not safe for
// concurrent use; each loop keeps its own, so no locks are taken.
type Pool[T any] struct {
	free []*T
	max  int
	new  func() *T
	// lowWater is the fewest objects the pool held free since the last
	// Trim: that many were not needed in between.
	lowWater int
}

// NewPool returns a pool that makes objects with newObject and keeps at most
// max free ones (more are left to the garbage collector).
func NewPool[T any](max int, newObject func() *T) *Pool[T] {
	return &Pool[T]{free: make([]*T, 0, max), max: max, new: newObject}
}

// Get returns a free object, or a new one.
func (p *Pool[T]) Get() *T {
	if n := len(p.free); n > 0 {
		x := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.lowWater = min(p.lowWater, n-1)
		return x
	}
	p.lowWater = 0
	return p.new()
}

// Put returns x, which the caller has reset, to the pool.
func (p *Pool[T]) Put(x *T) {
	if len(p.free) < p.max {
		p.free = append(p.free, x)
	}
}

// Trim drops, for the garbage collector, as many free objects as stayed
// unused since the last Trim, and reports how many. Called periodically,
// it empties a pool that a burst filled within two periods of the burst,
// and leaves alone the objects a steady load keeps using.
func (p *Pool[T]) Trim() int {
	n := p.lowWater
	clear(p.free[len(p.free)-n:])
	p.free = p.free[:len(p.free)-n]
	p.lowWater = len(p.free)
	return n
}

// Free reports how many objects wait in the pool.
func (p *Pool[T]) Free() int { return len(p.free) }
