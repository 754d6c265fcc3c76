package http1

import "bytes"

// maxChunkLine bounds a chunk-size line with its extensions (RFC 9112
// §7.1.1 sets no limit; every server needs one).
const maxChunkLine = 1024

// chunkPhase is where a chunked body's decoding stands.
type chunkPhase uint8

const (
	chunkSizeLine chunkPhase = iota // chunk-size [ chunk-ext ] CRLF
	chunkData                       // the chunk's data
	chunkDataEnd                    // the CRLF after the data
	chunkTrailer                    // trailer field lines, up to an empty line
)

// chunkedBody decodes a chunked request body (RFC 9112 §7.1) in place, as
// it arrives: the decoded body is kept right after the head, at
// in[headLen:headLen+n], and the bytes not decoded yet follow it. So the
// buffer holds the body, not its framing, and no byte is looked at twice.
type chunkedBody struct {
	n       int   // body bytes decoded
	left    int64 // data bytes of the current chunk still to come
	phase   chunkPhase
	trailer int // bytes of the trailer section so far
	// scanned is how much of the incomplete line at the front of the
	// undecoded bytes was searched for its end by earlier calls.
	scanned int
}

// decode decodes what has arrived after in[:headLen+n]. It returns the
// message's length (head and chunked body) once the body and its trailer
// section are complete; or 0 and keep, the length of in that now holds the
// request (the framing it decoded is dropped), when more input is needed;
// or a status to refuse the request with: 400 for broken framing, 413 for a
// body over maxBody, 431 for a trailer section over maxTrailer bytes.
// Trailer fields are checked and discarded (RFC 9112 §7.1.2 allows it).
func (c *chunkedBody) decode(in []byte, headLen int, maxBody int64, maxTrailer int) (end, keep, status int) {
	r := headLen + c.n // the first byte not decoded
	for {
		switch c.phase {
		case chunkSizeLine:
			line, next, status := c.cutCRLF(in, r, maxChunkLine)
			if status != 0 {
				return 0, 0, status
			}
			if next == 0 {
				return 0, c.compact(in, headLen, r), 0
			}
			size, status := parseChunkSize(line, maxBody-int64(c.n))
			if status != 0 {
				return 0, 0, status
			}
			r = next
			c.left, c.phase = size, chunkData
			if size == 0 {
				c.phase = chunkTrailer
			}
		case chunkData:
			k := min(c.left, int64(len(in)-r))
			copy(in[headLen+c.n:], in[r:r+int(k)])
			c.n += int(k)
			r += int(k)
			c.left -= k
			if c.left > 0 {
				return 0, c.compact(in, headLen, r), 0
			}
			c.phase = chunkDataEnd
		case chunkDataEnd:
			switch {
			case len(in)-r >= 2 && in[r] == '\r' && in[r+1] == '\n':
				r += 2
				c.phase = chunkSizeLine
			case len(in)-r >= 2 || len(in)-r == 1 && in[r] != '\r':
				return 0, 0, StatusBadRequest
			default:
				return 0, c.compact(in, headLen, r), 0
			}
		case chunkTrailer:
			line, next, status := c.cutCRLF(in, r, maxTrailer-c.trailer)
			if status == StatusBadRequest && len(in)-r >= maxTrailer-c.trailer {
				status = StatusRequestHeaderFieldsTooLarge
			}
			if status != 0 {
				return 0, 0, status
			}
			if next == 0 {
				return 0, c.compact(in, headLen, r), 0
			}
			c.trailer += next - r
			r = next
			if len(line) == 0 {
				return r, 0, 0
			}
			if !validFieldLine(line) {
				return 0, 0, StatusBadRequest
			}
		}
	}
}

// cutCRLF finds the line at in[r:], which must end in CRLF within limit
// bytes. It returns the line without its CRLF and the index after it; next
// is 0 while the line is incomplete; status is 400 for a bare LF or a line
// past the limit.
func (c *chunkedBody) cutCRLF(in []byte, r, limit int) (line []byte, next, status int) {
	end := min(len(in), r+limit)
	i := bytes.IndexByte(in[r+c.scanned:end], '\n')
	if i < 0 {
		if end-r >= limit {
			return nil, 0, StatusBadRequest
		}
		c.scanned = end - r
		return nil, 0, 0
	}
	i += r + c.scanned
	c.scanned = 0
	if i == r || in[i-1] != '\r' {
		return nil, 0, StatusBadRequest // a bare LF: no leniency inside the framing
	}
	return in[r : i-1], i + 1, 0
}

// compact moves the undecoded bytes in[r:] down to follow the decoded body
// and returns the length of in still in use.
func (c *chunkedBody) compact(in []byte, headLen, r int) int {
	at := headLen + c.n
	return at + copy(in[at:], in[r:])
}

// parseChunkSize reads "chunk-size [ chunk-ext ]": at least one hex digit
// and, after optional blanks, nothing or extensions starting with ';'
// (ignored, but free of control characters). A size over room is refused
// with 413 however many digits it has; the line's length bounds the digits.
func parseChunkSize(line []byte, room int64) (int64, int) {
	size, i := int64(0), 0
	for ; i < len(line); i++ {
		d, ok := unhex(line[i])
		if !ok {
			break
		}
		if size <= room {
			size = size<<4 | int64(d)
		}
	}
	if i == 0 {
		return 0, StatusBadRequest
	}
	ext := line[i:]
	for len(ext) > 0 && (ext[0] == ' ' || ext[0] == '\t') {
		ext = ext[1:]
	}
	if len(ext) > 0 && (ext[0] != ';' || !validFieldValue(ext)) {
		return 0, StatusBadRequest
	}
	if size > room {
		return 0, StatusContentTooLarge
	}
	return size, 0
}

// validFieldLine checks a trailer line as parseHeaderLine checks a header
// line: a token, a colon, a valid value.
func validFieldLine(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return false
	}
	return validFieldValue(trimOWS(line[colon+1:]))
}
