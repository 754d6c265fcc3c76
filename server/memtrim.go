package server

import (
	"runtime/debug"
	"runtime/metrics"
	"time"

	"lwango/loop"
)

// trimWorthwhile is how much memory the Go heap must hold beyond what is
// in use before a trim returns it to the OS: below it, a forced collection
// costs more than it gives back.
const trimWorthwhile = 4 << 20

// memoryTrim gives back what a wave of connections left behind. Every
// period it has each loop drop the buffers its pools kept unused since the
// last period (loop.Pool.Trim) and waits for the loops. Then, if enough
// memory may have become free since the last period (connections closed,
// pooled buffers dropped, or garbage and free heap the collector already
// knows of), it collects and returns it to the OS (debug.FreeOSMemory).
// A burst's buffers are thus back with the OS within two periods.
type memoryTrim struct {
	quit chan struct{}
	done chan struct{}
}

func (m *memoryTrim) start(s *Server, period time.Duration) {
	if period <= 0 {
		return
	}
	m.quit, m.done = make(chan struct{}), make(chan struct{})
	perConn := uint64(2 * s.cfg.RequestBufferSize) // an exchange's buffers
	go func() {
		defer close(m.done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		st := s.Stats()
		open := st.Accepted - st.Closed
		for {
			select {
			case <-tick.C:
			case <-m.quit:
				return
			}
			trimmed := make(chan int, len(s.workers))
			s.group.Post(func(l *loop.Loop[conn]) { trimmed <- s.workers[l.ID()].trim() })
			var dropped uint64 // bytes
			for range s.workers {
				select {
				case n := <-trimmed:
					dropped += uint64(n)
				case <-m.quit:
					return
				}
			}
			st := s.Stats()
			wasOpen := open
			open = st.Accepted - st.Closed
			if closed := wasOpen - min(open, wasOpen); reclaimable()+dropped+closed*perConn >= trimWorthwhile {
				debug.FreeOSMemory()
			}
		}
	}()
}

// stop ends the trimming and waits for it.
func (m *memoryTrim) stop() {
	if m.quit != nil {
		close(m.quit)
		<-m.done
	}
}

// reclaimable is what a collection and a scavenge would give back: heap
// objects not live at the last collection (garbage, or allocated since)
// and free heap memory not yet returned to the OS.
func reclaimable() uint64 {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(samples)
	objects, live, free := samples[0].Value.Uint64(), samples[1].Value.Uint64(), samples[2].Value.Uint64()
	return free + objects - min(live, objects)
}

// trim drops the pooled objects the loop has not needed since the last
// trim and reports about how many bytes of buffers it dropped (exchanges'
// request and response buffers, TLS buffers). It runs on the loop's thread.
func (w *worker) trim() int {
	w.conns.Trim()
	return w.exchanges.Trim()*2*w.srv.cfg.RequestBufferSize + w.tlsBufs.trim()
}
