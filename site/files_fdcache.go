package site

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// maxOpenFiles bounds the descriptors one serve_files handler keeps open
// for large files (nginx's open_file_cache max).
const maxOpenFiles = 256

// openFileInactive is how long a kept-open file may go unrequested before
// it is closed (nginx's open_file_cache inactive), so that a deleted file's
// space is not held for ever. Entries are swept when a new one is added.
const openFileInactive = time.Minute

// openFile is a large file kept open across requests, with the header
// lines of its response rendered once, as nginx's open_file_cache keeps
// descriptors and stat results: a request for it costs no openat2, fstat or
// close, and renders no dates. Only the identity representation is kept
// (precompressed siblings are looked up per request).
type openFile struct {
	key  string // the request's path after the prefix
	name string // the file's name relative to the root
	fd   int

	// What the file looked like when opened; a stat that differs means the
	// entry is stale.
	dev, ino uint64
	size     int64
	mtime    time.Time

	// checkedAt is when the file was last seen unchanged (Unix nanoseconds).
	checkedAt atomic.Int64
	// refs counts the cache's own reference (until the entry is dropped)
	// and each response whose body is this descriptor; the descriptor is
	// closed when it falls to zero, and an entry at zero is never taken
	// again, so no response can get a descriptor number already reused.
	refs atomic.Int32

	contentType  string
	lastModified string
	etag         string
	headers      string // representation header lines
}

// acquire takes a reference for a response; false if the entry is already
// dropped and closed.
func (f *openFile) acquire() bool {
	for {
		r := f.refs.Load()
		if r == 0 {
			return false
		}
		if f.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// ReleaseFile gives back a reference (http1.FileOwner): the server is done
// with a response's body, or the cache dropped the entry.
func (f *openFile) ReleaseFile(int) {
	if f.refs.Add(-1) == 0 {
		unix.Close(f.fd)
	}
}

// sameFile reports whether st describes the file the entry was opened from.
func (f *openFile) sameFile(st *unix.Stat_t) bool {
	return uint64(st.Dev) == f.dev && st.Ino == f.ino && st.Size == f.size &&
		time.Unix(st.Mtim.Unix()).Equal(f.mtime)
}

// openFileCache maps request paths to open large files. Every loop uses it;
// a lookup is a map read under an uncontended mutex, cheap beside the
// syscalls it saves, and a miss stores in O(1) (no copy of the map), so a
// working set larger than the cache costs about what no cache would.
type openFileCache struct {
	mu        sync.Mutex
	entries   map[string]*openFile
	closed    bool
	sweptAt   int64 // Unix nanoseconds
	toRelease []*openFile
}

// get returns the entry for key with a reference taken for one response,
// or nil.
func (c *openFileCache) get(key []byte) *openFile {
	c.mu.Lock()
	f := c.entries[string(key)]
	c.mu.Unlock()
	if f == nil || !f.acquire() {
		return nil
	}
	return f
}

// put adds f, which holds the cache's reference, replacing any entry with
// its key; when the cache is full an arbitrary entry makes room. At most
// once per openFileInactive it also drops the entries not seen valid for
// that long past their cacheFor (so unrequested). After closeAll the entry
// is dropped at once.
func (c *openFileCache) put(f *openFile, now time.Time, cacheFor time.Duration) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		f.ReleaseFile(f.fd)
		return
	}
	if c.entries == nil {
		c.entries = make(map[string]*openFile)
	}
	drop := c.toRelease[:0]
	if t := now.UnixNano(); t-c.sweptAt >= int64(openFileInactive) {
		c.sweptAt = t
		for k, v := range c.entries {
			if t-v.checkedAt.Load() >= int64(cacheFor+openFileInactive) {
				drop = append(drop, v)
				delete(c.entries, k)
			}
		}
	}
	if old := c.entries[f.key]; old != nil {
		drop = append(drop, old)
	} else if len(c.entries) >= maxOpenFiles {
		for k, v := range c.entries {
			drop = append(drop, v)
			delete(c.entries, k)
			break
		}
	}
	c.entries[f.key] = f
	for i, v := range drop {
		v.ReleaseFile(v.fd)
		drop[i] = nil
	}
	c.toRelease = drop[:0]
	c.mu.Unlock()
}

// remove drops f if it is still the entry for its key.
func (c *openFileCache) remove(f *openFile) {
	c.mu.Lock()
	if c.entries[f.key] != f {
		c.mu.Unlock()
		return
	}
	delete(c.entries, f.key)
	c.mu.Unlock()
	f.ReleaseFile(f.fd)
}

// closeAll drops every entry (their descriptors close once no response is
// sending them) and makes later puts drop theirs.
func (c *openFileCache) closeAll() {
	c.mu.Lock()
	entries := c.entries
	c.entries, c.closed = nil, true
	c.mu.Unlock()
	for _, f := range entries {
		f.ReleaseFile(f.fd)
	}
}
