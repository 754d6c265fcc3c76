package http1

// parseMethod names the method token m. Methods are case-sensitive
// (RFC 9110 §9.1); any token not listed is MethodUnknown.
func parseMethod(m []byte) Method {
	switch string(m) {
	case "GET":
		return MethodGet
	case "HEAD":
		return MethodHead
	case "POST":
		return MethodPost
	case "PUT":
		return MethodPut
	case "DELETE":
		return MethodDelete
	case "OPTIONS":
		return MethodOptions
	case "PATCH":
		return MethodPatch
	}
	return MethodUnknown
}

// String returns the method's token, or "UNKNOWN".
func (m Method) String() string {
	switch m {
	case MethodGet:
		return "GET"
	case MethodHead:
		return "HEAD"
	case MethodPost:
		return "POST"
	case MethodPut:
		return "PUT"
	case MethodDelete:
		return "DELETE"
	case MethodOptions:
		return "OPTIONS"
	case MethodPatch:
		return "PATCH"
	}
	return "UNKNOWN"
}

// allowHeader is sent with an engine error page for 405 (AppendError):
// every method the parser recognises.
const allowHeader = "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n"
