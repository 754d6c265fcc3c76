package server

import (
	"context"
	"log/slog"
)

// loopSlogRecords bounds the server log records (a failed handshake, a
// kernel TLS notice) one loop holds for the writer. Past it a loop drops
// records instead of waiting.
const loopSlogRecords = 256

// slogWriter hands the log records the loops make (failed handshakes,
// kernel TLS notices: slog lines about one connection) to the server's
// logger from one goroutine, as logWriter does for the access log: a loop
// only queues a record in its own share, under a lock held for an append
// or a swap, never across a write. When the logger's sink stops draining
// (standard error is a pipe nobody reads) only the writer waits; the loops
// fill their shares, then drop records, counted, and once a second the
// writer logs "server log: records dropped" with the count.
type slogWriter struct {
	sinkRunner
	base  *slog.Logger // where the records go
	loops []*slogQueue

	spare   []queuedRecord
	dropped uint64 // records dropped since the last report
}

// slogQueue is one loop's share: records waiting for the writer.
type slogQueue = share[queuedRecord]

// queuedRecord is a record and the handler (with its attributes and
// groups) it was made for.
type queuedRecord struct {
	h slog.Handler
	r slog.Record
}

func newSlogWriter(base *slog.Logger) *slogWriter {
	return &slogWriter{sinkRunner: newSinkRunner(), base: base, spare: make([]queuedRecord, 0, loopSlogRecords)}
}

// forLoop returns the logger of one more loop: it decides what is enabled
// as base does and queues the rest for the writer. Call it before start.
func (sw *slogWriter) forLoop() *slog.Logger {
	q := newShare[queuedRecord](loopSlogRecords, sw.wake)
	sw.loops = append(sw.loops, q)
	return slog.New(loopHandler{base: sw.base.Handler(), q: q})
}

// start runs the writer until close.
func (sw *slogWriter) start() { sw.sinkRunner.start(sw.drain, sw.reportDropped) }

// drain hands every loop's queued records to their handlers.
func (sw *slogWriter) drain() {
	for _, q := range sw.loops {
		recs, dropped := q.take(sw.spare)
		sw.dropped += dropped
		for i := range recs {
			if recs[i].h.Handle(context.Background(), recs[i].r) != nil {
				sw.dropped++
			}
			recs[i] = queuedRecord{}
		}
		sw.spare = recs[:0]
	}
}

// reportDropped logs how many records were dropped since the last report.
func (sw *slogWriter) reportDropped() {
	if sw.dropped == 0 {
		return
	}
	sw.base.Warn("server log: records dropped (the log sink did not keep up)", "count", sw.dropped)
	sw.dropped = 0
}

// loopHandler is a loop's slog.Handler: it asks the server's handler what
// is enabled, and queues each record for the writer instead of writing it.
type loopHandler struct {
	base slog.Handler
	q    *slogQueue
}

func (h loopHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.base.Enabled(ctx, level)
}

func (h loopHandler) Handle(_ context.Context, r slog.Record) error {
	h.q.add(queuedRecord{h: h.base, r: r.Clone()})
	return nil
}

func (h loopHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return loopHandler{base: h.base.WithAttrs(attrs), q: h.q}
}

func (h loopHandler) WithGroup(name string) slog.Handler {
	return loopHandler{base: h.base.WithGroup(name), q: h.q}
}
