package http1

import "strconv"

// The status codes the engine itself answers with.
const (
	StatusContinue                    = 100
	StatusOK                          = 200
	StatusNoContent                   = 204
	StatusNotModified                 = 304
	StatusBadRequest                  = 400
	StatusMethodNotAllowed            = 405
	StatusRequestTimeout              = 408
	StatusLengthRequired              = 411
	StatusContentTooLarge             = 413
	StatusURITooLong                  = 414
	StatusExpectationFailed           = 417
	StatusRequestHeaderFieldsTooLarge = 431
	StatusInternalServerError         = 500
	StatusNotImplemented              = 501
	StatusHTTPVersionNotSupported     = 505
)

// StatusText returns the reason phrase of an HTTP status code (RFC 9110
// §15), or "" for a code it does not know.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 418:
		return "I'm a teapot"
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Content"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// statusLines holds "HTTP/1.1 <code> <reason>\r\n" for every code from 100
// to 599, rendered once so that writing a status line is one copy.
var statusLines [600][]byte

// errorPages holds the small HTML body the engine sends with an error
// status, for every code from 400 to 599.
var errorPages [600][]byte

func init() {
	for code := 100; code < len(statusLines); code++ {
		line := strconv.AppendInt([]byte("HTTP/1.1 "), int64(code), 10)
		line = append(line, ' ')
		line = append(line, StatusText(code)...)
		statusLines[code] = append(line, "\r\n"...)
	}
	for code := 400; code < len(errorPages); code++ {
		title := strconv.Itoa(code) + " " + StatusText(code)
		errorPages[code] = []byte("<!DOCTYPE html>\n<html><head><title>" + title +
			"</title></head>\n<body><h1>" + title + "</h1></body></html>\n")
	}
}

// ErrorPage returns the HTML body the engine sends with status code, a
// value from 400 to 599 (any other code gets the page of 500). The slice is
// shared: do not modify it.
func ErrorPage(code int) []byte {
	if code < 400 || code >= len(errorPages) {
		code = 500
	}
	return errorPages[code]
}
