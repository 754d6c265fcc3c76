package site

import (
	"bytes"
	"time"
)

// httpDate is the IMF-fixdate layout of RFC 9110 §5.6.7.
const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// obsoleteDates are the other two layouts a recipient must accept.
var obsoleteDates = []string{"Monday, 02-Jan-06 15:04:05 GMT", "Mon Jan _2 15:04:05 2006"}

// parseHTTPDate parses an HTTP date in any of its three forms.
func parseHTTPDate(b []byte) (time.Time, bool) {
	s := string(b)
	if t, err := time.Parse(httpDate, s); err == nil {
		return t, true
	}
	for _, layout := range obsoleteDates {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// nextElement splits the first element off a comma-separated header list,
// trimming spaces and tabs; empty elements are skipped by the callers.
func nextElement(list []byte) (elem, rest []byte) {
	elem, rest, _ = bytes.Cut(list, []byte{','})
	return trimSpace(elem), rest
}

// trimSpace removes leading and trailing spaces and tabs (HTTP's OWS).
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// etagMatches reports whether the If-None-Match list matches etag, using
// the weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored and "*"
// matches any current representation.
func etagMatches(list []byte, etag string) bool {
	want := trimWeak([]byte(etag))
	for len(list) > 0 {
		var elem []byte
		elem, list = nextElement(list)
		if len(elem) == 1 && elem[0] == '*' {
			return true
		}
		if len(elem) > 0 && bytes.Equal(trimWeak(elem), want) {
			return true
		}
	}
	return false
}

func trimWeak(tag []byte) []byte {
	if len(tag) > 2 && tag[0] == 'W' && tag[1] == '/' {
		return tag[2:]
	}
	return tag
}

// notModified reports whether a conditional GET or HEAD can be answered
// with 304 (RFC 9110 §13.2.2): If-None-Match decides when present, else
// If-Modified-Since against the modification time (in whole seconds).
func notModified(inm, ims []byte, etag, lastModified string, mtime time.Time) bool {
	if len(inm) > 0 {
		return etagMatches(inm, etag)
	}
	if len(ims) == 0 {
		return false
	}
	if string(ims) == lastModified {
		return true
	}
	t, ok := parseHTTPDate(ims)
	return ok && !mtime.Truncate(time.Second).After(t)
}

// byteRange is the outcome of a Range header against a representation.
type byteRange struct {
	start, length int64
}

// rangeOutcome says what to do with a Range header.
type rangeOutcome uint8

const (
	rangeIgnore        rangeOutcome = iota // absent, malformed or several ranges: send it all (200)
	rangePartial                           // send one part (206)
	rangeUnsatisfiable                     // 416
)

// parseRange evaluates a Range header (RFC 9110 §14.2) against a
// representation of size bytes. One range is served; a header with several
// is answered with the whole representation, which RFC 9110 allows.
func parseRange(h []byte, size int64) (byteRange, rangeOutcome) {
	const unit = "bytes="
	if len(h) < len(unit) || !bytes.EqualFold(h[:len(unit)], []byte(unit)) {
		return byteRange{}, rangeIgnore
	}
	spec := trimSpace(h[len(unit):])
	if bytes.IndexByte(spec, ',') >= 0 {
		return byteRange{}, rangeIgnore
	}
	first, last, ok := bytes.Cut(spec, []byte{'-'})
	if !ok {
		return byteRange{}, rangeIgnore
	}
	if len(first) == 0 { // suffix: the last n bytes
		n, ok := parseDecimal(last)
		if !ok {
			return byteRange{}, rangeIgnore
		}
		if n == 0 || size == 0 {
			return byteRange{}, rangeUnsatisfiable
		}
		n = min(n, size)
		return byteRange{start: size - n, length: n}, rangePartial
	}
	start, ok := parseDecimal(first)
	if !ok {
		return byteRange{}, rangeIgnore
	}
	end := size - 1
	if len(last) > 0 {
		e, ok := parseDecimal(last)
		if !ok || e < start {
			return byteRange{}, rangeIgnore
		}
		end = min(e, size-1)
	}
	if start >= size {
		return byteRange{}, rangeUnsatisfiable
	}
	return byteRange{start: start, length: end - start + 1}, rangePartial
}

// parseDecimal parses a non-empty run of digits, refusing overflow.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// encoding is a content coding of a precompressed sibling file.
type encoding uint8

const (
	encBrotli encoding = iota
	encZstd
	encGzip
	numEncodings
	encIdentity = numEncodings
)

// encodingInfo gives each coding's token and file suffix, in order of
// preference when the client weighs them equally.
var encodingInfo = [numEncodings]struct{ token, suffix string }{
	encBrotli: {"br", ".br"},
	encZstd:   {"zstd", ".zst"},
	encGzip:   {"gzip", ".gz"},
}

// acceptedEncodings parses Accept-Encoding and returns the q-value (in
// thousandths) the client gives each coding; 0 means not acceptable. "*"
// stands for codings not named; "x-gzip" is gzip.
func acceptedEncodings(h []byte) [numEncodings]int {
	var q [numEncodings]int
	var named [numEncodings]bool
	star, hasStar := 0, false
	for len(h) > 0 {
		var elem []byte
		elem, h = nextElement(h)
		if len(elem) == 0 {
			continue
		}
		token, params, _ := bytes.Cut(elem, []byte{';'})
		token = trimSpace(token)
		weight := parseQ(params)
		if len(token) == 1 && token[0] == '*' {
			star, hasStar = weight, true
			continue
		}
		if bytes.EqualFold(token, []byte("x-gzip")) {
			token = []byte("gzip")
		}
		for e := range numEncodings {
			if bytes.EqualFold(token, []byte(encodingInfo[e].token)) {
				q[e], named[e] = weight, true
			}
		}
	}
	if hasStar {
		for e := range numEncodings {
			if !named[e] {
				q[e] = star
			}
		}
	}
	return q
}

// parseQ finds "q=" among an element's parameters and returns its value in
// thousandths; absent or malformed is 1000.
func parseQ(params []byte) int {
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte{';'})
		p = trimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		v := p[2:]
		if len(v) == 0 || (v[0] != '0' && v[0] != '1') {
			return 1000
		}
		n := int(v[0]-'0') * 1000
		if len(v) > 1 {
			if v[1] != '.' || len(v) > 5 {
				return 1000
			}
			scale := 100
			for _, c := range v[2:] {
				if c < '0' || c > '9' {
					return 1000
				}
				n += int(c-'0') * scale
				scale /= 10
			}
		}
		return min(n, 1000)
	}
	return 1000
}

// bestEncoding picks the acceptable coding the client weighs highest among
// those available, preferring br, then zstd, then gzip on a tie; it
// returns encIdentity when none is acceptable.
func bestEncoding(q [numEncodings]int, available func(encoding) bool) encoding {
	best, bestQ := encIdentity, 0
	for e := range numEncodings {
		if q[e] > bestQ && available(e) {
			best, bestQ = e, q[e]
		}
	}
	return best
}
