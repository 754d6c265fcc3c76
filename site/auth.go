package site

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"lwango/http1"
)

// maxVerifiedCredentials bounds the cache of bcrypt checks that succeeded.
const maxVerifiedCredentials = 1024

// basicAuth checks HTTP Basic credentials (RFC 7617) against a password
// file.
type basicAuth struct {
	challengeLine string // "Basic realm=\"...\""
	users         map[string]credential

	// verified remembers credentials whose bcrypt check succeeded, by the
	// SHA-256 of the header's credentials, so that a client sending the same
	// header on every request does not cost a bcrypt run each time (bcrypt
	// is deliberately slow, and it runs on an event loop thread).
	mu       sync.Mutex
	verified map[[sha256.Size]byte]struct{}
}

// credential is one user's password: the SHA-256 of a cleartext password
// (compared in constant time) or a bcrypt hash.
type credential struct {
	cleartext [sha256.Size]byte
	bcrypt    []byte
}

// dummyCleartext is compared against when the user is unknown, so that an
// unknown user takes as long as a wrong password.
var dummyCleartext = sha256.Sum256([]byte("lwango: no such user"))

func newBasicAuth(a *Authorization) (*basicAuth, error) {
	users, err := loadPasswordFile(a.PasswordFile)
	if err != nil {
		return nil, err
	}
	return &basicAuth{
		challengeLine: `Basic realm="` + a.Realm + `", charset="UTF-8"`,
		users:         users,
		verified:      map[[sha256.Size]byte]struct{}{},
	}, nil
}

// allows reports whether header (the Authorization header's value) holds
// valid credentials.
func (a *basicAuth) allows(header []byte) bool {
	const scheme = "basic "
	if len(header) <= len(scheme) || !bytes.EqualFold(header[:len(scheme)], []byte(scheme)) {
		return false
	}
	encoded := bytes.TrimLeft(header[len(scheme):], " ")
	var buf [512]byte
	if base64.StdEncoding.DecodedLen(len(encoded)) > len(buf) {
		return false
	}
	n, err := base64.StdEncoding.Decode(buf[:], encoded)
	if err != nil {
		return false
	}
	user, password, ok := bytes.Cut(buf[:n], []byte{':'})
	if !ok {
		return false
	}
	cred, known := a.users[string(user)]
	if cred.bcrypt != nil {
		return a.checkBcrypt(cred.bcrypt, buf[:n], password)
	}
	want := dummyCleartext
	if known {
		want = cred.cleartext
	}
	got := sha256.Sum256(password)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1 && known
}

// checkBcrypt checks password against hash, consulting and filling the
// cache of verified credentials.
func (a *basicAuth) checkBcrypt(hash, credentials, password []byte) bool {
	key := sha256.Sum256(credentials)
	a.mu.Lock()
	_, ok := a.verified[key]
	a.mu.Unlock()
	if ok {
		return true
	}
	if bcrypt.CompareHashAndPassword(hash, password) != nil {
		return false
	}
	a.mu.Lock()
	if len(a.verified) >= maxVerifiedCredentials {
		clear(a.verified)
	}
	a.verified[key] = struct{}{}
	a.mu.Unlock()
	return true
}

// challenge answers 401 with the WWW-Authenticate challenge.
func (a *basicAuth) challenge(resp *http1.Response) {
	answerError(resp, 401)
	resp.AddHeader("WWW-Authenticate", a.challengeLine)
}
