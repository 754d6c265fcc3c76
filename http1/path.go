package http1

// rootPath is the Path of an absolute-form target with an empty path.
// Handlers only read Path, so one shared slice serves every such request.
var rootPath = []byte("/")

// checkPath reports whether the raw path p (starting with '/') decodes
// cleanly: every '%' is followed by two hex digits, and no byte, raw or
// decoded, is a control character (NUL, CR, LF, ...). The engine answers
// 400 otherwise. clean says cleanPath would return p unchanged: it holds
// no '%' and no '/' followed by '/' or '.' (so no empty, "." or ".."
// segment), as most paths; decodePath then skips cleanPath.
func checkPath(p []byte) (ok, clean bool) {
	clean = true
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%':
			if c, ok = decodeEscape(p, i); !ok {
				return false, false
			}
			i += 2
			clean = false
		case c == '/' && i+1 < len(p) && (p[i+1] == '/' || p[i+1] == '.'):
			clean = false
		}
		if c < 0x20 || c == 0x7f {
			return false, false
		}
	}
	return true, clean
}

// cleanPath percent-decodes the checked path p and normalises it, both in
// place, and returns the result, a prefix of p. Empty and "." segments are
// dropped and ".." removes the segment before it, never climbing above the
// root (RFC 3986 §5.2.4, applied after decoding so that "%2e%2e" is ".."
// too). A trailing '/' is kept.
func cleanPath(p []byte) []byte {
	if len(p) == 1 {
		return p // "/", the shared rootPath included
	}
	w := 0
	for r := 0; r < len(p); r++ {
		c := p[r]
		if c == '%' {
			c, _ = decodeEscape(p, r)
			r += 2
		}
		p[w] = c
		w++
	}
	return normalise(p[:w])
}

// decodeEscape decodes the "%XX" at p[i].
func decodeEscape(p []byte, i int) (byte, bool) {
	if i+2 >= len(p) {
		return 0, false
	}
	hi, ok1 := unhex(p[i+1])
	lo, ok2 := unhex(p[i+2])
	return hi<<4 | lo, ok1 && ok2
}

// normalise removes empty, "." and ".." segments of the decoded path p in
// place. The write position never passes the read position, so the copy is
// safe.
func normalise(p []byte) []byte {
	w := 0 // p[:w] is the output so far; it never ends with '/'
	trailingSlash := false
	for r := 0; r < len(p); {
		if p[r] == '/' {
			r++
			trailingSlash = true
			continue
		}
		end := r
		for end < len(p) && p[end] != '/' {
			end++
		}
		switch seg := p[r:end]; {
		case len(seg) == 1 && seg[0] == '.':
			trailingSlash = true
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			for w > 0 && p[w-1] != '/' {
				w--
			}
			if w > 0 {
				w-- // drop the '/' that led the removed segment
			}
			trailingSlash = true
		default:
			p[w] = '/'
			w += 1 + copy(p[w+1:], seg)
			trailingSlash = false
		}
		r = end
	}
	if w == 0 || trailingSlash {
		p[w] = '/'
		w++
	}
	return p[:w]
}
