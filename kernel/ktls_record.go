package kernel

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RecordTypeCmsgSpace is the control buffer size RecvRecord needs: one
// SOL_TLS cmsg carrying a one-byte record type.
var RecordTypeCmsgSpace = unix.CmsgSpace(1)

// SendRecord sends data as one TLS record of content type recordType on a
// socket with TX keys installed: sendmsg with a SOL_TLS/TLS_SET_RECORD_TYPE
// cmsg. Use it for alerts (21) and post-handshake messages (22: KeyUpdate,
// NewSessionTicket); plain write and sendfile send application data (23).
// The kernel first closes any open application-data record.
//
// It returns the number of bytes of data taken. A short count (possible on a
// non-blocking socket) leaves the record open: the rest must be sent with the
// same record type before anything else.
func SendRecord(fd int, recordType uint8, data []byte) (int, error) {
	var oob [4]uint64 // ≥ unix.CmsgSpace(1) on every Linux architecture, aligned for Cmsghdr
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = unix.SOL_TLS
	h.Type = TLS_SET_RECORD_TYPE
	h.SetLen(unix.CmsgLen(1))
	cmsg := unsafe.Slice((*byte)(unsafe.Pointer(&oob[0])), unix.CmsgSpace(1))
	cmsg[unix.CmsgLen(0)] = recordType
	n, err := unix.SendmsgN(fd, data, cmsg, nil, unix.MSG_NOSIGNAL)
	if err != nil {
		return n, fmt.Errorf("kernel: sendmsg(TLS record type %d): %w", recordType, err)
	}
	return n, nil
}

// RecvRecord reads decrypted bytes of one record type from a socket with RX
// keys installed: recvmsg with cmsgBuf (at least RecordTypeCmsgSpace bytes) as
// the control buffer. recordType comes from the SOL_TLS/TLS_GET_RECORD_TYPE
// cmsg and is RecordApplicationData when the kernel attaches none. One call
// never mixes record types; a control record is returned whole when buf can
// hold it (2 bytes for an alert).
//
// n == 0 with a nil error means the peer closed the TCP connection. Errors
// are those of read after InstallRX (EBADMSG, EKEYEXPIRED, EAGAIN, ...),
// wrapped.
func RecvRecord(fd int, buf []byte, cmsgBuf []byte) (n int, recordType uint8, err error) {
	if len(cmsgBuf) < RecordTypeCmsgSpace {
		return 0, 0, fmt.Errorf("kernel: RecvRecord control buffer is %d bytes, want at least %d", len(cmsgBuf), RecordTypeCmsgSpace)
	}
	n, oobn, flags, _, err := unix.Recvmsg(fd, buf, cmsgBuf, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("kernel: recvmsg on kTLS socket: %w", err)
	}
	if flags&unix.MSG_CTRUNC != 0 {
		return n, 0, fmt.Errorf("kernel: recvmsg control data truncated")
	}
	recordType, err = parseRecordType(cmsgBuf[:oobn])
	return n, recordType, err
}

// parseRecordType finds the TLS_GET_RECORD_TYPE cmsg in a control buffer
// without allocating; without one the record is application data.
func parseRecordType(oob []byte) (uint8, error) {
	headerLen := unix.CmsgLen(0)
	for len(oob) >= headerLen {
		var h unix.Cmsghdr // copied out: oob need not be aligned
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&h)), unix.SizeofCmsghdr), oob)
		if int(h.Len) < headerLen || int(h.Len) > len(oob) {
			return 0, fmt.Errorf("kernel: malformed cmsg of length %d in %d bytes", h.Len, len(oob))
		}
		if h.Level == unix.SOL_TLS && h.Type == TLS_GET_RECORD_TYPE {
			if int(h.Len) < headerLen+1 {
				return 0, fmt.Errorf("kernel: empty TLS_GET_RECORD_TYPE cmsg")
			}
			return oob[headerLen], nil
		}
		oob = oob[min(unix.CmsgSpace(int(h.Len)-headerLen), len(oob)):]
	}
	return RecordApplicationData, nil
}
