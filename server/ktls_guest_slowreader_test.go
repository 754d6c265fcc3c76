//go:build vmguest

package server

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// TestKTLSGuestSlowReaderDownloadIsNotCut is TestSlowReaderDownloadIsNotCut
// on kernel TLS (TLS 1.3 and 1.2): the file goes out with sendfile, the
// kernel encrypting it, to a client that reads slowly through a small
// window; the connection ends with Connection: close or at the keep-alive
// timeout, and the file arrives whole, byte for byte. (On Linux 7.2 such
// downloads were also cut when sendfile returned 0 on a full socket.) The
// guest's TCP send buffers start at 4 MiB (tcp_wmem), so that the server
// is told its socket is writable again only after 1.4 MB have drained:
// 5 s at the client's 270 KB/s, more than the keep-alive timeout of 3 s
// (a margin for a guest that the loaded host stalls).
func TestKTLSGuestSlowReaderDownloadIsNotCut(t *testing.T) {
	setSysctl(t, "/proc/sys/net/ipv4/tcp_wmem", "4096 4194304 4194304")
	pace := slowPace{keepAlive: 3 * time.Second, pause: 60 * time.Millisecond}
	g := startGuestServerOptions(t, `ciphers = ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]`,
		Options{KeepAliveTimeout: pace.keepAlive})
	for _, v := range []struct {
		name    string
		version uint16
	}{{"TLS 1.3", tls.VersionTLS13}, {"TLS 1.2", tls.VersionTLS12}} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			slowDownloads(t, func(t *testing.T) net.Conn {
				return tlsSmallWindow(t, g.tlsAddr, &tls.Config{InsecureSkipVerify: true, MinVersion: v.version, MaxVersion: v.version})
			}, "/big.bin", g.site.big, pace)
		})
	}
}
