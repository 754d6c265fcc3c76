package server

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"time"
)

// loopLogSize bounds the access-log bytes one loop holds for the writer:
// about 600 lines. Past it a loop drops lines instead of waiting.
const loopLogSize = 64 << 10

// maxLogStopWait bounds how long Shutdown waits for the log writer to
// write what the loops left, should the sink have stopped draining.
const maxLogStopWait = time.Second

// logLines is one loop's share of the access log: whole lines, at most
// loopLogSize bytes.
type logLines = share[byte]

// share is what one loop queued for a log writer (the bytes of whole
// lines, or log records), at most its capacity. The lock is held for a
// copy (by the loop) or a swap (by the writer), never across a write, so a
// loop never waits on the sink.
type share[T any] struct {
	mu      sync.Mutex
	buf     []T
	dropped uint64 // entries that did not fit since the writer last looked
	wake    chan<- struct{}
}

func newShare[T any](capacity int, wake chan<- struct{}) *share[T] {
	return &share[T]{buf: make([]T, 0, capacity), wake: wake}
}

// add queues one entry (a line's bytes, a record), or counts it as dropped
// when the loop's share is full because the sink is not keeping up.
func (l *share[T]) add(entry ...T) {
	l.mu.Lock()
	wasEmpty := len(l.buf) == 0
	if len(l.buf)+len(entry) > cap(l.buf) {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.buf = append(l.buf, entry...)
	l.mu.Unlock()
	if wasEmpty {
		select {
		case l.wake <- struct{}{}:
		default: // the writer is already awake
		}
	}
}

// take swaps in spare (empty, of the same capacity) for what the loop
// queued, and returns that and how many entries were dropped since.
func (l *share[T]) take(spare []T) (queued []T, dropped uint64) {
	l.mu.Lock()
	queued, l.buf = l.buf, spare
	dropped, l.dropped = l.dropped, 0
	l.mu.Unlock()
	return queued, dropped
}

// logWriter is the one goroutine that writes the loops' access-log lines to
// the sink (standard output by default). When a write blocks (a pipe nobody
// reads, a slow disk) only this goroutine waits: the loops fill their
// shares and then drop lines, counted, and once a second the writer adds
// "access log: N lines dropped" to the log. A write that fails (the reader
// of a pipe has gone: EPIPE) drops its lines the same way.
type logWriter struct {
	sinkRunner
	w     io.Writer
	loops []*logLines

	spare   []byte // the buffer swapped in for a loop's full one
	dropped uint64 // lines dropped since the last report
	report  []byte
}

var newline = []byte{'\n'}

func newLogWriter(w io.Writer) *logWriter {
	return &logWriter{sinkRunner: newSinkRunner(), w: w, spare: make([]byte, 0, loopLogSize)}
}

// forLoop makes the share of one more loop. Call it before start.
func (lw *logWriter) forLoop() *logLines {
	l := newShare[byte](loopLogSize, lw.wake)
	lw.loops = append(lw.loops, l)
	return l
}

// start runs the writer until close.
func (lw *logWriter) start() { lw.sinkRunner.start(lw.drain, lw.reportDropped) }

// drain writes every loop's queued lines, one write per loop.
func (lw *logWriter) drain() {
	for _, l := range lw.loops {
		lines, dropped := l.take(lw.spare)
		lw.dropped += dropped
		if len(lines) > 0 {
			if _, err := lw.w.Write(lines); err != nil {
				lw.dropped += uint64(bytes.Count(lines, newline))
			}
		}
		lw.spare = lines[:0]
	}
}

// reportDropped logs how many lines were dropped since the last report.
func (lw *logWriter) reportDropped() {
	if lw.dropped == 0 {
		return
	}
	b := append(lw.report[:0], "access log: "...)
	b = strconv.AppendUint(b, lw.dropped, 10)
	b = append(b, " lines dropped (the log sink did not keep up)\n"...)
	lw.report = b
	if _, err := lw.w.Write(b); err == nil {
		lw.dropped = 0
	}
}

// sinkRunner is the goroutine of a log writer: it drains the loops' shares
// when one wakes it (a share that was empty got a line), and once a second
// drains them and reports what was dropped; close drains and reports one
// last time. Only this goroutine ever waits on the sink.
type sinkRunner struct {
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	started bool
}

func newSinkRunner() sinkRunner {
	return sinkRunner{wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
}

// start runs drain and report until close.
func (r *sinkRunner) start(drain, report func()) {
	r.started = true
	go func() {
		defer close(r.stopped)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-r.wake:
				drain()
			case <-tick.C:
				drain()
				report()
			case <-r.stop:
				drain()
				report()
				return
			}
		}
	}()
}

// close has the writer write what the loops left and stop, waiting at most
// maxLogStopWait for a sink that does not drain.
func (r *sinkRunner) close() {
	if !r.started {
		return
	}
	close(r.stop)
	select {
	case <-r.stopped:
	case <-time.After(maxLogStopWait):
	}
}
