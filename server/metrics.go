package server

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"lwango/http1"
	"lwango/kernel"
	"lwango/tlsstate"
)

// loopMetrics are one loop's counters for the metrics handler. Only the
// loop writes them (counter, gauge); a scrape, which runs on whichever loop
// answers it, reads every loop's with atomic loads and sums them. Nothing
// here is shared between loops on the hot path.
type loopMetrics struct {
	tlsOpen    tlsGauges // TLS connections open, by who carries their records (plain is the rest)
	handshakes [maxHandshakeKinds]handshakeSlot
	// failures counts handshakes that ended with an alert, by direction
	// (0: sent, 1: received) and alert.
	failures [2][256]counter
	// requests by protocol (HTTP/1.0, HTTP/1.1, HTTP/2) and status class
	// (index 1..5 for 1xx..5xx, 0 for anything else).
	requests       [3][6]counter
	bytesWrite     counter // bytes sent with send/write (response heads and bodies, TLS records)
	bytesSendfile  counter // bytes sent with sendfile
	expiredRequest counter // request deadline passed (408)
	expiredHS      counter // TLS handshake not complete in time
	expiredProxy   counter // PROXY header not complete in time
	proxyRejected  [proxyRejectKinds]counter
}

// maxHandshakeKinds bounds the distinct (version, suite, group, resumed)
// combinations a loop counts apart; more fall into the last slot.
const maxHandshakeKinds = 32

// handshakeSlot counts the handshakes of one kind; key is 0 while unused.
type handshakeSlot struct {
	key atomic.Uint64 // version<<48 | suite<<32 | group<<16 | resumed, written once by the loop
	n   counter
}

// gauge is a loop-owned value that goes up and down (see counter).
type gauge struct{ v atomic.Int64 }

func (g *gauge) add(d int64) { g.v.Store(g.v.Load() + d) }
func (g *gauge) load() int64 { return g.v.Load() }

// handshake counts a completed handshake.
func (m *loopMetrics) handshake(s *tlsstate.Session) {
	resumed := uint64(0)
	if s.Resumed {
		resumed = 1
	}
	key := uint64(s.Version)<<48 | uint64(s.CipherSuite)<<32 | uint64(s.Group)<<16 | resumed
	for i := range m.handshakes {
		slot := &m.handshakes[i]
		switch k := slot.key.Load(); {
		case k == 0:
			slot.key.Store(key)
			fallthrough
		case k == key, i == len(m.handshakes)-1:
			slot.n.inc()
			return
		}
	}
}

// handshakeFailed counts a handshake that ended with an alert, by the alert
// and whether it was sent or received.
func (m *loopMetrics) handshakeFailed(f tlsstate.Failure) {
	if !f.HasAlert {
		return
	}
	direction := 1
	if f.Sent {
		direction = 0
	}
	m.failures[direction][f.Alert].inc()
}

// responded counts a response.
func (m *loopMetrics) responded(req *http1.Request, resp *http1.Response) {
	proto := 1
	if req != nil {
		proto = int(req.Minor)
		if req.HTTP2 {
			proto = 2
		}
	}
	class := resp.Status / 100
	if class > 5 {
		class = 0
	}
	m.requests[proto][class].inc()
}

