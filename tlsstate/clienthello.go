package tlsstate

import (
	"golang.org/x/crypto/cryptobyte"
)

// clientHello is a parsed ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2),
// shared by every protocol version. Parsing checks syntax only (decode_error)
// and the extension-block rules of RFC 8446 §4.2 (illegal_parameter);
// version-specific rules are the handshake's.
type clientHello struct {
	// raw is the whole message, header included; every slice below points
	// into it.
	raw                []byte
	legacyVersion      uint16
	random             []byte
	sessionID          []byte
	cipherSuites       []uint16
	compressionMethods []byte
	extensions         []extension

	serverName          string
	supportedVersions   []uint16
	supportedGroups     []Group
	signatureAlgorithms []SignatureScheme
	keyShares           []keyShare
	alpnProtocols       []string
	pskModes            []uint8
	cookie              []byte
	// pskIdentities and pskBinders are the offered PSKs (RFC 8446
	// §4.2.11), in the same order; bindersStart is the offset in raw of
	// the binders list, where the transcript the binders sign ends.
	pskIdentities []pskIdentity
	pskBinders    [][]byte
	bindersStart  int
	// sessionTicket is the TLS 1.2 session_ticket extension's body (RFC
	// 5077 §3.2): empty to ask for a ticket, or a ticket to resume.
	sessionTicket    []byte
	hasSessionTicket bool

	hasSupportedVersions, hasSupportedGroups, hasSignatureAlgorithms bool
	hasKeyShare, hasALPN, hasPreSharedKey, hasPSKModes, earlyData    bool
}

// extension is one raw extension of a ClientHello, in wire order.
type extension struct {
	typ  uint16
	body []byte
}

// pskIdentity is one PskIdentity of pre_shared_key.
type pskIdentity struct {
	identity            []byte
	obfuscatedTicketAge uint32
}

// keyShare is one KeyShareEntry.
type keyShare struct {
	group Group
	data  []byte
}

var errDecode = fatal(AlertDecodeError, "malformed ClientHello")

// parseClientHello parses msg, a whole ClientHello handshake message with
// its 4-byte header. It keeps msg (the caller must not reuse it).
func parseClientHello(msg []byte) (*clientHello, *AlertError) {
	ch := &clientHello{raw: msg}
	s := cryptobyte.String(msg)
	var typ uint8
	var body cryptobyte.String
	if !s.ReadUint8(&typ) || typ != msgClientHello || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() {
		return nil, errDecode
	}
	var random, sessionID, suites, compression cryptobyte.String
	if !body.ReadUint16(&ch.legacyVersion) ||
		!body.ReadBytes((*[]byte)(&random), 32) ||
		!body.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 ||
		!body.ReadUint16LengthPrefixed(&suites) || len(suites) == 0 || len(suites)%2 != 0 ||
		!body.ReadUint8LengthPrefixed(&compression) || len(compression) == 0 {
		return nil, errDecode
	}
	ch.random, ch.sessionID, ch.compressionMethods = random, sessionID, compression
	ch.cipherSuites = make([]uint16, 0, len(suites)/2)
	for !suites.Empty() {
		var id uint16
		suites.ReadUint16(&id)
		ch.cipherSuites = append(ch.cipherSuites, id)
	}
	if body.Empty() {
		// A ClientHello may end before the extensions (RFC 5246 §7.4.1.2).
		return ch, nil
	}
	var exts cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		return nil, errDecode
	}
	var seen extensionSet
	for !exts.Empty() {
		var e extension
		var extBody cryptobyte.String
		if !exts.ReadUint16(&e.typ) || !exts.ReadUint16LengthPrefixed(&extBody) {
			return nil, errDecode
		}
		e.body = extBody
		// RFC 8446 §4.2: at most one extension of a type per block.
		if seen.add(e.typ) {
			return nil, fatal(AlertIllegalParameter, "duplicate extension in ClientHello")
		}
		// RFC 8446 §4.2.11: pre_shared_key must be the last extension.
		if ch.hasPreSharedKey {
			return nil, fatal(AlertIllegalParameter, "pre_shared_key is not the last extension")
		}
		if err := ch.parseExtension(e.typ, extBody); err != nil {
			return nil, err
		}
		ch.extensions = append(ch.extensions, e)
	}
	return ch, nil
}

// extensionSet records which extension types were seen, one bit per type.
type extensionSet [1 << 16 / 64]uint64

// add marks typ and reports whether it was already present.
func (s *extensionSet) add(typ uint16) bool {
	word, bit := typ/64, uint64(1)<<(typ%64)
	dup := s[word]&bit != 0
	s[word] |= bit
	return dup
}

