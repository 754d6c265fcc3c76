package site

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"lwango/http1"
)

// serveFiles serves a directory tree.
//
// Names beginning with '.' (dotfiles such as .git or .htpasswd) are never
// served or listed, except the ".well-known" directory (RFC 8615, needed
// for ACME). Symbolic links are followed only while they stay inside the
// root. Files up to 16 KiB are kept in memory (16 MiB per handler, the
// files asked for most), with their precompressed siblings, and re-checked
// on disk every cache_for; larger files, and small ones the cache has no
// room for, are sent from an open descriptor with sendfile.
type serveFiles struct {
	root         *root
	opts         ServeFilesOptions
	expiresAfter time.Duration
	site         *Site

	// cacheControl and vary are header lines sent with every file.
	cacheControl string
	vary         string

	cache   *fileCache
	open    openFileCache // large files kept open
	expires expiresCache
}

func newServeFiles(o *ServeFilesOptions, expires time.Duration, s *Site) (*serveFiles, error) {
	r, err := openRoot(o.Path)
	if err != nil {
		return nil, err
	}
	h := &serveFiles{
		root:         r,
		opts:         *o,
		expiresAfter: expires,
		site:         s,
		cache:        newFileCache(cacheBytes),
		cacheControl: "Cache-Control: max-age=" + strconv.FormatInt(int64(expires/time.Second), 10) + "\r\n",
	}
	if o.ServePrecompressedFiles {
		h.vary = "Vary: Accept-Encoding\r\n"
	}
	return h, nil
}

func (h *serveFiles) close() error {
	h.open.closeAll()
	return h.root.close()
}

// Serve answers GET and HEAD for the file named by rest.
func (h *serveFiles) Serve(req *http1.Request, rest []byte, resp *http1.Response) {
	if !getOrHead(req, resp) {
		return
	}
	now := h.site.now()
	if e := h.cache.lookup(rest); e != nil && h.current(e, now) {
		h.serveEntry(req, resp, e, now)
		return
	}
	if f := h.open.get(rest); f != nil {
		if h.openCurrent(f, now) {
			if f.size > smallFileLimit || !h.cache.admit(rest, f.size) {
				h.serveOpen(req, resp, f, now)
				return
			}
			// A small file kept open because the memory cache had no room
			// for it moves there once it is asked for often enough.
			h.open.remove(f)
		}
		f.ReleaseFile(f.fd)
	}
	h.serveFromDisk(req, rest, resp, now)
}

// current reports whether a cached entry may still be used, looking at the
// file on disk once its cache_for has passed.
func (h *serveFiles) current(e *fileEntry, now time.Time) bool {
	if now.UnixNano()-e.checkedAt.Load() < int64(h.opts.CacheFor) {
		return true
	}
	var st unix.Stat_t
	if h.root.stat(e.name, &st) == nil && e.sameFile(&st) {
		e.checkedAt.Store(now.UnixNano())
		return true
	}
	h.cache.remove(e)
	return false
}

// relativeName turns rest into a name relative to the root, and reports
// false for a hidden name.
func relativeName(rest []byte) (string, bool) {
	name := strings.Trim(string(rest), "/")
	if name == "" {
		return ".", true
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg[0] == '.' && seg != ".well-known" {
			return "", false
		}
	}
	return name, true
}

func (h *serveFiles) serveFromDisk(req *http1.Request, rest []byte, resp *http1.Response, now time.Time) {
	name, ok := relativeName(rest)
	if !ok {
		answerError(resp, 404)
		return
	}
	fd, err := h.root.open(name)
	if err != nil {
		answerError(resp, statusForOpenError(err))
		return
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		answerError(resp, 500)
		return
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		h.serveFile(req, rest, resp, name, fd, &st, now)
	case unix.S_IFDIR:
		h.serveDirectory(req, rest, resp, name, fd, now)
	default:
		unix.Close(fd)
		answerError(resp, 404)
	}
}

// serveDirectory redirects "/dir" to "/dir/", then serves the directory's
// index file or its listing. It closes dirFd.
func (h *serveFiles) serveDirectory(req *http1.Request, rest []byte, resp *http1.Response, name string, dirFd int, now time.Time) {
	defer unix.Close(dirFd)
	if !bytes.HasSuffix(req.Path, []byte{'/'}) {
		location := (&url.URL{Path: string(req.Path) + "/"}).EscapedPath()
		if len(req.Query) > 0 {
			location += "?" + string(req.Query)
		}
		resp.Status = 301
		resp.AddHeader("Location", location)
		return
	}
	if h.opts.IndexPath != "" {
		index := h.opts.IndexPath
		if name != "." {
			index = name + "/" + index
		}
		if fd, err := h.root.open(index); err == nil {
			var st unix.Stat_t
			if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
				h.serveFile(req, rest, resp, index, fd, &st, now)
				return
			}
			unix.Close(fd)
		}
	}
	if !h.opts.AutoIndex {
		answerError(resp, 404)
		return
	}
	h.serveListing(req, resp, dirFd)
}

