package server

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"unsafe"

	"lwango/tlsstate"
)

// TestSecretVault: slots are zeroed when taken and wiped when given back,
// and live in a mapping the kernel reports as locked ("lo") and excluded
// from core dumps ("dd") in /proc/self/smaps.
func TestSecretVault(t *testing.T) {
	slot, err := vault.take()
	if err != nil {
		t.Fatal(err)
	}
	if len(slot) != vaultSlotSize {
		t.Fatalf("slot of %d bytes", len(slot))
	}
	for i := range slot {
		slot[i] = 0xa5
	}
	addr := uintptr(unsafe.Pointer(&slot[0]))
	vault.give(slot)
	again, err := vault.take()
	if err != nil {
		t.Fatal(err)
	}
	defer vault.give(again)
	if &again[0] != &slot[0] {
		t.Fatal("the slot given back was not reused")
	}
	for i, b := range again {
		if b != 0 {
			t.Fatalf("byte %d of a slot given back is %#x, not wiped", i, b)
		}
	}
	flags := mappingFlags(t, addr)
	if !strings.Contains(" "+flags+" ", " lo ") || !strings.Contains(" "+flags+" ", " dd ") {
		t.Errorf("vault mapping VmFlags %q: want lo (locked) and dd (no dump)", flags)
	}
}

