package site

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// smallFileLimit is the size up to which a file's bytes are kept in memory
// and sent from there; larger files are sent from their descriptor with
// sendfile.
const smallFileLimit = 16 << 10

// cacheBytes bounds what one serve_files handler keeps in memory: the
// files' bytes, their precompressed siblings, their header lines and the
// bookkeeping of each entry.
const cacheBytes = 16 << 20

// entryOverhead is what an entry costs beyond its bytes and strings: the
// struct itself and its map slot.
const entryOverhead = int64(unsafe.Sizeof(fileEntry{})) + 64

// fileEntry is a small file held in memory with everything needed to
// answer for it, so that answering allocates nothing.
type fileEntry struct {
	key  string // the request's path after the prefix
	name string // the file's name relative to the root
	hash uint64 // of key, for the admission sketch

	// What the file looked like when read; a stat that differs means the
	// entry is stale.
	dev, ino uint64
	size     int64
	mtime    time.Time

	// checkedAt is when the file was last seen unchanged (Unix nanoseconds).
	checkedAt atomic.Int64

	contentType  string
	lastModified string
	// Indexed by encoding; encIdentity is the file itself. data is nil for
	// a coding without a sibling file.
	data        [numEncodings + 1][]byte
	hasSiblings bool // some precompressed sibling is in data
	etag        [numEncodings + 1]string
	headers     [numEncodings + 1]string // header lines sent with each representation

	// The CLOCK ring the cache evicts from (guarded by the cache's mutex);
	// referenced is set by every hit and cleared as the hand passes.
	prev, next *fileEntry
	referenced atomic.Bool
	charge     int64 // bytes counted against the cache's budget
}

// sameFile reports whether st describes the file the entry was made from.
func (e *fileEntry) sameFile(st *unix.Stat_t) bool {
	return uint64(st.Dev) == e.dev && st.Ino == e.ino && st.Size == e.size &&
		time.Unix(st.Mtim.Unix()).Equal(e.mtime)
}

// bytes is what the entry holds in memory, bookkeeping included.
func (e *fileEntry) bytes() int64 {
	n := entryOverhead + int64(len(e.key)+len(e.name)+len(e.contentType)+len(e.lastModified))
	for i := range e.data {
		n += int64(len(e.data[i]) + len(e.etag[i]) + len(e.headers[i]))
	}
	return n
}

// fileCache maps request paths to entries within a budget of bytes.
//
// Every operation is O(1): a map lookup, and CLOCK eviction (a ring of
// entries with a referenced bit, amortised O(1)). So that a working set
// larger than the budget costs no more than not caching, a file is admitted
// into a full cache only if it has been asked for more often than the entry
// it would evict (TinyLFU, with a count-min sketch of recent requests);
// otherwise it is sent from its descriptor, like a large file, and the cache
// keeps the files that are asked for most.
type fileCache struct {
	budget int64 // 0: cache nothing
	seed   maphash.Seed
	freq   sketch

	mu      sync.RWMutex
	entries map[string]*fileEntry
	hand    *fileEntry // next eviction candidate; nil when empty
	used    int64
}

func newFileCache(budget int64) *fileCache {
	return &fileCache{
		budget:  budget,
		seed:    maphash.MakeSeed(),
		freq:    newSketch(budget),
		entries: map[string]*fileEntry{},
	}
}

func (c *fileCache) hash(key []byte) uint64 { return maphash.Bytes(c.seed, key) }

// lookup returns the entry for key, or nil, and counts the request. It
// does not allocate.
func (c *fileCache) lookup(key []byte) *fileEntry {
	if c.budget == 0 {
		return nil
	}
	c.freq.add(c.hash(key))
	c.mu.RLock()
	e := c.entries[string(key)]
	c.mu.RUnlock()
	if e != nil && !e.referenced.Load() {
		e.referenced.Store(true)
	}
	return e
}

