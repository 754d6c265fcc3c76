//go:build vmguest

package server

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// TestKTLSGuestSlowReaderDownloadIsNotCut is TestSlowReaderDownloadIsNotCut
// on kernel TLS (TLS 1.3): the file goes out with sendfile, the kernel
// encrypting it, to a client that reads slowly through a small window; the
// connection ends with Connection: close or at the keep-alive timeout, and
// the file arrives whole, byte for byte. (On Linux 7.2 such downloads were
// also cut when sendfile returned 0 on a full socket.) The guest's TCP
// send buffers start at 4 MiB (tcp_wmem), so that the server is told its
// socket is writable again only after more than a megabyte has drained:
// 7 s or more at the client's 160 KB/s, more than the keep-alive timeout of
// 5 s, which is a margin for a guest that the loaded host stalls.
func TestKTLSGuestSlowReaderDownloadIsNotCut(t *testing.T) {
	setSysctl(t, "/proc/sys/net/ipv4/tcp_wmem", "4096 4194304 4194304")
	pace := slowPace{keepAlive: 5 * time.Second, pause: 100 * time.Millisecond}
	g := startGuestServerOptions(t, `ciphers = ["TLS_AES_128_GCM_SHA256"]`, Options{KeepAliveTimeout: pace.keepAlive})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", g.log.String())
		}
	})
	slowDownloads(t, func(t *testing.T) net.Conn {
		return tlsSmallWindow(t, g.tlsAddr, &tls.Config{InsecureSkipVerify: true})
	}, "/big.bin", g.site.big, pace)
}
