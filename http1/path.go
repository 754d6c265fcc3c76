package http1

// rootPath is the Path of an absolute-form target with an empty path.
// Handlers only read Path, so one shared slice serves every such request.
var rootPath = []byte("/")

// cleanPath percent-decodes p and normalises it, both in place, and returns
// the result, a prefix of p. p must start with '/'. Empty and "." segments
// are dropped and ".." removes the segment before it, never climbing above
// the root (RFC 3986 §5.2.4, applied after decoding so "%2e%2e" is ".." too).
// A trailing '/' is kept. ok is false for a malformed escape or for a
// control character after decoding (NUL, CR, LF, ...), which the caller
// answers with 400.
func cleanPath(p []byte) (clean []byte, ok bool) {
	p, ok = percentDecode(p)
	if !ok {
		return nil, false
	}
	return normalise(p), true
}

// percentDecode decodes %XX escapes of p in place. It rejects a '%' not
// followed by two hex digits and any control character, raw or decoded.
func percentDecode(p []byte) ([]byte, bool) {
	w := 0
	for r := 0; r < len(p); r++ {
		c := p[r]
		if c == '%' {
			if r+2 >= len(p) {
				return nil, false
			}
			hi, ok1 := unhex(p[r+1])
			lo, ok2 := unhex(p[r+2])
			if !ok1 || !ok2 {
				return nil, false
			}
			c = hi<<4 | lo
			r += 2
		}
		if c < 0x20 || c == 0x7f {
			return nil, false
		}
		p[w] = c
		w++
	}
	return p[:w], true
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
