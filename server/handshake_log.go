package server

import (
	"log/slog"
	"net/netip"
	"time"

	"lwango/tlsstate"
)

// handshakeFailure is what a TLS transport's Handshake returns when the
// handshake is over without a session: the alert (sent or received) and
// why, for the log line and, later, a metrics counter. The connection then
// closes gracefully, so that an alert sent has a chance to arrive.
type handshakeFailure struct {
	tlsstate.Failure
}

func (f *handshakeFailure) Error() string {
	msg := "tls: handshake failed"
	if f.HasAlert {
		msg += ": " + f.Direction() + " " + f.Alert.String()
	}
	if f.Reason != "" {
		msg += ": " + f.Reason
	}
	return msg
}

// Handshake-failure log limits, per loop: a burst, then a steady rate. A
// scan of the port costs a few lines and one "suppressed" count, not a
// line per probe.
const (
	handshakeLogBurst = 20
	handshakeLogEvery = 100 * time.Millisecond
)

// handshakeLog writes one line per failed handshake, rate-limited with a
// token bucket; the lines it drops are counted and reported with the next
// line it writes. Each loop has its own: no lock.
type handshakeLog struct {
	log        *slog.Logger
	tokens     int
	last       time.Time
	suppressed int
	peer       []byte
}

func newHandshakeLog(log *slog.Logger) *handshakeLog {
	return &handshakeLog{log: log, tokens: handshakeLogBurst}
}

// allow takes a token if there is one, refilling by the time passed.
func (h *handshakeLog) allow(now time.Time) bool {
	if refill := int(now.Sub(h.last) / handshakeLogEvery); refill > 0 {
		h.tokens = min(handshakeLogBurst, h.tokens+refill)
		h.last = now
	}
	if h.tokens == 0 {
		h.suppressed++
		return false
	}
	h.tokens--
	return true
}

// failed logs a failed handshake of the client at peer (the address a
// PROXY protocol header carried, else the socket's peer).
func (h *handshakeLog) failed(peer netip.AddrPort, f *handshakeFailure, now time.Time) {
	if !h.allow(now) {
		return
	}
	if h.suppressed > 0 {
		h.log.Info("tls: handshake failure lines suppressed", "count", h.suppressed)
		h.suppressed = 0
	}
	h.peer = h.peer[:0]
	if peer.IsValid() {
		h.peer = peer.Addr().AppendTo(h.peer)
	} else {
		h.peer = append(h.peer, '-')
	}
	alert := "-"
	if f.HasAlert {
		alert = f.Alert.String()
	}
	sni := f.ServerName
	if sni == "" {
		sni = "-"
	}
	h.log.Info("tls: handshake failed", "peer", string(h.peer), "alert", alert, "direction", f.Direction(),
		"reason", f.Reason, "version", tlsstate.VersionName(f.Version), "sni", sni)
}
