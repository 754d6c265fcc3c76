package http1

import "bytes"

// Parse parses the request head (request line and header lines, up to and
// including the empty line) at the start of in, in place: req's slices
// point into in, and the path is decoded and normalised where it lies, so
// in is modified and must not be parsed again.
//
// It returns the head's length and status 0 when the head is complete and
// acceptable; 0 and 0 when in holds only the start of a head; or 0 and the
// status to refuse the request with. A head longer than maxHead bytes is
// refused with 414 when the request line alone does not fit, else 431.
// Parse reads at most maxHead bytes of in, and checks the request line and
// each header line as soon as it is complete, so feeding a request in pieces
// gives the same answer as feeding it whole.
//
// Parse does not judge the method: an unrecognised one is MethodUnknown
// (the engine answers 501). Nor does it know the body size limit.
func Parse(in []byte, req *Request, maxHead int) (headLen int, status int) {
	req.reset()
	scan := headScan{next: emptyLines(in)}
	headLen, status = parseHead(in, req, maxHead, &scan)
	if status != 0 {
		return 0, status
	}
	if headLen > 0 {
		req.decodePath()
	}
	return headLen, status
}

// parseHead is Parse without the path's decoding, resumable: it parses the
// complete lines of in from scan.next on into req (which holds the lines
// before, parsed by earlier calls on the same bytes) and advances scan, so
// no line is parsed twice however the head arrives. It leaves req.Path as
// sent (but checked, so cleanPath cannot fail) and in untouched. Unlike
// Parse, it returns the head's length along with the status when the head
// was complete but its fields refused (417, 501, some 400s): the request
// line and headers are then whole and checked.
func parseHead(in []byte, req *Request, maxHead int, scan *headScan) (headLen int, status int) {
	full := len(in) >= maxHead
	if full {
		in = in[:maxHead]
	}
	for {
		line, next, complete := cutLine(in, scan)
		if !complete {
			switch {
			case !full:
				return 0, 0
			case !scan.requestLine:
				return 0, StatusURITooLong
			}
			return 0, StatusRequestHeaderFieldsTooLarge
		}
		scan.next = next
		scan.lines++
		if !scan.requestLine {
			scan.requestLine = true
			if status := parseRequestLine(line, req); status != 0 {
				return 0, status
			}
			continue
		}
		if len(line) == 0 {
			break
		}
		if status := parseHeaderLine(line, req); status != 0 {
			return 0, status
		}
	}
	if status := judgeHead(req); status != 0 {
		return scan.next, status
	}
	return scan.next, 0
}

// emptyLines returns the length of the complete empty lines (CRLF or LF)
// at the start of in.
func emptyLines(in []byte) int {
	n := 0
	for {
		switch {
		case n < len(in) && in[n] == '\n':
			n++
		case n+1 < len(in) && in[n] == '\r' && in[n+1] == '\n':
			n += 2
		default:
			return n
		}
	}
}

// cutLine returns the line starting at in[scan.next], without its LF or
// CRLF, and the index after its end. complete is false when no LF follows
// yet; then scan remembers how far the line was searched, so the next call
// searches only the bytes that arrived since. A CR inside the line is left
// for the line's parser to refuse.
func cutLine(in []byte, scan *headScan) (line []byte, next int, complete bool) {
	p := scan.next
	i := bytes.IndexByte(in[p+scan.scanned:], '\n')
	if i < 0 {
		scan.scanned = len(in) - p
		return nil, 0, false
	}
	i += scan.scanned
	scan.scanned = 0
	line = in[p : p+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, p + i + 1, true
}

// parseRequestLine parses "method SP request-target SP HTTP-version"
// (RFC 9112 §3), with exactly one space between the parts.
func parseRequestLine(line []byte, req *Request) int {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || !isToken(line[:sp]) {
		return StatusBadRequest
	}
	method := line[:sp]
	req.MethodToken = method
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return StatusBadRequest
	}
	target, version := rest[:sp], rest[sp+1:]

	// HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3).
	if len(version) != 8 || string(version[:5]) != "HTTP/" || version[6] != '.' ||
		!isDigit(version[5]) || !isDigit(version[7]) {
		return StatusBadRequest
	}
	if version[5] != '1' {
		return StatusHTTPVersionNotSupported
	}
	// RFC 9110 §2.5: a higher minor version is served as the highest we know.
	req.Minor = 1
	if version[7] == '0' {
		req.Minor = 0
	}

	if status := parseTarget(target, req); status != 0 {
		return status
	}
	req.Method = parseMethod(method)
	return 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseTarget accepts the origin form "/path?query" and the absolute form
// "http://authority/path?query" (RFC 9112 §3.2). The asterisk and authority
// forms are refused: no method served here uses them.
func parseTarget(target []byte, req *Request) int {
	req.rawTarget = target
	for _, c := range target {
		if c <= ' ' || c == 0x7f || c == '#' {
			return StatusBadRequest
		}
	}
	if target[0] != '/' {
		authority, path, ok := splitAbsolute(target)
		if !ok {
			return StatusBadRequest
		}
		req.Host = authority
		req.facts.absoluteForm = true
		target = path
	}
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		req.Query = target[q+1:]
		target = target[:q]
	}
	if len(target) == 0 {
		req.Path = rootPath
		return 0
	}
	ok, clean := checkPath(target)
	if !ok {
		return StatusBadRequest
	}
	req.Path = target
	req.facts.pathClean = clean
	return 0
}

// splitAbsolute splits an absolute-form target with an http or https scheme
// into its authority and the rest, which is empty or starts with '/' or '?'.
// An authority with userinfo or an invalid host byte is refused.
func splitAbsolute(target []byte) (authority, rest []byte, ok bool) {
	var after []byte
	switch {
	case len(target) > 7 && equalFold(target[:7], "http://"):
		after = target[7:]
	case len(target) > 8 && equalFold(target[:8], "https://"):
		after = target[8:]
	default:
		return nil, nil, false
	}
	end := 0
	for end < len(after) && after[end] != '/' && after[end] != '?' {
		end++
	}
	authority = after[:end]
	if !validHost(authority) || len(authority) == 0 {
		return nil, nil, false
	}
	return authority, after[end:], true
}

// hostByte marks the bytes a Host value may hold: those of a reg-name or
// IP literal with an optional port (RFC 3986 §3.2.2). '@' is excluded, so
// no userinfo.
var hostByte = [256]bool{}

func init() {
	for c := '0'; c <= '9'; c++ {
		hostByte[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		hostByte[c] = true
		hostByte[c-'a'+'A'] = true
	}
	for _, c := range "-._~!$&'()*+,;=:[]%" {
		hostByte[c] = true
	}
}

func validHost(h []byte) bool {
	for _, c := range h {
		if !hostByte[c] {
			return false
		}
	}
	return true
}
