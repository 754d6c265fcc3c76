package http2

import (
	"golang.org/x/net/http2/hpack"

	"lwango/http1"
)

// field receives each field the HPACK decoder emits for the header block
// being decoded and checks it against RFC 9113 §8.2 and §8.3. A block
// decoded only to keep the HPACK state in step (a refused stream) has no
// stream and its fields are dropped. A field section larger than the
// limit is noted (431) and the rest is not stored.
func (c *Conn) field(f hpack.HeaderField) {
	s := c.block.st
	if s == nil {
		return
	}
	s.listSize += len(f.Name) + len(f.Value) + 32
	if s.listSize > c.maxFieldSection {
		s.tooLarge = true
		return
	}
	if s.malformed || s.tooLarge {
		return
	}
	if !validFieldValue(f.Value) {
		s.malformed = true // §8.2.1
		return
	}
	if len(f.Name) > 0 && f.Name[0] == ':' {
		s.pseudoField(f)
		return
	}
	s.sawRegular = true
	switch {
	case !validFieldName(f.Name): // §8.2.1, §8.2 (uppercase)
		s.malformed = true
	case connectionSpecific(f.Name): // §8.2.2
		s.malformed = true
	case f.Name == "te" && f.Value != "trailers": // §8.2.2
		s.malformed = true
	case s.trailers:
		// Trailer fields are checked, not kept: no handler reads them.
	case len(s.fields) == http1.MaxHeaders:
		s.tooLarge = true
	default:
		s.fields = append(s.fields, fieldRef{name: s.store(f.Name), value: s.store(f.Value)})
	}
}

// pseudoField takes a request pseudo-header (RFC 9113 §8.3.1): each at
// most once, all before the regular fields, none in trailers, and none
// but the four a request has.
func (s *stream) pseudoField(f hpack.HeaderField) {
	if s.sawRegular || s.trailers {
		s.malformed = true
		return
	}
	var bit uint8
	var sp *span
	switch f.Name {
	case ":method":
		bit, sp = pseudoMethod, &s.method
	case ":scheme":
		bit, sp = pseudoScheme, &s.scheme
	case ":path":
		bit, sp = pseudoPath, &s.path
	case ":authority":
		bit, sp = pseudoAuthority, &s.authority
	default:
		s.malformed = true
		return
	}
	if s.pseudoSeen&bit != 0 {
		s.malformed = true
		return
	}
	s.pseudoSeen |= bit
	*sp = s.store(f.Value)
}

// connectionSpecific reports the fields HTTP/2 forbids (RFC 9113 §8.2.2).
func connectionSpecific(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// validFieldName: a non-empty token with no uppercase letter (RFC 9113
// §8.2, §8.2.1).
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !tokenByte[c] || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// validFieldValue: no NUL, CR or LF, and no leading or trailing space or
// tab (RFC 9113 §8.2.1).
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\r' || c == '\n' {
			return false
		}
	}
	if n := len(v); n > 0 && (isSpace(v[0]) || isSpace(v[n-1])) {
		return false
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// tokenByte marks tchar (RFC 9110 §5.6.2).
var tokenByte = [256]bool{}

func init() {
	for c := '0'; c <= '9'; c++ {
		tokenByte[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		tokenByte[c] = true
		tokenByte[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		tokenByte[c] = true
	}
}

// request builds the stream's http1.Request once its header block is
// complete (RFC 9113 §8.3.1). It returns ok=false when the request is
// malformed (a stream error of type PROTOCOL_ERROR, §8.1.1), or a status to
// answer with instead of the handler's (400 for a target or value HTTP/1.1
// would refuse too, 431, 413).
func (s *stream) request(maxBody int64) (status int, ok bool) {
	if s.malformed {
		return 0, false
	}
	if s.tooLarge {
		return http1.StatusRequestHeaderFieldsTooLarge, true
	}
	method := s.bytes(s.method)
	if s.pseudoSeen&pseudoMethod == 0 {
		return 0, false
	}
	if string(method) == "CONNECT" {
		// §8.5: only :method and :authority. lwango is no proxy: 405.
		if s.pseudoSeen != pseudoMethod|pseudoAuthority {
			return 0, false
		}
		s.req.BeginFields(method, []byte("/"))
		return 0, true
	}
	if s.pseudoSeen&(pseudoScheme|pseudoPath) != pseudoScheme|pseudoPath || s.path.n == 0 {
		return 0, false // §8.3.1: :method, :scheme and a non-empty :path
	}
	if status := s.req.BeginFields(method, s.bytes(s.path)); status != 0 {
		return status, true
	}
	if s.pseudoSeen&pseudoAuthority != 0 {
		if status := s.req.SetAuthority(s.bytes(s.authority)); status != 0 {
			return status, true
		}
	}
	for _, f := range s.fields {
		if status := s.req.AddField(s.bytes(f.name), s.bytes(f.value)); status != 0 {
			return status, true
		}
	}
	s.contentLength = s.req.ContentLength
	if s.contentLength > maxBody {
		return http1.StatusContentTooLarge, true
	}
	return 0, true
}
