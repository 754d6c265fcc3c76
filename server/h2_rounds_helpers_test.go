package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2"
)

// h2Rounds drives an HTTP/2 connection with streams always in flight, for
// tests of a connection that must end gracefully on the server's side
// (RFC 9113 §6.8): three streams (1, 3, 5) whose 16 KiB initial windows the
// client does not open again until it is told to finish, so that each is
// still in flight, a record or more of its body sent, whenever the server
// decides to end; and rounds of two more streams whose windows are opened
// wide, each round after the last one ended. Every stream GETs path, whose
// body must arrive whole. Any RST_STREAM fails the test, as does any frame
// on a stream above the last stream id of the server's GOAWAY.
//
// The client's SETTINGS must set SETTINGS_INITIAL_WINDOW_SIZE to 16384
// (startH2 with h2SmallWindow).
type h2Rounds struct {
	t      testing.TB
	r      *h2Raw
	path   string
	want   []byte
	bodies map[uint32][]byte
	status map[uint32]string
	ended  map[uint32]bool
	next   uint32 // the stream id the client opens next
	// goAway is the server's GOAWAY, once it arrived. heard is the highest
	// stream a frame arrived on before it; inFlight counts the streams at
	// or below its last stream id that were open when it arrived.
	goAway   *http2.GoAwayFrame
	heard    uint32
	inFlight int
	// afterGoAway is the stream the client opened once it had the GOAWAY
	// (which the server must not answer); 0 if none.
	afterGoAway uint32
	rounds      int
}

// h2SmallWindow is the client setting h2Rounds needs.
var h2SmallWindow = http2.Setting{ID: http2.SettingInitialWindowSize, Val: 16384}

// h2Starved is how many streams h2Rounds holds at their initial window.
const h2Starved = 3

// newH2Rounds opens the connection window wide and the starved streams.
func newH2Rounds(t testing.TB, r *h2Raw, path string, want []byte) *h2Rounds {
	h := &h2Rounds{t: t, r: r, path: path, want: want, bodies: map[uint32][]byte{},
		status: map[uint32]string{}, ended: map[uint32]bool{}, next: 1}
	if err := r.fr.WriteWindowUpdate(0, 1<<30); err != nil {
		t.Fatal(err)
	}
	for range h2Starved {
		h.open(false)
	}
	return h
}

// open sends a GET on the next stream id; wide opens its window to 1 MiB
// more at once.
func (h *h2Rounds) open(wide bool) uint32 {
	h.t.Helper()
	id := h.next
	h.next += 2
	h.r.headers(id, true, getFields(h.path)...)
	if wide {
		if err := h.r.fr.WriteWindowUpdate(id, 1<<20); err != nil {
			h.t.Fatal(err)
		}
	}
	return id
}

// live reports whether stream id may still get frames: opened, not ended,
// and at or below the GOAWAY's last stream id once one arrived.
func (h *h2Rounds) live(id uint32) bool {
	return id < h.next && !h.ended[id] && (h.goAway == nil || id <= h.goAway.LastStreamID)
}

// read reads one frame and acts on it.
func (h *h2Rounds) read() {
	h.t.Helper()
	f, err := h.r.fr.ReadFrame()
	if err != nil {
		var open []string
		for s := uint32(1); s < h.next; s += 2 {
			if h.live(s) {
				open = append(open, fmt.Sprintf("%d (%d of %d bytes)", s, len(h.bodies[s]), len(h.want)))
			}
		}
		h.t.Fatalf("reading a frame after %d rounds, GOAWAY %v: %v; streams in flight: %s", h.rounds, h.goAway != nil, err, strings.Join(open, ", "))
	}
	id := f.Header().StreamID
	if id != 0 && h.goAway != nil && id > h.goAway.LastStreamID {
		h.t.Fatalf("%T on stream %d, above the last stream %d of the server's GOAWAY", f, id, h.goAway.LastStreamID)
	}
	if id != 0 && h.goAway == nil {
		h.heard = max(h.heard, id)
	}
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		h.status[id] = f.PseudoValue("status")
		if f.StreamEnded() {
			h.end(id)
		}
	case *http2.DataFrame:
		h.bodies[id] = append(h.bodies[id], f.Data()...)
		if f.StreamEnded() {
			h.end(id)
		}
	case *http2.RSTStreamFrame:
		h.t.Fatalf("RST_STREAM %v on stream %d (%d of %d bytes received)", f.ErrCode, id, len(h.bodies[id]), len(h.want))
	case *http2.GoAwayFrame:
		if h.goAway != nil {
			h.t.Fatalf("a second GOAWAY (%v, last stream %d)", f.ErrCode, f.LastStreamID)
		}
		if f.ErrCode != http2.ErrCodeNo {
			h.t.Fatalf("GOAWAY %v (debug %q), want NO_ERROR", f.ErrCode, f.DebugData())
		}
		g := *f
		h.goAway = &g
		for s := uint32(1); s < h.next; s += 2 {
			if s <= g.LastStreamID && !h.ended[s] {
				h.inFlight++
			}
		}
	}
}

