package site

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// smallFileLimit is the size up to which a file's bytes are kept in memory
// and sent from there; larger files are sent from their descriptor with
// sendfile.
const smallFileLimit = 16 << 10

// maxCachedFiles bounds the cache (at most 16 MiB of identity bytes, plus
// precompressed siblings, which are smaller).
const maxCachedFiles = 1024

// fileEntry is a small file held in memory with everything needed to
// answer for it, so that answering allocates nothing.
type fileEntry struct {
	key  string // the request's path after the prefix
	name string // the file's name relative to the root

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
}

// sameFile reports whether st describes the file the entry was made from.
func (e *fileEntry) sameFile(st *unix.Stat_t) bool {
	return uint64(st.Dev) == e.dev && st.Ino == e.ino && st.Size == e.size &&
		time.Unix(st.Mtim.Unix()).Equal(e.mtime)
}

// fileCache maps request paths to entries. Readers take no lock: the map is
// replaced, never changed, when an entry is added or removed.
type fileCache struct {
	mu      sync.Mutex // serialises writers
	entries atomic.Pointer[map[string]*fileEntry]
}

// lookup returns the entry for key, or nil. It does not allocate.
func (c *fileCache) lookup(key []byte) *fileEntry {
	m := c.entries.Load()
	if m == nil {
		return nil
	}
	return (*m)[string(key)]
}

// store adds e, replacing any entry with its key. When the cache is full it
// starts over with e alone.
func (c *fileCache) store(e *fileEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[string]*fileEntry{}
	if old := c.entries.Load(); old != nil && len(*old) < maxCachedFiles {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[e.key] = e
	c.entries.Store(&next)
}

// remove drops e if it is still the entry for its key.
func (c *fileCache) remove(e *fileEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.entries.Load()
	if old == nil || (*old)[e.key] != e {
		return
	}
	next := make(map[string]*fileEntry, len(*old))
	for k, v := range *old {
		if k != e.key {
			next[k] = v
		}
	}
	c.entries.Store(&next)
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
