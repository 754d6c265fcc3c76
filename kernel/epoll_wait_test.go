package kernel

import (
	"runtime"
	"testing"
	"time"
)

// epollWithEventfd returns an epoll descriptor watching a new eventfd.
func epollWithEventfd(t *testing.T) (ep, efd int) {
	t.Helper()
	ep, err := EpollCreate()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Close(ep) })
	efd, err = EventfdCreate()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Close(efd) })
	if err := EpollAdd(ep, efd, EventIn); err != nil {
		t.Fatal(err)
	}
	return ep, efd
}

// A wait that does not hold its P sleeps through the runtime's syscall
// path: with a single P and the waiting goroutine locked to its thread, the
// goroutine that makes the event ready can only run if the wait gave the P
// up. (A raw wait would hold it until a preemption signal interrupted it,
// which EpollWait reports as 0 events.)
func TestEpollWaitLetsOtherGoroutinesRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, efd := epollWithEventfd(t)
	go func() {
		time.Sleep(20 * time.Millisecond)
		EventfdSignal(efd)
	}()
	events := make([]Event, 4)
	start := time.Now()
	n, err := EpollWait(ep, events, 5000, 0)
	if n != 1 || err != nil || int(events[0].Fd) != efd {
		t.Fatalf("EpollWait = %d, %v after %v; want the eventfd the other goroutine signalled", n, err, time.Since(start))
	}
}

// A wait that holds its P for a while, even with no P to spare, ends (with
// the event, or interrupted with 0 events, as a loop calls it again) and
// lets the other goroutine run.
func TestEpollWaitHoldingLetsOtherGoroutinesRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, efd := epollWithEventfd(t)
	go EventfdSignal(efd)
	events := make([]Event, 4)
	for deadline := time.Now().Add(5 * time.Second); ; {
		n, err := EpollWait(ep, events, 1000, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 && int(events[0].Fd) == efd {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the other goroutine never ran")
		}
	}
}

// An event that arrives during the raw part is returned by it.
func TestEpollWaitHoldingSeesEvents(t *testing.T) {
	ep, efd := epollWithEventfd(t)
	events := make([]Event, 4)
	if n, err := EpollWait(ep, events, 0, 1); n != 0 || err != nil {
		t.Fatalf("nothing pending, no wait: %d, %v", n, err)
	}
	if n, err := EpollWait(ep, events, 5, 1000); n != 0 || err != nil {
		t.Fatalf("nothing pending, 5 ms wait: %d, %v", n, err)
	}
	EventfdSignal(efd)
	if n, err := EpollWait(ep, events, -1, 1000); n != 1 || err != nil || int(events[0].Fd) != efd {
		t.Fatalf("pending event: %d, %v", n, err)
	}
}
