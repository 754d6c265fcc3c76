package loop

// Pool is a free list of reusable objects for one loop. It is not safe for
// concurrent use; each loop keeps its own, so no locks are taken.
type Pool[T any] struct {
	free []*T
	max  int
	new  func() *T
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
		return x
	}
	return p.new()
}

// Put returns x, which the caller has reset, to the pool.
func (p *Pool[T]) Put(x *T) {
	if len(p.free) < p.max {
		p.free = append(p.free, x)
	}
}

// Free reports how many objects wait in the pool.
func (p *Pool[T]) Free() int { return len(p.free) }
