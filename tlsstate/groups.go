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
)

// DefaultGroups is the preference order used when a Config names none.
var DefaultGroups = []Group{X25519MLKEM768, X25519, P256, P384}

var groupNames = []struct {
	group Group
	name  string
}{
	{X25519MLKEM768, "X25519MLKEM768"},
	{X25519, "x25519"},
	{P256, "secp256r1"},
	{P384, "secp384r1"},
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
// "X25519MLKEM768", "x25519", "secp256r1", "secp384r1").
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
	switch g {
	case X25519:
		return ecdhAgreement(ecdh.X25519(), 32, clientShare, rand)
	case P256:
		return ecdhAgreement(ecdh.P256(), 32, clientShare, rand)
	case P384:
		return ecdhAgreement(ecdh.P384(), 48, clientShare, rand)
	case X25519MLKEM768:
		if len(clientShare) != mlkem768ClientPartLen+x25519ShareLen {
			return nil, nil, fatal(AlertIllegalParameter, "X25519MLKEM768 key share of the wrong length")
		}
		ek, kemErr := mlkem.NewEncapsulationKey768(clientShare[:mlkem768ClientPartLen])
		if kemErr != nil {
			return nil, nil, fatal(AlertIllegalParameter, "invalid ML-KEM-768 encapsulation key")
		}
		ecShare, ecSecret, err := ecdhAgreement(ecdh.X25519(), 32, clientShare[mlkem768ClientPartLen:], rand)
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

// ecdhAgreement runs one ECDH exchange with a private scalar of scalarLen
// bytes read from rand.
func ecdhAgreement(curve ecdh.Curve, scalarLen int, clientShare []byte, rand io.Reader) ([]byte, []byte, *AlertError) {
	peer, err := curve.NewPublicKey(clientShare)
	if err != nil {
		return nil, nil, fatal(AlertIllegalParameter, "key share is not a valid public key")
	}
	scalar := make([]byte, scalarLen)
	defer clear(scalar)
	var priv *ecdh.PrivateKey
	// A NIST scalar read at random is out of range with negligible
	// probability; a few retries make a broken source fail loudly instead.
	for try := 0; priv == nil; try++ {
		if try == 8 {
			return nil, nil, fatal(AlertInternalError, "could not draw a private key")
		}
		if _, err := io.ReadFull(rand, scalar); err != nil {
			return nil, nil, fatal(AlertInternalError, "random source failed")
		}
		priv, _ = curve.NewPrivateKey(scalar)
	}
	secret, err := priv.ECDH(peer)
	if err != nil {
		// X25519 with a low-order point yields the all-zero secret.
		return nil, nil, fatal(AlertIllegalParameter, "key share gives a degenerate shared secret")
	}
	return priv.PublicKey().Bytes(), secret, nil
}
