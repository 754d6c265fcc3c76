package kernel

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// tlsStatPath holds the kernel TLS counters of the current network namespace;
// it exists only while the tls module is loaded.
const tlsStatPath = "/proc/net/tls_stat"

// TLSStats reads /proc/net/tls_stat: counters such as TlsCurrTxSw and
// TlsCurrRxSw (sockets now using software kTLS in each direction), TlsTxSw and
// TlsRxSw (such sockets ever set up), TlsDecryptError and TlsRxNoPadViolation.
// The error wraps fs.ErrNotExist when the kernel has no TLS module loaded.
func TLSStats() (map[string]uint64, error) {
	text, err := os.ReadFile(tlsStatPath)
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	return parseTLSStats(string(text))
}

// parseTLSStats parses lines of "Name<whitespace>value".
func parseTLSStats(text string) (map[string]uint64, error) {
	stats := make(map[string]uint64)
	for line := range strings.Lines(text) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("kernel: %s: malformed line %q", tlsStatPath, line)
		}
		v, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("kernel: %s: %s: %w", tlsStatPath, fields[0], err)
		}
		stats[fields[0]] = v
	}
	return stats, nil
}

// RekeySupported reports whether the kernel accepts new TLS 1.3 keys on a
// socket that already has some (KeyUpdate support, Linux 6.14 and later),
// judged by the rekey counters that came with it (TlsRxRekeyOk). Without it a
// second InstallTX/InstallRX fails with EBUSY, and a peer's KeyUpdate makes
// the following records fail with EBADMSG.
func RekeySupported() bool {
	stats, err := TLSStats()
	if err != nil {
		return false
	}
	_, ok := stats["TlsRxRekeyOk"]
	return ok
}
