package vmtest

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// consoleParser follows the guest's serial console: it forwards every line,
// and picks out the lines that start with the run's marker
// ("MARKER READY|BEGIN name|EXIT name status|SETUP-FAILED why|DONE").
type consoleParser struct {
	marker       string
	out          io.Writer
	results      map[string]*Result
	current      *Result
	output       strings.Builder
	last         []string
	setupFailure string
	done         bool
	// ready is closed when the guest's /init says READY.
	ready chan struct{}
}

// tailLines is how many console lines an error message quotes.
const tailLines = 30

func newConsoleParser(marker string, out io.Writer) *consoleParser {
	return &consoleParser{marker: marker, out: out, results: make(map[string]*Result), ready: make(chan struct{})}
}

// read consumes the console until EOF.
func (p *consoleParser) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		p.line(strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		p.line(fmt.Sprintf("vmtest: reading console: %v", err))
	}
	io.Copy(io.Discard, r) // let qemu finish writing if the scanner stopped early
}

func (p *consoleParser) line(l string) {
	fmt.Fprintln(p.out, l)
	p.last = append(p.last, l)
	if len(p.last) > tailLines {
		p.last = p.last[1:]
	}
	rest, ok := strings.CutPrefix(l, p.marker+" ")
	if !ok {
		if p.current != nil {
			p.output.WriteString(l + "\n")
		}
		return
	}
	f := strings.Fields(rest)
	switch {
	case len(f) == 0:
	case f[0] == "READY":
		select {
		case <-p.ready:
		default:
			close(p.ready)
		}
	case f[0] == "SETUP-FAILED":
		p.setupFailure = rest
	case f[0] == "DONE":
		p.done = true
	case f[0] == "BEGIN" && len(f) == 2:
		p.current = &Result{Name: f[1]}
		p.output.Reset()
	case f[0] == "EXIT" && len(f) == 3 && p.current != nil && p.current.Name == f[1]:
		code, err := strconv.Atoi(f[2])
		if err != nil {
			code = -1
		}
		p.current.ExitCode = code
		p.current.Output = p.output.String()
		p.results[f[1]] = p.current
		p.current = nil
	}
}

// tail formats the last console lines for an error message.
func (p *consoleParser) tail() string {
	if len(p.last) == 0 {
		return "; no console output"
	}
	return "; last console lines:\n\t" + strings.Join(p.last, "\n\t")
}