// admit reports whether a file of size bytes asked for under key (whose
// lookup missed) should be read into the cache: there is room for it, or
// it is asked for more often than the entry it would displace.
func (c *fileCache) admit(key []byte, size int64) bool {
	if c.budget == 0 || size+entryOverhead > c.budget {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used+size+entryOverhead <= c.budget {
		return true
	}
	// The request being answered is already counted: the file must have
	// been asked for more often than the victim before it. (Counting it
	// would let every file of a cycle larger than the cache displace the
	// next one, not yet asked for again in this cycle: a thrash.)
	victim := c.victim()
	return victim == nil || c.freq.estimate(c.hash(key)) > c.freq.estimate(victim.hash)+1
}

// victim advances the CLOCK hand past referenced entries, clearing their
// bit, and returns the first unreferenced one (without removing it).
func (c *fileCache) victim() *fileEntry {
	for c.hand != nil && c.hand.referenced.Load() {
		c.hand.referenced.Store(false)
		c.hand = c.hand.next
	}
	return c.hand
}

// store adds e, replacing any entry with its key, and evicts entries until
// the cache is within its budget.
func (c *fileCache) store(e *fileEntry) {
	e.hash = maphash.String(c.seed, e.key)
	e.charge = e.bytes()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[e.key]; old != nil {
		c.unlink(old)
	}
	for c.used+e.charge > c.budget && c.hand != nil {
		c.unlink(c.victim())
	}
	if c.used+e.charge > c.budget {
		return
	}
	c.entries[e.key] = e
	c.used += e.charge
	// Insert just behind the hand: the newest entry is the last the hand
	// reaches.
	if c.hand == nil {
		e.prev, e.next = e, e
		c.hand = e
		return
	}
	e.prev, e.next = c.hand.prev, c.hand
	e.prev.next = e
	c.hand.prev = e
}

// remove drops e if it is still the entry for its key.
func (c *fileCache) remove(e *fileEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[e.key] == e {
		c.unlink(e)
	}
}

// unlink takes e out of the map and the ring. c.mu is held.
func (c *fileCache) unlink(e *fileEntry) {
	delete(c.entries, e.key)
	c.used -= e.charge
	if e.next == e {
		c.hand = nil
	} else {
		e.prev.next, e.next.prev = e.next, e.prev
		if c.hand == e {
			c.hand = e.next
		}
	}
	e.prev, e.next = nil, nil
}

// sketch is a count-min sketch of how often keys were asked for lately:
// sketchRows rows of 4-bit saturating counters, all halved after every
// sample of 10 counters' worth of requests, so that old popularity fades.
type sketch struct {
	counts  []atomic.Uint32 // sketchRows rows of width counters
	mask    uint32          // width - 1
	added   atomic.Int64
	perHalf int64
}

const sketchRows = 4

// newSketch sizes a sketch for a cache of budget bytes: one counter per
// row for each 1 KiB of budget (a power of two, at least 256).
func newSketch(budget int64) sketch {
	width := uint32(256)
	for int64(width) < budget>>10 {
		width <<= 1
	}
	return sketch{counts: make([]atomic.Uint32, sketchRows*width), mask: width - 1, perHalf: 10 * int64(width)}
}

func (s *sketch) slot(h uint64, row uint32) *atomic.Uint32 {
	h1, h2 := uint32(h), uint32(h>>32)|1
	return &s.counts[row*(s.mask+1)+(h1+row*h2)&s.mask]
}

// add counts one request for the key hashed to h.
func (s *sketch) add(h uint64) {
	for row := range uint32(sketchRows) {
		if c := s.slot(h, row); c.Load() < 15 {
			c.Add(1)
		}
	}
	if s.added.Add(1) == s.perHalf {
		for i := range s.counts {
			s.counts[i].Store(s.counts[i].Load() / 2)
		}
		s.added.Store(0)
	}
}

// estimate returns how often the key hashed to h was asked for lately.
func (s *sketch) estimate(h uint64) uint32 {
	least := uint32(15)
	for row := range uint32(sketchRows) {
		least = min(least, s.slot(h, row).Load())
	}
	return least
}

// expiresCache holds the Expires header line for the current second, so
// that it is formatted once a second rather than once a request.
type expiresCache struct {
	current atomic.Pointer[expiresLine]
}

type expiresLine struct {
	second int64
	line   string
}

// line returns "Expires: <now+after>\r\n".
func (c *expiresCache) line(now time.Time, after time.Duration) string {
	second := now.Unix()
	if l := c.current.Load(); l != nil && l.second == second {
		return l.line
	}
	l := &expiresLine{second: second, line: "Expires: " + now.Add(after).UTC().Format(httpDate) + "\r\n"}
	c.current.Store(l)
	return l.line
}
