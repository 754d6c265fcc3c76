package tlsstate

// Record framing shared by every protocol version (RFC 8446 §5.1, RFC 5246
// §6.2): split whole records off a byte stream, never consuming a partial one,
// and build record headers.

// contentType is a record's outer (or, in TLS 1.3, inner) content type.
type contentType uint8

const (
	typeChangeCipherSpec contentType = 20
	typeAlert            contentType = 21
	typeHandshake        contentType = 22
	typeApplicationData  contentType = 23
)

const (
	recordHeaderLen = 5
	// maxPlaintext is the largest record fragment (RFC 8446 §5.1).
	maxPlaintext = 1 << 14
	// maxCiphertext13 bounds a TLS 1.3 protected record (RFC 8446 §5.2).
	maxCiphertext13 = maxPlaintext + 256
	// legacyRecordVersion is written in every record this server sends.
	legacyRecordVersion = 0x0303
)

// record is one whole record sliced out of the input.
type record struct {
	typ contentType
	// header is the five header bytes: the AEAD additional data in TLS 1.3.
	header []byte
	// payload is the fragment (plaintext or protected).
	payload []byte
}

// nextRecord splits one record off the front of in. It returns n == 0 when in
// holds only part of a record, so the caller keeps those bytes and waits for
// more. The header is checked as soon as it is complete, so an oversized or
// mistyped record fails before its body arrives. maxCiphertext bounds protected
// (application_data) records; every other type is bounded by maxPlaintext.
// The legacy record version is ignored, as RFC 8446 §5.1 requires.
func nextRecord(in []byte, maxCiphertext int) (rec record, n int, err *AlertError) {
	if len(in) < recordHeaderLen {
		return record{}, 0, nil
	}
	typ := contentType(in[0])
	length := int(in[3])<<8 | int(in[4])
	switch typ {
	case typeApplicationData:
		if length > maxCiphertext {
			return record{}, 0, fatal(AlertRecordOverflow, "protected record longer than allowed")
		}
	case typeChangeCipherSpec, typeAlert, typeHandshake:
		if length > maxPlaintext {
			return record{}, 0, fatal(AlertRecordOverflow, "plaintext record longer than 2^14")
		}
	default:
		return record{}, 0, fatal(AlertUnexpectedMessage, "unknown record content type")
	}
	if len(in) < recordHeaderLen+length {
		return record{}, 0, nil
	}
	n = recordHeaderLen + length
	return record{typ: typ, header: in[:recordHeaderLen:recordHeaderLen], payload: in[recordHeaderLen:n:n]}, n, nil
}

// appendRecordHeader appends a record header for a fragment of length bytes.
func appendRecordHeader(out []byte, typ contentType, length int) []byte {
	return append(out, byte(typ), legacyRecordVersion>>8, legacyRecordVersion&0xff, byte(length>>8), byte(length))
}

// appendPlaintextRecords appends body as unprotected records of typ, split
// into fragments of at most maxPlaintext bytes.
func appendPlaintextRecords(out []byte, typ contentType, body []byte) []byte {
	for len(body) > 0 {
		n := min(len(body), maxPlaintext)
		out = appendRecordHeader(out, typ, n)
		out = append(out, body[:n]...)
		body = body[n:]
	}
	return out
}

// changeCipherSpecRecord is the compatibility-mode dummy record (RFC 8446 §D.4).
var changeCipherSpecRecord = []byte{byte(typeChangeCipherSpec), 0x03, 0x03, 0x00, 0x01, 0x01}
