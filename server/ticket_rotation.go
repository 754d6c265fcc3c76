package server

import (
	"crypto/rand"
	"log/slog"
	"time"
)

// ticketRotationInterval is how often random session ticket keys are
// brought up to date. Keys rotate every 12 hours (ticket.DefaultSchedule);
// checking every minute keeps a key from issuing more than a minute late,
// and a late rotation never shortens a ticket: a replaced key opens tickets
// for its whole accept window from the moment it is replaced.
const ticketRotationInterval = time.Minute

// ticketRotation rotates the TLS listener's random ticket keys (those made
// in memory when there is no ticket_key_file) from one goroutine per
// server. The event loops cannot: an idle loop sleeps in epoll_wait with
// no tick at all. ticket.Keys.Rotate is safe beside the loops' Seal and
// Open, and leaves keys from a file alone.
type ticketRotation struct {
	quit chan struct{}
	done chan struct{}
}

// start begins rotating s's ticket keys, if it has a TLS listener.
func (r *ticketRotation) start(s *Server) {
	if s.tls == nil {
		return
	}
	r.quit, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		tick := time.NewTicker(ticketRotationInterval)
		defer tick.Stop()
		for {
			select {
			case <-r.quit:
				return
			case now := <-tick.C:
				s.rotateTicketKeys(now)
			}
		}
	}()
}

// stop ends the rotation and waits for it.
func (r *ticketRotation) stop() {
	if r.quit == nil {
		return
	}
	close(r.quit)
	<-r.done
	r.quit = nil
}

// rotateTicketKeys brings the current random ticket keys up to date at
// time now. A failure (the random source failed) keeps the current key
// issuing, and is logged.
func (s *Server) rotateTicketKeys(now time.Time) {
	keys := s.tls.settings.Load().config.TicketKeys
	if keys == nil {
		return
	}
	if err := keys.Rotate(rand.Reader, now); err != nil {
		slog.Error("session ticket keys not rotated; the current key keeps issuing", "err", err)
	}
}
