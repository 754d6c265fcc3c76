package http1

import "math"

// parseHeaderLine parses "field-name: OWS field-value OWS" (RFC 9112 §5),
// stores the header and notes what the known ones say.
func parseHeaderLine(line []byte, req *Request) int {
	colon := -1
	for i, c := range line {
		if c == ':' {
			colon = i
			break
		}
		// A leading space (obs-fold, RFC 9112 §5.2), a space before the
		// colon (§5.1) and any other non-token byte land here.
		if !tchar[c] {
			return StatusBadRequest
		}
	}
	if colon <= 0 {
		return StatusBadRequest
	}
	name, value := line[:colon], trimOWS(line[colon+1:])
	if !validFieldValue(value) {
		return StatusBadRequest
	}
	if req.NumHeaders == MaxHeaders {
		return StatusRequestHeaderFieldsTooLarge
	}
	req.Headers[req.NumHeaders] = Header{Name: name, Value: value}
	req.NumHeaders++
	return noteKnownHeader(name, value, req)
}

// noteKnownHeader records a header the server acts on. Repeated headers
// keep their first value, except where a repetition changes the framing.
func noteKnownHeader(name, value []byte, req *Request) int {
	f := &req.facts
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			// RFC 9112 §3.2: exactly one valid Host.
			if f.sawHost || !validHost(value) {
				return StatusBadRequest
			}
			f.sawHost = true
			if !f.absoluteForm {
				req.Host = value
			}
		}
	case 5:
		if equalFold(name, "range") && req.Range == nil {
			req.Range = value
		}
	case 6:
		if equalFold(name, "expect") {
			if equalFold(value, "100-continue") {
				// RFC 9110 §10.1.1: ignore it from an HTTP/1.0 client.
				req.ExpectContinue = req.Minor == 1
			} else {
				f.expectOther = true
			}
		}
	case 10:
		if equalFold(name, "connection") {
			if req.Connection == nil {
				req.Connection = value
			}
			noteConnectionOptions(value, f)
		}
	case 12:
		if equalFold(name, "content-type") && req.ContentType == nil {
			req.ContentType = value
		}
	case 13:
		switch {
		case equalFold(name, "authorization") && req.Authorization == nil:
			req.Authorization = value
		case equalFold(name, "if-none-match") && req.IfNoneMatch == nil:
			req.IfNoneMatch = value
		}
	case 14:
		if equalFold(name, "content-length") {
			return noteContentLength(value, req)
		}
	case 15:
		if equalFold(name, "accept-encoding") && req.AcceptEncoding == nil {
			req.AcceptEncoding = value
		}
	case 17:
		switch {
		case equalFold(name, "if-modified-since") && req.IfModifiedSince == nil:
			req.IfModifiedSince = value
		case equalFold(name, "transfer-encoding"):
			return noteTransferCodings(value, f)
		}
	}
	return 0
}

// noteConnectionOptions reads the "close" and "keep-alive" options of a
// Connection list (RFC 9110 §7.6.1, RFC 9112 §9.3).
func noteConnectionOptions(list []byte, f *headFacts) {
	for len(list) > 0 {
		var opt []byte
		opt, list = nextListElement(list)
		switch {
		case equalFold(opt, "close"):
			f.connectionClose = true
		case equalFold(opt, "keep-alive"):
			f.connectionKeepAlive = true
		}
	}
}

// noteContentLength parses a Content-Length value. A list of identical
// values, or repeated identical headers, is accepted as one (RFC 9112
// §6.3 item 5); differing values or a non-digit are a framing error. Values
// too large for int64 saturate: they exceed any body limit anyway.
func noteContentLength(list []byte, req *Request) int {
	if len(list) == 0 {
		return StatusBadRequest
	}
	for len(list) > 0 {
		var elem []byte
		elem, list = nextListElement(list)
		if len(elem) == 0 {
			return StatusBadRequest
		}
		n := int64(0)
		for _, c := range elem {
			if !isDigit(c) {
				return StatusBadRequest
			}
			if n > (math.MaxInt64-9)/10 {
				n = math.MaxInt64
				continue
			}
			n = n*10 + int64(c-'0')
		}
		if req.facts.sawContentLength && n != req.ContentLength {
			return StatusBadRequest
		}
		req.facts.sawContentLength = true
		req.ContentLength = n
	}
	return 0
}

// noteTransferCodings reads a Transfer-Encoding list (RFC 9112 §6.1): it
// remembers whether the last coding so far is chunked, whether chunked came
// twice in a row, and whether any other coding is known or unknown.
// Parameters after ';' are ignored.
func noteTransferCodings(list []byte, f *headFacts) int {
	f.sawTransferEncoding = true
	sawCoding := false
	for len(list) > 0 {
		var coding []byte
		coding, list = nextListElement(list)
		for i, c := range coding {
			if c == ';' {
				coding = trimOWS(coding[:i])
				break
			}
		}
		if len(coding) == 0 {
			continue
		}
		sawCoding = true
		chunked := equalFold(coding, "chunked")
		switch {
		case chunked && f.lastCodingChunked:
			f.chunkedTwice = true
		case chunked:
		case knownCoding(coding):
			f.otherCoding = true
		default:
			f.unknownCoding = true
		}
		f.lastCodingChunked = chunked
	}
	if !sawCoding {
		return StatusBadRequest
	}
	return 0
}

// knownCoding reports whether c is a registered transfer coding other than
// chunked.
func knownCoding(c []byte) bool {
	return equalFold(c, "gzip") || equalFold(c, "x-gzip") || equalFold(c, "deflate") ||
		equalFold(c, "compress") || equalFold(c, "x-compress")
}

// judgeHead applies the rules that need the whole head, in this order:
// message framing, Host, expectations; and settles keep-alive.
func judgeHead(req *Request) int {
	f := &req.facts
	if f.sawTransferEncoding {
		switch {
		case f.sawContentLength: // RFC 9112 §6.1: a smuggling attempt
			return StatusBadRequest
		case req.Minor == 0: // RFC 9112 §6.1: faulty framing in HTTP/1.0
			return StatusBadRequest
		case f.unknownCoding:
			return StatusNotImplemented
		case !f.lastCodingChunked: // RFC 9112 §6.3 item 4
			return StatusBadRequest
		case f.chunkedTwice: // RFC 9112 §6.1: chunked is applied once
			return StatusBadRequest
		case f.otherCoding: // gzip and the like under chunked: not decoded here
			return StatusNotImplemented
		}
		// The body is chunked: the engine decodes it.
	}
	if req.Minor == 1 && !f.sawHost { // RFC 9112 §3.2
		return StatusBadRequest
	}
	// Neither Content-Length nor Transfer-Encoding: no body (RFC 9112 §6.3
	// item 7), whatever the method.
	if f.expectOther {
		return StatusExpectationFailed
	}
	if req.Minor == 1 {
		req.KeepAlive = !f.connectionClose
	} else {
		req.KeepAlive = f.connectionKeepAlive && !f.connectionClose
	}
	return 0
}