// mappingFlags returns the VmFlags of the mapping of this process that holds addr.
func mappingFlags(t *testing.T, addr uintptr) string {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	inside := false
	for line := range strings.Lines(string(smaps)) {
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			inside = lo <= addr && addr < hi
			continue
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok && inside {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return ""
}

// TestRekeyRecordBudget: sends are cut so that the records they cost stay
// within the limit of one key, and reaching it makes a KeyUpdate due.
func TestRekeyRecordBudget(t *testing.T) {
	r := &rekeyState{limit: 10}
	if got := r.sendBudget(1 << 20); got != 9<<14 {
		t.Fatalf("budget %d, want %d", got, 9<<14)
	}
	r.countRecords(9 << 14)
	if r.txRecords != 10 || !r.sendUpdate {
		t.Fatalf("after 9 full records: %d records counted, KeyUpdate due %v", r.txRecords, r.sendUpdate)
	}
	if got := r.sendBudget(1 << 20); got != 1<<14 {
		t.Fatalf("budget at the limit %d, want one record", got)
	}
}

// TestCountRecordsOnly: a kernel TLS connection that cannot move to a next
// key counts its records against the limit of its AEAD, whatever its
// version (an AES-GCM key's, 2^23 records), or the configured one; a
// ChaCha20-Poly1305 key's is out of reach, unless configured.
func TestCountRecordsOnly(t *testing.T) {
	for _, c := range []struct {
		suite tlsstate.CipherSuite
		set   uint64
		want  uint64 // 0: no count
	}{
		{tlsstate.AES128GCMSHA256, 0, 1 << 23},
		{tlsstate.AES256GCMSHA384, 0, 1 << 23},
		{tlsstate.ECDHEECDSAWithAES128GCMSHA256, 0, 1 << 23},
		{tlsstate.ECDHERSAWithAES256GCMSHA384, 0, 1 << 23},
		{tlsstate.ChaCha20Poly1305SHA256, 0, 0},
		{tlsstate.ECDHEECDSAWithChaCha20Poly1305SHA256, 0, 0},
		{tlsstate.AES128GCMSHA256, 160, 160},
		{tlsstate.ChaCha20Poly1305SHA256, 160, 160},
	} {
		r := countRecordsOnly(c.suite, c.set)
		switch {
		case c.want == 0 && r != nil:
			t.Errorf("%v: counts against a limit of %d", c.suite, r.limit)
		case c.want != 0 && (r == nil || r.limit != c.want || r.slot != nil):
			t.Errorf("%v, limit %d set: %+v, want a count against %d", c.suite, c.set, r, c.want)
		}
	}
}

// TestKernelKeyUpdateRekeyMode: with the traffic secrets kept, a KeyUpdate
// is parsed (also split across records) and checked: a wrong length is a
// decode_error, a request_update other than 0 or 1 an illegal_parameter.
// The channel judges the KeyUpdate and the transport acts on its verdict:
// a well-formed one reaches the kernel (which, on this socket pair without
// kernel TLS, refuses the key: internal_error).
func TestKernelKeyUpdateRekeyMode(t *testing.T) {
	for _, c := range []struct {
		name    string
		records []string
		err     string
		sent    string
	}{
		{"wrong length", []string{"\x18\x00\x00\x02\x00\x00"}, "tls: sent decode_error: KeyUpdate of the wrong length", "0232"},
		{"request_update 2", []string{"\x18\x00\x00\x01\x02"}, "tls: sent illegal_parameter: KeyUpdate request_update out of range", "022f"},
		{"split, then to the kernel", []string{"\x18\x00", "\x00\x01", "\x00"}, "tls: sent internal_error: installing the next receive key", "0250"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, peer, _ := controlTransport(t, tlsstate.VersionTLS13)
			secret := make([]byte, 32)
			sess := &tlsstate.Session{Version: tlsstate.VersionTLS13, CipherSuite: tlsstate.AES128GCMSHA256,
				RX: tlsstate.TrafficKeys{Secret: secret}, TX: tlsstate.TrafficKeys{Secret: secret}}
			var err error
			if tr.rekey, err = keepSecrets(sess, 0); err != nil {
				t.Fatal(err)
			}
			tr.ch.FollowKeyUpdatesInKernel()
			defer tr.Close()
			for i, rec := range c.records {
				err = tr.control(22, []byte(rec))
				if i < len(c.records)-1 && err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.err) {
				t.Fatalf("error %v, want %s", err, c.err)
			}
			if got := hexString(sent(peer)); got != c.sent {
				t.Errorf("sent %s, want %s", got, c.sent)
			}
		})
	}
}

// TestTLS12RecordCount: TLS 1.2 AES-GCM connections count their records
// against the AEAD's limit (or the configured one), ChaCha20-Poly1305 ones
// have no limit within reach and keep no count.
func TestTLS12RecordCount(t *testing.T) {
	if r := countRecordsOnly(tlsstate.ECDHEECDSAWithAES128GCMSHA256, 0); r == nil || r.limit != tlsstate.RecordLimit(tlsstate.AES128GCMSHA256) || r.slot != nil {
		t.Errorf("AES-128-GCM: %+v", r)
	}
	if r := countRecordsOnly(tlsstate.ECDHERSAWithChaCha20Poly1305SHA256, 0); r != nil {
		t.Errorf("ChaCha20-Poly1305: %+v, want no count", r)
	}
	if r := countRecordsOnly(tlsstate.ECDHERSAWithChaCha20Poly1305SHA256, 160); r == nil || r.limit != 160 {
		t.Errorf("configured limit: %+v", r)
	}
}

// A kernel TLS 1.3 connection in rekey mode leaving the process (a binary
// upgrade) takes its version, suite and record count with it, and its
// traffic secrets are wiped from the vault, never passed. The new
// process's transport counts on from that count with no secret: a
// KeyUpdate from the client ends the connection cleanly, and near the
// key's record limit it takes no new request.
func TestKernelTLSDetachKeepsSecretsHome(t *testing.T) {
	sess := &tlsstate.Session{Version: tlsstate.VersionTLS13, CipherSuite: tlsstate.AES256GCMSHA384}
	sess.RX.Secret = []byte(strings.Repeat("r", 48))
	sess.TX.Secret = []byte(strings.Repeat("t", 48))
	rekey, err := keepSecrets(sess, 1000)
	if err != nil {
		t.Fatal(err)
	}
	slot := rekey.slot
	rekey.txRecords = 874
	ch, err := tlsstate.KernelChannel(sess.Version, sess.CipherSuite)
	if err != nil {
		t.Fatal(err)
	}
	ch.FollowKeyUpdatesInKernel()
	old := &kernelRecords{fd: -1, ch: ch, rxInKernel: true, rekey: rekey}

	h, ok := old.detach()
	want := handedConn{kind: handedKTLS, version: tlsstate.VersionTLS13, suite: tlsstate.AES256GCMSHA384, txRecords: 874}
	if !ok || h != want {
		t.Fatalf("detach: %+v, %v; want %+v", h, ok, want)
	}
	for i, b := range slot {
		if b != 0 {
			t.Fatalf("byte %d of the vault slot is %#x after detach: the secrets were not wiped", i, b)
		}
	}
	state := appendHanded(nil, h, false, netip.MustParseAddrPort("192.0.2.7:4711"))
	got, sniff, client, err := parseHanded(state)
	if err != nil || got != want || sniff || client.String() != "192.0.2.7:4711" {
		t.Fatalf("the state read back: %+v, %v, %v, %v", got, sniff, client, err)
	}
	if _, _, _, err := parseHanded(state[:handedHead-1]); err == nil {
		t.Fatal("a short state was taken")
	}

	var log syncBuffer
	next, err := adoptKernelTLS(-1, got, 1000, testLogger(&log))
	if err != nil {
		t.Fatal(err)
	}
	if next.rekey == nil || next.rekey.slot != nil || next.rekey.txRecords != 874 || next.rekey.limit != 1000 {
		t.Fatalf("the adopted connection's record count: %+v", next.rekey)
	}
	if next.ch.Session().CipherSuite != tlsstate.AES256GCMSHA384 {
		t.Fatalf("the adopted connection's suite: %v", next.ch.Session().CipherSuite)
	}
	next.sent(1) // at seven eighths of the limit (875 of 1000): no new request
	if !next.Ending() {
		t.Fatal("near the record limit, with no secret to send a KeyUpdate, the adopted connection takes new requests")
	}
	if !strings.Contains(log.String(), "near the record limit") {
		t.Fatalf("no reason logged: %q", log.String())
	}

	// A client's KeyUpdate: the channel of an adopted connection does not
	// follow it (no secret), it closes.
	ch2, _ := tlsstate.KernelChannel(tlsstate.VersionTLS13, tlsstate.AES256GCMSHA384)
	reply, err := ch2.Control(22, []byte{24, 0, 0, 1, 0}, nil)
	if err != io.EOF || !strings.Contains(ch2.CloseReason(), "peer KeyUpdate") || len(reply) != 0 {
		t.Fatalf("KeyUpdate on an adopted connection: reply %x, %v, reason %q; want a clean end (io.EOF) with the reason", reply, err, ch2.CloseReason())
	}
}
