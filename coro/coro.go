// Package coro is the step/yield contract between a connection's work and the
// event loop that drives it, after Lwan's coroutines: a step runs until it
// would block and then says what it is waiting for, instead of parking a
// goroutine; cleanups it registers (Defers) run when its work ends, normally
// or because the connection died mid-step.
package coro

// Want is what a step returns: what the connection waits for next.
type Want uint8

const (
	// WantRead asks the loop to call the step again when the socket is readable.
	WantRead Want = iota + 1
	// WantWrite asks the loop to call the step again when the socket is writable.
	WantWrite
	// Done says the connection's work is finished and it may be closed gracefully.
	Done
	// Abort says the connection must be closed at once; deferred cleanups run.
	Abort
	// Finished says the connection's work is finished and the peer sends
	// nothing more (it asked for the close, and all it sent was read): it is
	// closed at once, without the lingering read of Done, as nginx does.
	Finished
)

// String names the value, for logs and test failures.
func (w Want) String() string {
	switch w {
	case WantRead:
		return "WantRead"
	case WantWrite:
		return "WantWrite"
	case Done:
		return "Done"
	case Abort:
		return "Abort"
	case Finished:
		return "Finished"
	}
	return "Want(?)"
}

// Defers holds cleanups registered while a connection is busy (Lwan's
// coro_defer). They run, last registered first, when the work they guard ends
// normally or when the connection dies mid-step. The first few live inline so
// that registering one does not allocate.
type Defers struct {
	inline [4]func()
	n      int
	more   []func()
}

// Defer registers f to run at the next Run.
func (d *Defers) Defer(f func()) {
	if d.n < len(d.inline) {
		d.inline[d.n] = f
		d.n++
		return
	}
	d.more = append(d.more, f)
}

// Len reports how many cleanups are pending.
func (d *Defers) Len() int { return d.n + len(d.more) }

// Run calls every pending cleanup, last registered first, and forgets them.
// A cleanup may register another; it runs in the same call.
func (d *Defers) Run() {
	for d.Len() > 0 {
		var f func()
		if k := len(d.more); k > 0 {
			f = d.more[k-1]
			d.more[k-1] = nil
			d.more = d.more[:k-1]
		} else {
			d.n--
			f = d.inline[d.n]
			d.inline[d.n] = nil
		}
		f()
	}
	d.more = d.more[:0]
}