// end checks the response that stream id ended.
func (h *h2Rounds) end(id uint32) {
	h.t.Helper()
	if h.ended[id] {
		h.t.Fatalf("stream %d ended twice", id)
	}
	h.ended[id] = true
	if h.status[id] != "200" || !bytes.Equal(h.bodies[id], h.want) {
		h.t.Fatalf("stream %d: status %q, %d bytes of %d, equal %v", id, h.status[id], len(h.bodies[id]), len(h.want), bytes.Equal(h.bodies[id], h.want))
	}
}

// run plays rounds until the server's GOAWAY arrives or stop says so,
// failing after maxRounds.
func (h *h2Rounds) run(maxRounds int, stop func() bool) {
	h.t.Helper()
	for h.goAway == nil && !stop() {
		if h.rounds == maxRounds {
			h.t.Fatalf("%d rounds and the server did not end the connection", maxRounds)
		}
		h.rounds++
		a, b := h.open(true), h.open(true)
		for h.goAway == nil && (h.live(a) || h.live(b)) {
			h.read()
		}
	}
}

// finish completes every stream the server accepted: after a GOAWAY it
// first opens one more stream (the server must ignore it: its id is above
// the last stream), then it opens the windows of the starved streams and
// reads until each accepted stream has ended.
func (h *h2Rounds) finish() {
	h.t.Helper()
	if h.goAway != nil {
		h.afterGoAway = h.open(true)
	}
	for id := uint32(1); id < 2*h2Starved; id += 2 {
		if err := h.r.fr.WriteWindowUpdate(id, 1<<20); err != nil {
			h.t.Fatal(err)
		}
	}
	for {
		open := false
		for s := uint32(1); s < h.next; s += 2 {
			open = open || h.live(s)
		}
		if !open {
			return
		}
		h.read()
	}
}

// checkGoAway checks the GOAWAY against what the client saw: it names
// every stream the server had answered when it was sent, none the client
// had not opened, and came while the starved streams were in flight.
func (h *h2Rounds) checkGoAway() {
	h.t.Helper()
	g := h.goAway
	switch {
	case g == nil:
		h.t.Fatal("no GOAWAY")
	case g.LastStreamID < h.heard || g.LastStreamID >= h.next || g.LastStreamID%2 == 0:
		h.t.Fatalf("GOAWAY's last stream %d: a frame arrived on stream %d before it, and the client opened streams 1 to %d", g.LastStreamID, h.heard, h.next-2)
	case h.inFlight < h2Starved:
		h.t.Fatalf("GOAWAY with %d streams in flight, want at least the %d starved ones", h.inFlight, h2Starved)
	}
}

// frameAfterEnd reads what follows the last stream: nothing is allowed but
// the end of the connection (PING, SETTINGS and WINDOW_UPDATE frames
// aside). It returns the error that ended the reading.
func (h *h2Rounds) frameAfterEnd() error {
	h.t.Helper()
	for {
		f, err := h.r.fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f.(type) {
		case *http2.PingFrame, *http2.SettingsFrame, *http2.WindowUpdateFrame:
		default:
			h.t.Fatalf("%T on stream %d after every accepted stream ended", f, f.Header().StreamID)
		}
	}
}
