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

// serveLarge answers with a file too big to cache: the server sends it
// from its descriptor with sendfile. It takes ownership of fd.
func (h *serveFiles) serveLarge(req *http1.Request, resp *http1.Response, name string, fd int, st *unix.Stat_t, now time.Time) {
	mtime := time.Unix(st.Mtim.Unix())
	lastModified := mtime.UTC().Format(httpDate)
	size := st.Size
	enc := encIdentity
	if h.opts.ServePrecompressedFiles && len(req.Range) == 0 && len(req.AcceptEncoding) > 0 {
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
	resp.ContentType = contentType(name)
	resp.Extra = append(resp.Extra, h.representationHeaders(lastModified, etag, enc)...)
	resp.Extra = append(resp.Extra, h.expires.line(now, h.expiresAfter)...)
	if notModified(req.IfNoneMatch, req.IfModifiedSince, etag, lastModified, mtime) {
		unix.Close(fd)
		resp.Status = 304
		resp.ContentType = ""
		return
	}
	resp.Status = 200
	resp.File, resp.FileOffset, resp.FileLength = fd, 0, size
	if enc != encIdentity || req.Method != http1.MethodGet || len(req.Range) == 0 || !ifRangeHolds(req, etag, lastModified) {
		return
	}
	switch r, outcome := parseRange(req.Range, size); outcome {
	case rangePartial:
		resp.Status = 206
		resp.FileOffset, resp.FileLength = r.start, r.length
		appendContentRange(resp, r, size)
	case rangeUnsatisfiable:
		unix.Close(fd)
		answerUnsatisfiable(resp, size)
	}
}
