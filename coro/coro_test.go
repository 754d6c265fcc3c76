package coro

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDefersRunLastFirstAndNested(t *testing.T) {
	var d Defers
	var order []string
	for i := range 6 { // past the inline slots
		d.Defer(func() { order = append(order, fmt.Sprint(i)) })
	}
	d.Defer(func() {
		order = append(order, "outer")
		d.Defer(func() { order = append(order, "registered while running") })
	})
	if d.Len() != 7 {
		t.Fatalf("Len = %d", d.Len())
	}
	d.Run()
	if got := strings.Join(order, ","); got != "outer,registered while running,5,4,3,2,1,0" {
		t.Fatalf("order %s", got)
	}
	if d.Len() != 0 {
		t.Fatalf("Len after Run = %d", d.Len())
	}
	d.Run() // nothing pending: nothing runs
	if len(order) != 8 {
		t.Fatal("a cleanup ran twice")
	}
}

func TestDeferDoesNotAllocateInline(t *testing.T) {
	var d Defers
	f := func() {}
	allocs := testing.AllocsPerRun(100, func() {
		d.Defer(f)
		d.Defer(f)
		d.Run()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Defer/Run", allocs)
	}
}

func TestWantOf(t *testing.T) {
	cases := map[error]Want{ErrWantRead: WantRead, ErrWantWrite: WantWrite, errors.New("other"): 0, nil: 0}
	for err, want := range cases {
		if got := WantOf(err); got != want {
			t.Errorf("WantOf(%v) = %v, want %v", err, got, want)
		}
	}
	for w, name := range map[Want]string{WantRead: "WantRead", WantWrite: "WantWrite", Done: "Done", Abort: "Abort", Finished: "Finished", 0: "Want(?)"} {
		if w.String() != name {
			t.Errorf("%d.String() = %q", w, w.String())
		}
	}
}