// serveFile answers with a regular file. It takes ownership of fd.
func (h *serveFiles) serveFile(req *http1.Request, rest []byte, resp *http1.Response, name string, fd int, st *unix.Stat_t, now time.Time) {
	if st.Size <= smallFileLimit && h.cache.admit(rest, st.Size) {
		e, err := h.load(string(rest), name, fd, st)
		// A file rewritten in place can shrink while it is read: read it
		// again at its new size, a few times, before giving up.
		for retry := 0; errors.Is(err, io.ErrUnexpectedEOF) && retry < 3; retry++ {
			if unix.Fstat(fd, st) != nil {
				break
			}
			if st.Size > smallFileLimit {
				h.serveLarge(req, resp, rest, name, fd, st, now)
				return
			}
			e, err = h.load(string(rest), name, fd, st)
		}
		unix.Close(fd)
		if err != nil {
			answerError(resp, 500)
			return
		}
		e.checkedAt.Store(now.UnixNano())
		h.cache.store(e)
		h.serveEntry(req, resp, e, now)
		return
	}
	h.serveLarge(req, resp, rest, name, fd, st, now)
}

// serveEntry answers from a cached file. It allocates nothing.
func (h *serveFiles) serveEntry(req *http1.Request, resp *http1.Response, e *fileEntry, now time.Time) {
	enc := encIdentity
	if e.hasSiblings && len(req.Range) == 0 && len(req.AcceptEncoding) > 0 {
		enc = bestEncoding(acceptedEncodings(req.AcceptEncoding), func(c encoding) bool { return e.data[c] != nil })
	}
	resp.ContentType = e.contentType
	resp.Extra = append(resp.Extra, e.headers[enc]...)
	resp.Extra = append(resp.Extra, h.expires.line(now, h.expiresAfter)...)
	if notModified(req.IfNoneMatch, req.IfModifiedSince, e.etag[enc], e.lastModified, e.mtime) {
		resp.Status = 304
		resp.ContentType = ""
		return
	}
	data := e.data[enc]
	resp.Status = 200
	resp.Body = data
	if enc != encIdentity || req.Method != http1.MethodGet || len(req.Range) == 0 || !ifRangeHolds(req, e.etag[enc], e.lastModified) {
		return
	}
	switch r, outcome := parseRange(req.Range, int64(len(data))); outcome {
	case rangePartial:
		resp.Status = 206
		resp.Body = data[r.start : r.start+r.length]
		appendContentRange(resp, r, int64(len(data)))
	case rangeUnsatisfiable:
		answerUnsatisfiable(resp, int64(len(data)))
	}
}

// appendContentRange adds "Content-Range: bytes a-b/size" without allocating.
func appendContentRange(resp *http1.Response, r byteRange, size int64) {
	resp.Extra = append(resp.Extra, "Content-Range: bytes "...)
	resp.Extra = strconv.AppendInt(resp.Extra, r.start, 10)
	resp.Extra = append(resp.Extra, '-')
	resp.Extra = strconv.AppendInt(resp.Extra, r.start+r.length-1, 10)
	resp.Extra = append(resp.Extra, '/')
	resp.Extra = strconv.AppendInt(resp.Extra, size, 10)
	resp.Extra = append(resp.Extra, "\r\n"...)
}

// answerUnsatisfiable answers 416 with "Content-Range: bytes */size".
func answerUnsatisfiable(resp *http1.Response, size int64) {
	resp.Status = 416
	resp.ContentType = "text/html; charset=utf-8"
	resp.Body = http1.ErrorPage(416)
	resp.File = -1
	resp.Extra = append(resp.Extra, "Content-Range: bytes */"...)
	resp.Extra = strconv.AppendInt(resp.Extra, size, 10)
	resp.Extra = append(resp.Extra, "\r\n"...)
}

// ifRangeHolds reports whether a Range request may be honoured: there is no
// If-Range, or it names the current representation exactly (RFC 9110
// §13.1.5: a strong ETag, or the exact Last-Modified date).
func ifRangeHolds(req *http1.Request, etag, lastModified string) bool {
	for i := 0; i < req.NumHeaders; i++ {
		hd := &req.Headers[i]
		if !bytes.EqualFold(hd.Name, []byte("If-Range")) {
			continue
		}
		v := trimSpace(hd.Value)
		if len(v) > 0 && v[0] == '"' {
			return string(v) == etag
		}
		return string(v) == lastModified
	}
	return true
}

// representationHeaders renders the header lines sent with one
// representation of a file.
func (h *serveFiles) representationHeaders(lastModified, etag string, enc encoding) string {
	s := "Last-Modified: " + lastModified + "\r\nETag: " + etag + "\r\n" + h.cacheControl + h.vary
	if enc == encIdentity {
		return s + "Accept-Ranges: bytes\r\n"
	}
	return s + "Content-Encoding: " + encodingInfo[enc].token + "\r\n"
}

// makeETag derives a strong validator from the file's size and modification
// time; each precompressed representation gets its own.
func makeETag(size int64, mtime time.Time, enc encoding) string {
	tag := `"` + strconv.FormatInt(size, 16) + "-" + strconv.FormatInt(mtime.UnixNano(), 16)
	if enc != encIdentity {
		tag += "-" + encodingInfo[enc].token
	}
	return tag + `"`
}
