package tlsstate

import "strconv"

// Alert is a TLS alert description (RFC 8446 §6).
type Alert uint8

// The alert descriptions this package sends or recognises (RFC 8446 §6).
const (
	AlertCloseNotify           Alert = 0
	AlertUnexpectedMessage     Alert = 10
	AlertBadRecordMAC          Alert = 20
	AlertRecordOverflow        Alert = 22
	AlertHandshakeFailure      Alert = 40
	AlertBadCertificate        Alert = 42
	AlertIllegalParameter      Alert = 47
	AlertDecodeError           Alert = 50
	AlertDecryptError          Alert = 51
	AlertProtocolVersion       Alert = 70
	AlertInappropriateFallback Alert = 86
	AlertInternalError         Alert = 80
	AlertUserCanceled          Alert = 90
	AlertNoRenegotiation       Alert = 100
	AlertMissingExtension      Alert = 109
	AlertUnsupportedExtension  Alert = 110
	AlertUnrecognizedName      Alert = 112
	AlertNoApplicationProtocol Alert = 120
)

var alertNames = map[Alert]string{
	AlertCloseNotify:           "close_notify",
	AlertUnexpectedMessage:     "unexpected_message",
	AlertBadRecordMAC:          "bad_record_mac",
	AlertRecordOverflow:        "record_overflow",
	AlertHandshakeFailure:      "handshake_failure",
	AlertBadCertificate:        "bad_certificate",
	AlertIllegalParameter:      "illegal_parameter",
	AlertDecodeError:           "decode_error",
	AlertDecryptError:          "decrypt_error",
	AlertProtocolVersion:       "protocol_version",
	AlertInappropriateFallback: "inappropriate_fallback",
	AlertInternalError:         "internal_error",
	AlertUserCanceled:          "user_canceled",
	AlertNoRenegotiation:       "no_renegotiation",
	AlertMissingExtension:      "missing_extension",
	AlertUnsupportedExtension:  "unsupported_extension",
	AlertUnrecognizedName:      "unrecognized_name",
	AlertNoApplicationProtocol: "no_application_protocol",
}

// String returns the RFC name of the alert.
func (a Alert) String() string {
	if name, ok := alertNames[a]; ok {
		return name
	}
	return "alert(" + strconv.Itoa(int(a)) + ")"
}

// Alert levels (RFC 8446 §6). TLS 1.3 ignores the level of a received alert
// except that close_notify and user_canceled are the only non-fatal ones.
const (
	alertLevelWarning = 1
	alertLevelFatal   = 2
)

// parseAlert checks an alert record's content (RFC 8446 §6, RFC 5246
// §7.2): exactly a level and a description. An empty one is
// unexpected_message, as for any handshake or alert record without content
// (RFC 8446 §5.4); a record of another length is decode_error.
func parseAlert(body []byte) (level uint8, a Alert, err *AlertError) {
	switch len(body) {
	case 0:
		return 0, 0, fatal(AlertUnexpectedMessage, "empty alert record")
	case 2:
		return body[0], Alert(body[1]), nil
	}
	return 0, 0, fatal(AlertDecodeError, "alert record of the wrong length")
}

// errEmptyHandshakeRecord answers a handshake record without content (RFC
// 8446 §5.4: unexpected_message; RFC 5246 §6.2.1 forbids them too).
func errEmptyHandshakeRecord() *AlertError {
	return fatal(AlertUnexpectedMessage, "empty handshake record")
}

// AlertError is a fatal protocol error detected by this side: the alert
// record has been (or is being) sent to the peer and the connection must be
// closed without a close_notify.
type AlertError struct {
	Alert  Alert
	Reason string
}

// Error describes the alert and why it was sent.
func (e *AlertError) Error() string {
	return "tls: sent " + e.Alert.String() + ": " + e.Reason
}

// PeerAlertError reports a fatal alert received from the peer. Nothing is
// sent in reply; the connection must be closed.
type PeerAlertError struct {
	Alert Alert
}

// Error names the alert the peer sent.
func (e *PeerAlertError) Error() string {
	return "tls: peer sent " + e.Alert.String()
}

// fatal builds the error for an alert this side sends.
func fatal(a Alert, reason string) *AlertError {
	return &AlertError{Alert: a, Reason: reason}
}

// alertBody is the two-byte body of an alert record: level then description.
func alertBody(a Alert) [2]byte {
	level := byte(alertLevelFatal)
	if a == AlertCloseNotify || a == AlertUserCanceled || a == AlertNoRenegotiation {
		level = alertLevelWarning
	}
	return [2]byte{level, byte(a)}
}
