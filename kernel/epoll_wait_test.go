package kernel

import (
	"runtime"
	"testing"
	"time"
)

// A wait with nothing ready must sleep through the runtime's syscall path:
// with a single P and the waiting goroutine locked to its thread, the
// goroutine that makes the event ready can only run if the wait gave the P
// up. (A raw blocking wait would hold it until a preemption signal
// interrupted the wait, which EpollWait reports as 0 events.)
func TestEpollWaitLetsOtherGoroutinesRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, err := EpollCreate()
	if err != nil {
		t.Fatal(err)
	}
	defer Close(ep)
	efd, err := EventfdCreate()
	if err != nil {
		t.Fatal(err)
	}
	defer Close(efd)
	if err := EpollAdd(ep, efd, EventIn); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		EventfdSignal(efd)
	}()
	events := make([]Event, 4)
	start := time.Now()
	n, err := EpollWait(ep, events, 5000)
	if n != 1 || err != nil || int(events[0].Fd) != efd {
		t.Fatalf("EpollWait = %d, %v after %v; want the eventfd the other goroutine signalled", n, err, time.Since(start))
	}
}
