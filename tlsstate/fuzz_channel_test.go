package tlsstate

import (
	"bytes"
	"testing"
)

// FuzzChannel feeds the channel what a peer can send after the handshake,
// in both versions: records of any type and content (a script the fuzzer
// writes), protected with the session's keys so that they reach the rules
// instead of stopping at bad_record_mac, optionally with one byte of the
// stream flipped, and cut into reads at arbitrary points. No panic; whole
// records only; once the channel has ended it takes nothing more; and the
// user-space path and the kernel-control path give the same answer (but
// for KeyUpdate, which the kernel path closes on: channel_test.go).
func FuzzChannel(f *testing.F) {
	script := func(recs ...plainRec) []byte {
		var b []byte
		for _, r := range recs {
			b = append(b, byte(r.typ-typeChangeCipherSpec), byte(len(r.content)))
			b = append(b, r.content...)
		}
		return b
	}
	for _, recs := range [][]plainRec{
		{appData, closeNotify},
		{userCanceled, appData, emptyData},
		{renegotiation, appData},
		{rec(typeHandshake, "\x01\x00"), rec(typeHandshake, "\x00\x02a"), rec(typeHandshake, "b")},
		{keyUpdate1, appData},
		{warningFailure},
		{rec(typeAlert, "")},
	} {
		for _, mode := range []uint8{0, 1, 2, 0x13, 0x32} {
			f.Add(mode, script(recs...))
		}
	}
	f.Fuzz(func(t *testing.T, mode uint8, script []byte) {
		if len(script) > 4096 {
			return
		}
		version := VersionTLS13
		if mode&1 != 0 {
			version = VersionTLS12
		}
		var recs []plainRec
		keyUpdate := false
		for len(script) >= 2 {
			typ := typeChangeCipherSpec + contentType(script[0]%4)
			n := min(int(script[1]), len(script)-2)
			content := script[2 : 2+n]
			script = script[2+n:]
			if typ == typeHandshake && bytes.IndexByte(content, msgKeyUpdate) >= 0 {
				keyUpdate = true
			}
			recs = append(recs, plainRec{typ, content})
		}

		if mode&2 == 0 && !keyUpdate {
			if u, k := runUserSpace(t, version, recs), runKernel(t, version, recs); u != k {
				t.Fatalf("user space %+v, kernel %+v", u, k)
			}
		}

		// The same stream, maybe corrupted, cut into reads.
		ch, peer := newChannelPair(t, version)
		in := peer.protect(recs)
		if mode&2 != 0 && len(in) > 0 {
			in[int(mode>>2)%len(in)] ^= 0x40
		}
		step := int(mode>>4) + 1
		var buf, plain, reply []byte
		var ended error
		for len(in) > 0 || len(buf) > 0 {
			k := min(step, len(in))
			buf, in = append(buf, in[:k]...), in[k:]
			n, p, r, err := ch.Open(buf, plain, reply[:0])
			if n > len(buf) || len(p) < len(plain) {
				t.Fatalf("consumed %d of %d; plain %d → %d", n, len(buf), len(plain), len(p))
			}
			if ended != nil && (n != 0 || len(r) != 0 || err == nil) {
				t.Fatalf("after %v: took %d bytes, replied %d, err %v", ended, n, len(r), err)
			}
			plain, reply, buf = p, r, buf[n:]
			if err != nil {
				ended = err
			}
			if k == 0 && n == 0 {
				break // a partial record that will never be whole
			}
		}
	})
}
