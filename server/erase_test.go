package server

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestEraseAfterErasesStackCopies leaves copies of a secret in the stack
// frames of a step run under eraseAfter, on a goroutine that then waits,
// and searches the process's memory for them. A build with erasure
// (GOEXPERIMENT=runtimesecret, as test.sh builds) must leave none; a build
// without it shows the threat: the copies are there. The test keeps the
// secret only XORed with a mask, and the search compares each word XORed
// with the mask, so the secret itself is never in memory outside the step.
// The search follows a garbage collection, by which the runtime erases
// lazily what the step left elsewhere (a signal stack, freed objects).
func TestEraseAfterErasesStackCopies(t *testing.T) {
	var mask, masked [4]uint64
	for i := range mask {
		mask[i] = randomWord(t)
	}
	stepped, hold := make(chan struct{}), make(chan struct{})
	go func() {
		eraseAfter(func() {
			var secret [4]uint64
			for i := range secret {
				secret[i] = randomWord(t)
				masked[i] = secret[i] ^ mask[i]
			}
			leaveCopies(secret, 32)
			clear(secret[:])
		})
		close(stepped)
		<-hold // parked, with its stack as the step left it
	}()
	<-stepped
	// A signal that arrived during the step may have saved registers
	// holding the secret on its thread's signal stack; the runtime has
	// those overwritten at the start of the next collection.
	runtime.GC()
	found := searchMasked(t, mask, masked)
	close(hold)
	switch {
	case memoryErasure && found > 0:
		t.Errorf("%d copies of the secret left on the stack after eraseAfter", found)
	case !memoryErasure && found == 0:
		t.Errorf("without erasure the step's stack copies should be there (the threat), none found: the search cannot be trusted")
	}
	t.Logf("memory erasure %v: %d copies of the step's secret found", memoryErasure, found)
}

var copiesSink uint64

// leaveCopies puts a copy of secret in each of depth stack frames.
//
//go:noinline
func leaveCopies(secret [4]uint64, depth int) {
	local := secret
	if depth > 0 {
		leaveCopies(secret, depth-1)
	}
	copiesSink += local[1] & 1
}

func randomWord(t *testing.T) uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

// searchMasked counts the 8-byte-aligned places in the process's readable
// memory (mappings up to 1 GiB: not the race detector's shadow) that hold
// the words w with w[i]^mask[i] == masked[i], and logs where.
func searchMasked(t *testing.T, mask, masked [4]uint64) int {
	t.Helper()
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close()
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	found := 0
	buf := make([]byte, 1<<20)
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1][0] != 'r' || len(f) > 5 && f[5] == "[vvar]" {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		if end-start > 1<<30 {
			continue
		}
		for at := start; at < end; {
			n, _ := mem.ReadAt(buf[:min(uint64(len(buf)), end-at)], int64(at))
			if n < 32 {
				break
			}
			for i := 0; i+32 <= n; i += 8 {
				if binary.LittleEndian.Uint64(buf[i:])^mask[0] == masked[0] &&
					binary.LittleEndian.Uint64(buf[i+8:])^mask[1] == masked[1] &&
					binary.LittleEndian.Uint64(buf[i+16:])^mask[2] == masked[2] &&
					binary.LittleEndian.Uint64(buf[i+24:])^mask[3] == masked[3] {
					if found++; found <= 3 {
						t.Logf("a copy at %#x in %s", at+uint64(i), sc.Text())
					}
				}
			}
			at += uint64(n - 24) // the next read overlaps: a copy across the two is whole in one
		}
	}
	return found
}
