package site

import (
	"io"
	"time"

	"golang.org/x/sys/unix"

	"lwango/http1"
)

// readAll reads size bytes of fd from offset 0.
func readAll(fd int, size int64) ([]byte, error) {
	data := make([]byte, size)
	for off := 0; off < len(data); {
		n, err := unix.Pread(fd, data[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, io.ErrUnexpectedEOF // the file shrank while being read
		}
		off += n
	}
	return data, nil
}

// load reads a small file, and its precompressed siblings when enabled,
// into a cache entry for the request path key.
func (h *serveFiles) load(key, name string, fd int, st *unix.Stat_t) (*fileEntry, error) {
	mtime := time.Unix(st.Mtim.Unix())
	e := &fileEntry{
		key:          key,
		name:         name,
		dev:          uint64(st.Dev),
		ino:          st.Ino,
		size:         st.Size,
		mtime:        mtime,
		contentType:  contentType(name),
		lastModified: mtime.UTC().Format(httpDate),
	}
	data, err := readAll(fd, st.Size)
	if err != nil {
		return nil, err
	}
	e.data[encIdentity] = data
	if h.opts.ServePrecompressedFiles {
		for enc := range numEncodings {
			sfd, sst, ok := h.openSibling(name, enc, st)
			if !ok {
				continue
			}
			e.data[enc], err = readAll(sfd, sst.Size)
			unix.Close(sfd)
			if err != nil {
				return nil, err
			}
			e.hasSiblings = true
		}
	}
	for enc := range numEncodings + 1 {
		if e.data[enc] != nil || enc == encIdentity {
			e.etag[enc] = makeETag(st.Size, mtime, enc)
			e.headers[enc] = h.representationHeaders(e.lastModified, e.etag[enc], enc)
		}
	}
	return e, nil
}

// openSibling opens name's precompressed sibling for enc (name.br,
// name.zst, name.gz). A sibling is used only if it is a regular file
// smaller than the original and not older than it, so a stale or useless
// one is ignored.
func (h *serveFiles) openSibling(name string, enc encoding, orig *unix.Stat_t) (int, *unix.Stat_t, bool) {
	fd, err := h.root.open(name + encodingInfo[enc].suffix)
	if err != nil {
		return -1, nil, false
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG ||
		st.Size >= orig.Size || st.Mtim.Nano() < orig.Mtim.Nano() {
		unix.Close(fd)
		return -1, nil, false
	}
	return fd, &st, true
}

// serveLarge answers with a file too big to cache in memory: the server
// sends it from its descriptor with sendfile. It takes ownership of fd. A
// file without precompressed siblings is kept open for the requests that
// follow (the open-file cache).
func (h *serveFiles) serveLarge(req *http1.Request, resp *http1.Response, rest []byte, name string, fd int, st *unix.Stat_t, now time.Time) {
	if !h.anySibling(name, st) {
		f := h.newOpenFile(string(rest), name, fd, st, now)
		f.refs.Store(2) // the cache's and this response's
		h.open.put(f, now, h.opts.CacheFor)
		h.serveOpen(req, resp, f, now)
		return
	}
	mtime := time.Unix(st.Mtim.Unix())
	lastModified := mtime.UTC().Format(httpDate)
	size := st.Size
	enc := encIdentity
	if len(req.Range) == 0 && len(req.AcceptEncoding) > 0 {
		var siblings [numEncodings]int
		var sizes [numEncodings]int64
		enc = bestEncoding(acceptedEncodings(req.AcceptEncoding), func(c encoding) bool {
			sfd, sst, ok := h.openSibling(name, c, st)
			if ok {
				siblings[c], sizes[c] = sfd+1, sst.Size // +1: zero means none
			}
			return ok
		})
		for c, s := range siblings {
			if s == 0 {
				continue
			}
			if encoding(c) == enc {
				unix.Close(fd)
				fd, size = s-1, sizes[c]
			} else {
				unix.Close(s - 1)
			}
		}
	}
	etag := makeETag(st.Size, mtime, enc)
	h.answerLarge(req, resp, &largeFile{
		fd: fd, size: size, mtime: mtime, contentType: contentType(name),
		lastModified: lastModified, etag: etag, headers: h.representationHeaders(lastModified, etag, enc),
	}, enc, now)
}

// largeFile is what a response with a large file's body is made from.
type largeFile struct {
	fd    int
	owner http1.FileOwner // nil: the response owns fd and closes it
	size  int64
	mtime time.Time

	contentType, lastModified, etag string
	headers                         string // representation header lines
}

// drop gives up the descriptor when no body is sent.
func (lf *largeFile) drop() {
	if lf.owner != nil {
		lf.owner.ReleaseFile(lf.fd)
	} else {
		unix.Close(lf.fd)
	}
}

// answerLarge answers with lf's representation enc: 304 when the client's
// copy is current, else its body, or one range of it.
func (h *serveFiles) answerLarge(req *http1.Request, resp *http1.Response, lf *largeFile, enc encoding, now time.Time) {
	resp.ContentType = lf.contentType
	resp.Extra = append(resp.Extra, lf.headers...)
	resp.Extra = append(resp.Extra, h.expires.line(now, h.expiresAfter)...)
	if notModified(req.IfNoneMatch, req.IfModifiedSince, lf.etag, lf.lastModified, lf.mtime) {
		lf.drop()
		resp.Status = 304
		resp.ContentType = ""
		return
	}
	resp.Status = 200
	resp.File, resp.FileOffset, resp.FileLength, resp.FileOwner = lf.fd, 0, lf.size, lf.owner
	if enc != encIdentity || req.Method != http1.MethodGet || len(req.Range) == 0 || !ifRangeHolds(req, lf.etag, lf.lastModified) {
		return
	}
	switch r, outcome := parseRange(req.Range, lf.size); outcome {
	case rangePartial:
		resp.Status = 206
		resp.FileOffset, resp.FileLength = r.start, r.length
		appendContentRange(resp, r, lf.size)
	case rangeUnsatisfiable:
		lf.drop()
		resp.FileOwner = nil
		answerUnsatisfiable(resp, lf.size)
	}
}

// anySibling reports whether name has a precompressed sibling that would
// be served (always false when precompressed files are not served).
func (h *serveFiles) anySibling(name string, st *unix.Stat_t) bool {
	if !h.opts.ServePrecompressedFiles {
		return false
	}
	for enc := range numEncodings {
		if fd, _, ok := h.openSibling(name, enc, st); ok {
			unix.Close(fd)
			return true
		}
	}
	return false
}

// newOpenFile makes the open-file cache entry for fd, which it takes.
func (h *serveFiles) newOpenFile(key, name string, fd int, st *unix.Stat_t, now time.Time) *openFile {
	mtime := time.Unix(st.Mtim.Unix())
	f := &openFile{
		key: key, name: name, fd: fd,
		dev: uint64(st.Dev), ino: st.Ino, size: st.Size, mtime: mtime,
		contentType:  contentType(name),
		lastModified: mtime.UTC().Format(httpDate),
		etag:         makeETag(st.Size, mtime, encIdentity),
	}
	f.headers = h.representationHeaders(f.lastModified, f.etag, encIdentity)
	f.checkedAt.Store(now.UnixNano())
	return f
}

// openCurrent reports whether a kept-open file may still be used, looking
// at the file on disk (and for new precompressed siblings) once its
// cache_for has passed; a stale entry leaves the cache.
func (h *serveFiles) openCurrent(f *openFile, now time.Time) bool {
	if now.UnixNano()-f.checkedAt.Load() < int64(h.opts.CacheFor) {
		return true
	}
	var st unix.Stat_t
	if h.root.stat(f.name, &st) == nil && f.sameFile(&st) && !h.anySibling(f.name, &st) {
		f.checkedAt.Store(now.UnixNano())
		return true
	}
	h.open.remove(f)
	return false
}

// serveOpen answers from a kept-open file, holding one of its references,
// which the response takes. It allocates nothing.
func (h *serveFiles) serveOpen(req *http1.Request, resp *http1.Response, f *openFile, now time.Time) {
	h.answerLarge(req, resp, &largeFile{
		fd: f.fd, owner: f, size: f.size, mtime: f.mtime, contentType: f.contentType,
		lastModified: f.lastModified, etag: f.etag, headers: f.headers,
	}, encIdentity, now)
}
