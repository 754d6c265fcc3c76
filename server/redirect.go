package server

import (
	"bytes"
	"strconv"

	"lwango/http1"
)

// httpsRedirect answers every cleartext request with a permanent redirect
// to the same path on the TLS listener (tls_listener.redirect_http).
type httpsRedirect struct {
	port int // the TLS listener's port; left out of the URL when 443
}

func (h httpsRedirect) ServeHTTP1(req *http1.Request, resp *http1.Response) {
	host := hostWithoutPort(req.Host)
	if len(host) == 0 {
		resp.Status = 400 // HTTP/1.0 without Host: nowhere to send the client
		return
	}
	resp.Status = 301
	b := append(resp.Extra, "Location: https://"...)
	b = append(b, host...)
	if h.port != 443 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(h.port), 10)
	}
	b = appendPathEscaped(b, req.Path)
	if len(req.Query) > 0 {
		b = append(b, '?')
		b = append(b, req.Query...) // the parser left it as sent: already escaped
	}
	resp.Extra = append(b, "\r\n"...)
}

// hostWithoutPort strips ":port" from a Host value ("[v6]:port" keeps its
// brackets).
func hostWithoutPort(host []byte) []byte {
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && !bytes.Contains(host[i:], []byte("]")) {
		return host[:i]
	}
	return host
}

// appendPathEscaped appends a decoded path percent-encoded again: bytes
// outside RFC 3986's unreserved set, sub-delims, ':', '@' and '/' become %XX.
func appendPathEscaped(b, path []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range path {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			b = append(b, c)
		case bytes.IndexByte([]byte("-._~!$&'()*+,;=:@/"), c) >= 0:
			b = append(b, c)
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}