// parseExtension decodes the extensions the handshake uses. Each body must be
// consumed exactly.
func (ch *clientHello) parseExtension(typ uint16, body cryptobyte.String) *AlertError {
	var ok bool
	switch typ {
	case extServerName:
		ok = ch.parseServerName(body)
	case extSupportedVersions:
		ch.hasSupportedVersions = true
		var list cryptobyte.String
		ok = body.ReadUint8LengthPrefixed(&list) && body.Empty() && len(list) >= 2 && len(list)%2 == 0
		for ok && !list.Empty() {
			var v uint16
			list.ReadUint16(&v)
			ch.supportedVersions = append(ch.supportedVersions, v)
		}
	case extSupportedGroups:
		ch.hasSupportedGroups = true
		var list cryptobyte.String
		ok = body.ReadUint16LengthPrefixed(&list) && body.Empty() && len(list) >= 2 && len(list)%2 == 0
		for ok && !list.Empty() {
			var g uint16
			list.ReadUint16(&g)
			ch.supportedGroups = append(ch.supportedGroups, Group(g))
		}
	case extSignatureAlgorithms:
		ch.hasSignatureAlgorithms = true
		var list cryptobyte.String
		ok = body.ReadUint16LengthPrefixed(&list) && body.Empty() && len(list) >= 2 && len(list)%2 == 0
		for ok && !list.Empty() {
			var sc uint16
			list.ReadUint16(&sc)
			ch.signatureAlgorithms = append(ch.signatureAlgorithms, SignatureScheme(sc))
		}
	case extKeyShare:
		return ch.parseKeyShares(body)
	case extALPN:
		ch.hasALPN = true
		var list cryptobyte.String
		ok = body.ReadUint16LengthPrefixed(&list) && body.Empty() && !list.Empty()
		for ok && !list.Empty() {
			var proto cryptobyte.String
			ok = list.ReadUint8LengthPrefixed(&proto) && !proto.Empty()
			ch.alpnProtocols = append(ch.alpnProtocols, string(proto))
		}
	case extPSKKeyExchangeModes:
		ch.hasPSKModes = true
		var list cryptobyte.String
		ok = body.ReadUint8LengthPrefixed(&list) && body.Empty() && !list.Empty()
		ch.pskModes = list
	case extEarlyData:
		ch.earlyData = true
		ok = body.Empty()
	case extCookie:
		var cookie cryptobyte.String
		ok = body.ReadUint16LengthPrefixed(&cookie) && body.Empty() && !cookie.Empty()
		ch.cookie = cookie
	case extPreSharedKey:
		ch.hasPreSharedKey = true
		return ch.parsePreSharedKey(body)
	case extSessionTicket:
		ch.hasSessionTicket = true
		ch.sessionTicket = body
		ok = true
	default:
		return nil
	}
	if !ok {
		return fatal(AlertDecodeError, "malformed ClientHello extension")
	}
	return nil
}

// parseServerName reads the host_name entry of server_name (RFC 6066 §3).
func (ch *clientHello) parseServerName(body cryptobyte.String) bool {
	var list cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&list) || !body.Empty() || list.Empty() {
		return false
	}
	for !list.Empty() {
		var nameType uint8
		var name cryptobyte.String
		if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) || name.Empty() {
			return false
		}
		if nameType == 0 && ch.serverName == "" {
			ch.serverName = string(name)
		}
	}
	return true
}

// parseKeyShares reads KeyShareClientHello (RFC 8446 §4.2.8). A group
// offered twice is illegal_parameter.
func (ch *clientHello) parseKeyShares(body cryptobyte.String) *AlertError {
	ch.hasKeyShare = true
	var list cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&list) || !body.Empty() {
		return fatal(AlertDecodeError, "malformed key_share extension")
	}
	for !list.Empty() {
		var g uint16
		var data cryptobyte.String
		if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&data) || data.Empty() {
			return fatal(AlertDecodeError, "malformed key_share entry")
		}
		for _, ks := range ch.keyShares {
			if ks.group == Group(g) {
				return fatal(AlertIllegalParameter, "two key shares for one group")
			}
		}
		ch.keyShares = append(ch.keyShares, keyShare{group: Group(g), data: data})
	}
	return nil
}

// parsePreSharedKey reads OfferedPsks (RFC 8446 §4.2.11): the identities
// and their binders, which must match in number. pre_shared_key is the last
// extension, so the binders list runs to the end of the ClientHello; where
// it starts is where the transcript the binders sign ends.
func (ch *clientHello) parsePreSharedKey(body cryptobyte.String) *AlertError {
	var identities, binders cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&identities) || identities.Empty() {
		return fatal(AlertDecodeError, "malformed pre_shared_key extension")
	}
	ch.bindersStart = len(ch.raw) - len(body)
	if !body.ReadUint16LengthPrefixed(&binders) || binders.Empty() || !body.Empty() {
		return fatal(AlertDecodeError, "malformed pre_shared_key extension")
	}
	for !identities.Empty() {
		var id pskIdentity
		var identity cryptobyte.String
		if !identities.ReadUint16LengthPrefixed(&identity) || identity.Empty() || !identities.ReadUint32(&id.obfuscatedTicketAge) {
			return fatal(AlertDecodeError, "malformed PSK identity")
		}
		id.identity = identity
		ch.pskIdentities = append(ch.pskIdentities, id)
	}
	for !binders.Empty() {
		var binder cryptobyte.String
		if !binders.ReadUint8LengthPrefixed(&binder) || len(binder) < 32 {
			return fatal(AlertDecodeError, "malformed PSK binder")
		}
		ch.pskBinders = append(ch.pskBinders, binder)
	}
	if len(ch.pskBinders) != len(ch.pskIdentities) {
		return fatal(AlertIllegalParameter, "PSK identities and binders differ in number")
	}
	return nil
}

// offersPSKWithDHE reports whether psk_key_exchange_modes lists psk_dhe_ke,
// the only mode this server resumes with (a fresh ECDHE every time keeps
// forward secrecy).
func (ch *clientHello) offersPSKWithDHE() bool {
	return contains(ch.pskModes, pskModeDHE)
}

// offersVersion reports whether supported_versions lists v.
func (ch *clientHello) offersVersion(v uint16) bool {
	for _, x := range ch.supportedVersions {
		if x == v {
			return true
		}
	}
	return false
}

// offersGroup reports whether supported_groups lists g.
func (ch *clientHello) offersGroup(g Group) bool {
	for _, x := range ch.supportedGroups {
		if x == g {
			return true
		}
	}
	return false
}

// shareFor returns the client's key share for g, if it sent one.
func (ch *clientHello) shareFor(g Group) (keyShare, bool) {
	for _, ks := range ch.keyShares {
		if ks.group == g {
			return ks, true
		}
	}
	return keyShare{}, false
}
