package kernel

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// These tests run on the host (no kTLS here: CONFIG_TLS unset) and, unchanged,
// in the QEMU guest of kernel/vmtest (tls.ko loaded). What they expect is
// decided by /proc/net/tls_stat, which only the tls module creates.

// kernelHasTLS reports whether the tls module is loaded in this kernel.
func kernelHasTLS(t *testing.T) bool {
	t.Helper()
	_, err := os.Stat(tlsStatPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// testPair returns a connected loopback TCP pair closed at the end of the test.
func testPair(t *testing.T) (client, server int) {
	t.Helper()
	client, server, err := ulpProbePair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(client); unix.Close(server) })
	return client, server
}

func TestKTLSULPAvailableMatchesKernel(t *testing.T) {
	ok, reason := ULPAvailable()
	t.Logf("ULPAvailable: %v, %q", ok, reason)
	if want := kernelHasTLS(t); ok != want {
		t.Fatalf("ULPAvailable = %v, but %s exists = %v", ok, tlsStatPath, want)
	}
	if ok {
		if !strings.HasPrefix(reason, "kernel TLS available") || !strings.Contains(reason, "tls") {
			t.Errorf("reason %q", reason)
		}
		return
	}
	if !strings.HasPrefix(reason, "tls ULP not available: modprobe tls") || !strings.Contains(reason, "no such file or directory") {
		t.Errorf("reason %q should say to modprobe tls and give the errno", reason)
	}
}

func TestKTLSEnableULPErrno(t *testing.T) {
	_, server := testPair(t)
	err := EnableULP(server)
	if kernelHasTLS(t) {
		if err != nil {
			t.Fatalf("EnableULP with tls.ko loaded: %v", err)
		}
		if err := EnableULP(server); err != nil {
			t.Errorf("second EnableULP: %v", err)
		}
		return
	}
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("EnableULP without tls module: %v, want ENOENT", err)
	}
	unconnected, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(unconnected)
	if err := EnableULP(unconnected); err == nil {
		t.Error("EnableULP accepted an unconnected socket")
	}
}

func TestKTLSInstallZeroesCryptoInfo(t *testing.T) {
	keys := func() *CryptoInfo {
		k, err := TLS13Keys(TLS_CIPHER_AES_GCM_256, seqBytes(1, 32), seqBytes(100, 12), 0)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	install := func(fd, direction int, k *CryptoInfo) error {
		var buf [maxCryptoInfoSize]byte
		for i := range buf {
			buf[i] = 0xff // a marshalling that never happened would leave this
		}
		err := installKeys(fd, direction, k, &buf)
		if buf != [maxCryptoInfoSize]byte{} {
			t.Errorf("crypto_info buffer not zeroed after installKeys (err %v): %x", err, buf)
		}
		return err
	}

	_, server := testPair(t)
	// Failure in the kernel: SOL_TLS without the tls ULP is not a TCP option.
	if err := install(server, TLS_TX, keys()); !errors.Is(err, unix.ENOPROTOOPT) {
		t.Errorf("TLS_TX without ULP: %v, want ENOPROTOOPT", err)
	}
	// Failure before the kernel: invalid keys.
	invalid := keys()
	invalid.Key = invalid.Key[:16]
	if err := install(server, TLS_TX, invalid); err == nil {
		t.Error("16-byte key accepted for AES-256-GCM")
	}
	if !kernelHasTLS(t) {
		return
	}
	// Success.
	if err := EnableULP(server); err != nil {
		t.Fatal(err)
	}
	if err := install(server, TLS_TX, keys()); err != nil {
		t.Errorf("TLS_TX: %v", err)
	}
	if err := install(server, TLS_RX, keys()); err != nil {
		t.Errorf("TLS_RX: %v", err)
	}
	// New keys on a socket that has some: a TLS 1.3 KeyUpdate.
	err := install(server, TLS_TX, keys())
	if RekeySupported() {
		if err != nil {
			t.Errorf("TLS_TX rekey on a kernel with rekey counters: %v", err)
		}
	} else if !errors.Is(err, unix.EBUSY) {
		t.Errorf("second TLS_TX without kernel rekey support: %v, want EBUSY", err)
	}
}

func TestKTLSRecvRecordOnPlainTCPIsApplicationData(t *testing.T) {
	client, server := testPair(t)
	if _, err := unix.Write(client, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	cmsg := make([]byte, RecordTypeCmsgSpace)
	n, typ, err := RecvRecord(server, buf, cmsg)
	if err != nil || string(buf[:n]) != "hello" || typ != RecordApplicationData {
		t.Errorf("RecvRecord = %d %q type %d, %v", n, buf[:n], typ, err)
	}
	if _, _, err := RecvRecord(server, buf, cmsg[:RecordTypeCmsgSpace-1]); err == nil {
		t.Error("short control buffer accepted")
	}
	unix.Close(client)
	if n, _, err := RecvRecord(server, buf, cmsg); n != 0 || err != nil {
		t.Errorf("RecvRecord after peer close = %d, %v; want 0, nil", n, err)
	}
}

// cmsgBytes builds one control message as the kernel lays it out.
func cmsgBytes(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	var h unix.Cmsghdr
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b, unsafe.Slice((*byte)(unsafe.Pointer(&h)), unix.SizeofCmsghdr))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestKTLSParseRecordType(t *testing.T) {
	alert := cmsgBytes(unix.SOL_TLS, TLS_GET_RECORD_TYPE, []byte{RecordAlert})
	other := cmsgBytes(unix.SOL_SOCKET, unix.SCM_RIGHTS, []byte{1, 2, 3, 4})
	tests := []struct {
		name string
		oob  []byte
		want uint8
	}{
		{"no cmsg", nil, RecordApplicationData},
		{"alert", alert, RecordAlert},
		{"after another cmsg", append(bytes.Clone(other), alert...), RecordAlert},
		{"unaligned buffer", append([]byte{0}, alert...)[1:], RecordAlert},
	}
	for _, tt := range tests {
		if got, err := parseRecordType(tt.oob); err != nil || got != tt.want {
			t.Errorf("%s: %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	bad := bytes.Clone(alert)
	empty := cmsgBytes(unix.SOL_TLS, TLS_GET_RECORD_TYPE, nil)
	bad[0] = 200 // cmsg_len beyond the buffer
	for name, oob := range map[string][]byte{"overlong": bad, "empty record type": empty} {
		if _, err := parseRecordType(oob); err == nil {
			t.Errorf("%s cmsg accepted", name)
		}
	}
}

func TestKTLSStatsMatchModule(t *testing.T) {
	stats, err := TLSStats()
	if !kernelHasTLS(t) {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("TLSStats without tls module: %v, want ErrNotExist", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"TlsCurrTxSw", "TlsCurrRxSw", "TlsTxSw", "TlsRxSw", "TlsDecryptError"} {
		if _, ok := stats[name]; !ok {
			t.Errorf("%s missing from %v", name, stats)
		}
	}
}