// scrape writes every loop's metrics in Prometheus's text format.
func (s *Server) scrape() []byte {
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, labels string, v uint64) {
		fmt.Fprintf(&b, "%s{%s} %d\n", name, labels, v)
	}

	family("lwango_connections_open", "gauge", "Connections open, by loop and transport (plain, tls: records in user space, ktls: kernel TLS).")
	for _, w := range s.workers {
		ls := w.loop.Stats()
		tls, ktls := w.metrics.tlsOpen.userSpace(), w.metrics.tlsOpen.inKernel()
		plain := int64(ls.Accepted.Load()+ls.Adopted.Load()-ls.Closed.Load()-ls.Refused.Load()) - tls - ktls
		loop := strconv.Itoa(w.loop.ID())
		sample("lwango_connections_open", `loop="`+loop+`",transport="plain"`, uint64(max(plain, 0)))
		sample("lwango_connections_open", `loop="`+loop+`",transport="tls"`, uint64(max(tls, 0)))
		sample("lwango_connections_open", `loop="`+loop+`",transport="ktls"`, uint64(max(ktls, 0)))
	}

	family("lwango_tls_handshakes_total", "counter", "Completed TLS handshakes, by version, cipher suite, key exchange group and whether a session was resumed.")
	hs := map[uint64]uint64{}
	for _, w := range s.workers {
		for i := range w.metrics.handshakes {
			slot := &w.metrics.handshakes[i]
			if k := slot.key.Load(); k != 0 {
				hs[k] += slot.n.load()
			}
		}
	}
	for _, k := range sortedKeys(hs) {
		version := tlsVersionName(uint16(k >> 48))
		group := "none"
		if g := tlsstate.Group(k >> 16); g != 0 {
			group = g.String()
		}
		sample("lwango_tls_handshakes_total", fmt.Sprintf(`version=%q,suite=%q,group=%q,resumed="%t"`,
			version, tlsstate.CipherSuite(k>>32).String(), group, k&1 == 1), hs[k])
	}

	family("lwango_upgrade_adopted_connections_total", "counter", "Connections taken over from the process this one upgraded (SIGUSR2), by transport and, on kernel TLS, TLS version and cipher suite.")
	kinds, counts := s.adopted.snapshot()
	for i, k := range kinds {
		labels := `transport="plain"`
		if k.kind == handedKTLS {
			labels = fmt.Sprintf(`transport="ktls",version=%q,suite=%q`, tlsVersionName(k.version), k.suite.String())
		}
		sample("lwango_upgrade_adopted_connections_total", labels, counts[i])
	}

	family("lwango_tls_handshake_failures_total", "counter", "TLS handshakes that ended with an alert, by direction (sent or received) and alert.")
	for dir, name := range [2]string{"sent", "received"} {
		for a := range 256 {
			var n uint64
			for _, w := range s.workers {
				n += w.metrics.failures[dir][a].load()
			}
			if n > 0 {
				sample("lwango_tls_handshake_failures_total", fmt.Sprintf(`direction=%q,alert=%q`, name, tlsstate.Alert(a).String()), n)
			}
		}
	}

	family("lwango_http_requests_total", "counter", "Responses, by protocol and status class.")
	for p, proto := range [3]string{"HTTP/1.0", "HTTP/1.1", "HTTP/2"} {
		for class := range 6 {
			var n uint64
			for _, w := range s.workers {
				n += w.metrics.requests[p][class].load()
			}
			if n > 0 {
				label := "other"
				if class > 0 {
					label = strconv.Itoa(class) + "xx"
				}
				sample("lwango_http_requests_total", fmt.Sprintf(`protocol=%q,class=%q`, proto, label), n)
			}
		}
	}

	family("lwango_bytes_sent_total", "counter", "Bytes sent to clients, by system call (write: send of bytes and TLS records; sendfile).")
	var write, sendfile uint64
	for _, w := range s.workers {
		write += w.metrics.bytesWrite.load()
		sendfile += w.metrics.bytesSendfile.load()
	}
	sample("lwango_bytes_sent_total", `method="write"`, write)
	sample("lwango_bytes_sent_total", `method="sendfile"`, sendfile)

	family("lwango_timeouts_total", "counter", "Connections closed by a timeout, by kind.")
	var request, handshake, proxy, all uint64
	for _, w := range s.workers {
		request += w.metrics.expiredRequest.load()
		handshake += w.metrics.expiredHS.load()
		proxy += w.metrics.expiredProxy.load()
		all += w.loop.Stats().Expired.Load()
	}
	keepAlive := all - min(all, request+handshake+proxy) // the loop's other timeouts are idle keep-alive ones
	sample("lwango_timeouts_total", `kind="request_deadline"`, request)
	sample("lwango_timeouts_total", `kind="keep_alive"`, keepAlive)
	sample("lwango_timeouts_total", `kind="handshake"`, handshake)
	sample("lwango_timeouts_total", `kind="proxy_header"`, proxy)

	family("lwango_proxy_protocol_rejected_total", "counter", "Connections closed without a response for their PROXY protocol header, by reason.")
	for k := range proxyRejectKinds {
		var n uint64
		for _, w := range s.workers {
			n += w.metrics.proxyRejected[k].load()
		}
		sample("lwango_proxy_protocol_rejected_total", fmt.Sprintf("reason=%q", proxyRejectNames[k]), n)
	}

	family("lwango_reloads_total", "counter", "Configuration reloads, by result.")
	sample("lwango_reloads_total", `result="ok"`, s.reloadsOK.Load())
	sample("lwango_reloads_total", `result="refused"`, s.reloadsRefused.Load())

	if stats, err := kernel.TLSStats(); err == nil {
		family("lwango_kernel_tls_current", "gauge", "The kernel's /proc/net/tls_stat gauges (TlsCurr*).")
		for _, name := range sortedKeys(stats) {
			if strings.HasPrefix(name, "TlsCurr") {
				sample("lwango_kernel_tls_current", fmt.Sprintf("stat=%q", name), stats[name])
			}
		}
		family("lwango_kernel_tls_total", "counter", "The kernel's /proc/net/tls_stat counters.")
		for _, name := range sortedKeys(stats) {
			if !strings.HasPrefix(name, "TlsCurr") {
				sample("lwango_kernel_tls_total", fmt.Sprintf("stat=%q", name), stats[name])
			}
		}
	}
	return []byte(b.String())
}

func sortedKeys[K uint64 | string](m map[K]uint64) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// tlsVersionName is a TLS version as the metrics' labels give it.
func tlsVersionName(v uint16) string {
	if v == tlsstate.VersionTLS13 {
		return "1.3"
	}
	return "1.2"
}
