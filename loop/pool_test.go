package loop

import "testing"

// A burst fills the pool; Trim drops only what stayed unused for a whole
// period, so the pool empties within two trims after the burst and keeps
// what a steady load uses.
func TestPoolTrimDropsWhatStayedUnused(t *testing.T) {
	p := NewPool(100, func() *int { return new(int) })
	burst := make([]*int, 50)
	for i := range burst {
		burst[i] = p.Get()
	}
	for _, x := range burst {
		p.Put(x)
	}
	if n := p.Trim(); n != 0 || p.Free() != 50 {
		t.Fatalf("trim during the burst dropped %d, %d free; want 0, 50", n, p.Free())
	}
	// A steady load of 5 objects at a time.
	for range 3 {
		steady := []*int{p.Get(), p.Get(), p.Get(), p.Get(), p.Get()}
		for _, x := range steady {
			p.Put(x)
		}
	}
	if n := p.Trim(); n != 45 || p.Free() != 5 {
		t.Fatalf("trim after the burst dropped %d, %d free; want 45, 5", n, p.Free())
	}
	if n := p.Trim(); n != 5 || p.Free() != 0 {
		t.Fatalf("trim of an unused pool dropped %d, %d free; want 5, 0", n, p.Free())
	}
}
