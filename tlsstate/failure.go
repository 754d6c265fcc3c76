package tlsstate

import "strconv"

// Failure says why a handshake failed, in fields a log line or a metrics
// counter can use without parsing an error string.
type Failure struct {
	// Alert is the alert that ended the handshake, if HasAlert; Sent says
	// this side sent it (false: the peer did).
	Alert    Alert
	HasAlert bool
	Sent     bool
	// Reason is why this side failed the handshake ("" when the peer's
	// alert or the caller's own reason says it all).
	Reason string
	// Version is the best protocol version the client offered (0 when no
	// ClientHello was read); ServerName is its SNI ("" when none).
	Version    uint16
	ServerName string
}

// Direction is "sent", "received", or "none" when no alert went either way.
func (f Failure) Direction() string {
	switch {
	case !f.HasAlert:
		return "none"
	case f.Sent:
		return "sent"
	}
	return "received"
}

// VersionName names a protocol version as logs do ("TLS 1.3"); "-" for 0.
func VersionName(v uint16) string {
	switch v {
	case 0:
		return "-"
	case 0x0300:
		return "SSL 3.0"
	case 0x0301, 0x0302, VersionTLS12, VersionTLS13:
		return "TLS 1." + strconv.Itoa(int(v-0x0301))
	}
	return "0x" + hex16(v)
}

// Failure describes the handshake so far: after Failed, with the alert and
// reason; before (the caller abandons a handshake that timed out or whose
// peer closed), with what the ClientHello said.
func (s *Server) Failure() Failure {
	f := Failure{Version: s.offeredVersion, ServerName: s.offeredName}
	switch err := s.err.(type) {
	case *AlertError:
		f.Alert, f.HasAlert, f.Sent, f.Reason = err.Alert, true, true, err.Reason
	case *PeerAlertError:
		f.Alert, f.HasAlert = err.Alert, true
	}
	return f
}
