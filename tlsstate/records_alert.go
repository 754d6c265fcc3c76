package tlsstate

// FatalAlert appends a fatal alert record and ends the record layer, for a
// failure its owner finds outside it (for example the kernel refusing the
// session's keys under ktls = "require"). Write out, then close the
// connection without close_notify.
func (r *Records) FatalAlert(out []byte, a Alert, reason string) []byte {
	if r.v12 != nil {
		return r.v12.fail(out, fatal(a, reason))
	}
	return r.fail(out, fatal(a, reason))
}
