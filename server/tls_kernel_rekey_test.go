package server

import (
	"fmt"
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
