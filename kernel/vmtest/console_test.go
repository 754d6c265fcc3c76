package vmtest

import (
	"io"
	"strings"
	"testing"
)

func TestConsoleParserPicksOutMarkers(t *testing.T) {
	console := strings.Join([]string{
		"[    0.1] early kernel line",
		"M READY 6.1.0",
		"M BEGIN a.test",
		"=== RUN   TestX",
		"M EXIT a.test 0\r",
		"M BEGIN b.test",
		"fake: M EXIT b.test 0 (not at line start)",
		"M EXIT b.test 3",
		"M BEGIN c.test",
		"M DONE",
	}, "\n")
	p := newConsoleParser("M", io.Discard)
	p.read(strings.NewReader(console))
	if !p.done || p.setupFailure != "" {
		t.Fatalf("done %v, setup failure %q", p.done, p.setupFailure)
	}
	select {
	case <-p.ready:
	default:
		t.Error("READY not seen")
	}
	if r := p.results["a.test"]; r == nil || r.ExitCode != 0 || r.Output != "=== RUN   TestX\n" {
		t.Errorf("a.test: %+v", r)
	}
	if r := p.results["b.test"]; r == nil || r.ExitCode != 3 || !strings.Contains(r.Output, "not at line start") {
		t.Errorf("b.test: %+v", r)
	}
	if r, ok := p.results["c.test"]; ok {
		t.Errorf("c.test never exited but has result %+v", r)
	}

	p = newConsoleParser("M", io.Discard)
	p.read(strings.NewReader("[    0.2] a boot that stops here\n"))
	select {
	case <-p.ready:
		t.Error("READY seen in a boot that never said it")
	default:
	}

	p = newConsoleParser("M", io.Discard)
	p.read(strings.NewReader("M SETUP-FAILED modprobe tls\nM READY\nM DONE\n"))
	if p.setupFailure != "SETUP-FAILED modprobe tls" {
		t.Errorf("setup failure %q", p.setupFailure)
	}
}
