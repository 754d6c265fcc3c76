package tlsstate

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"io"
	"strings"
)

// Group is a TLS named group (key exchange) number as on the wire.
type Group uint16

// The key exchange groups this server implements.
const (
	// X25519MLKEM768 is the hybrid post-quantum group
	// (draft-ietf-tls-ecdhe-mlkem): ML-KEM-768 then X25519.
	X25519MLKEM768 Group = 0x11ec
	X25519         Group = 0x001d
	P256           Group = 0x0017
	P384           Group = 0x0018
	P521           Group = 0x0019
)

// DefaultGroups is the preference order used when a Config names none.
// P-521 comes last: slowest, and no client offers it alone.
var DefaultGroups = []Group{X25519MLKEM768, X25519, P256, P384, P521}

var groupNames = []struct {
	group Group
	name  string
}{
	{X25519MLKEM768, "X25519MLKEM768"},
	{X25519, "x25519"},
	{P256, "secp256r1"},
	{P384, "secp384r1"},
	{P521, "secp521r1"},
}

// String returns the IANA name of the group.
func (g Group) String() string {
	for _, n := range groupNames {
		if n.group == g {
			return n.name
		}
	}
	return "Group(" + hex16(uint16(g)) + ")"
}

// GroupByName looks a group up by its IANA name, ignoring case (e.g.
// "X25519MLKEM768", "x25519", "secp256r1", "secp384r1", "secp521r1").
func GroupByName(name string) (Group, bool) {
	for _, n := range groupNames {
		if strings.EqualFold(n.name, name) {
			return n.group, true
		}
	}
	return 0, false
}

func (g Group) known() bool {
	for _, n := range groupNames {
		if n.group == g {
			return true
		}
	}
	return false
}

const (
	x25519ShareLen        = 32
	mlkem768ClientPartLen = mlkem.EncapsulationKeySize768
	mlkem768ServerPartLen = mlkem.CiphertextSize768
)

// keyAgreement answers the client's key share for group g: it returns the
// server's share and the shared secret. The server's ephemeral private key
// bytes are read from rand (for tests, a fixed key). A share of the wrong
// length or a point off the curve is illegal_parameter (RFC 8446 §4.2.8).
// The ML-KEM encapsulation draws from crypto/mlkem's own secure source: the
// standard library offers no way to inject it outside tests.
func keyAgreement(g Group, clientShare []byte, rand io.Reader) (serverShare, secret []byte, err *AlertError) {
	if c, ok := curveOf(g); ok {
		return ecdhAgreement(c, clientShare, rand)
	}
	switch g {
	case X25519MLKEM768:
		if len(clientShare) != mlkem768ClientPartLen+x25519ShareLen {
			return nil, nil, fatal(AlertIllegalParameter, "X25519MLKEM768 key share of the wrong length")
		}
		ek, kemErr := mlkem.NewEncapsulationKey768(clientShare[:mlkem768ClientPartLen])
		if kemErr != nil {
			return nil, nil, fatal(AlertIllegalParameter, "invalid ML-KEM-768 encapsulation key")
		}
		x25519, _ := curveOf(X25519)
		ecShare, ecSecret, err := ecdhAgreement(x25519, clientShare[mlkem768ClientPartLen:], rand)
		if err != nil {
			return nil, nil, err
		}
		kemSecret, ciphertext := ek.Encapsulate()
		serverShare = append(ciphertext, ecShare...)
		secret = make([]byte, 0, len(kemSecret)+len(ecSecret))
		secret = append(append(secret, kemSecret...), ecSecret...)
		clear(kemSecret)
		clear(ecSecret)
		return serverShare, secret, nil
	}
	return nil, nil, fatal(AlertInternalError, "group not implemented")
}

// ellipticCurve is a group that is one ECDH exchange: usable in TLS 1.3 and
// TLS 1.2 alike.
type ellipticCurve struct {
	curve ecdh.Curve
	// scalarLen is how many random bytes make a private key; topMask
	// clears the bits of the first one that the curve's order does not
	// have (P-521: 521 bits in 66 bytes).
	scalarLen int
	topMask   byte
	// publicLen is the length of a public value: 32 bytes for X25519, an
	// uncompressed point for the NIST curves.
	publicLen int
}

// curveOf is the elliptic curve of g, if g is one.
func curveOf(g Group) (ellipticCurve, bool) {
	switch g {
	case X25519:
		return ellipticCurve{ecdh.X25519(), 32, 0xff, 32}, true
	case P256:
		return ellipticCurve{ecdh.P256(), 32, 0xff, 65}, true
	case P384:
		return ellipticCurve{ecdh.P384(), 48, 0xff, 97}, true
	case P521:
		return ellipticCurve{ecdh.P521(), 66, 0x01, 133}, true
	}
	return ellipticCurve{}, false
}

// newPrivateKey draws an ephemeral private key from rand.
func (c ellipticCurve) newPrivateKey(rand io.Reader) (*ecdh.PrivateKey, *AlertError) {
	scalar := make([]byte, c.scalarLen)
	defer clear(scalar)
	// A NIST scalar read at random is out of range with negligible
	// probability; a few retries make a broken source fail loudly instead.
	for range 8 {
		if _, err := io.ReadFull(rand, scalar); err != nil {
			return nil, fatal(AlertInternalError, "random source failed")
		}
		scalar[0] &= c.topMask
		if priv, err := c.curve.NewPrivateKey(scalar); err == nil {
			return priv, nil
		}
	}
	return nil, fatal(AlertInternalError, "could not draw a private key")
}

// ecdhAgreement runs one ECDH exchange with a private key drawn from rand.
func ecdhAgreement(c ellipticCurve, clientShare []byte, rand io.Reader) ([]byte, []byte, *AlertError) {
	peer, err := c.curve.NewPublicKey(clientShare)
	if err != nil {
		return nil, nil, fatal(AlertIllegalParameter, "key share is not a valid public key")
	}
	priv, aerr := c.newPrivateKey(rand)
	if aerr != nil {
		return nil, nil, aerr
	}
	secret, err := priv.ECDH(peer)
	if err != nil {
		// X25519 with a low-order point yields the all-zero secret.
		return nil, nil, fatal(AlertIllegalParameter, "key share gives a degenerate shared secret")
	}
	return priv.PublicKey().Bytes(), secret, nil
}
