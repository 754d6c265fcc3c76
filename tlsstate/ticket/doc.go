// Package ticket seals and opens TLS session tickets (RFC 8446 §4.6.1,
// RFC 5077) under a set of rotating ticket keys: one current key seals new
// tickets, previous keys still open the tickets they sealed.
//
// # Ticket layout
//
// A sealed ticket is
//
//	name (16 bytes) ‖ nonce (24 bytes) ‖ XChaCha20-Poly1305 ciphertext ‖ tag (16 bytes)
//
// The name travels in the clear and tells [Keys.Open] which key sealed the
// ticket, so Open never tries keys one after the other. The nonce is read
// from the random source passed to [Keys.Seal]. The caller's associated data
// (a label naming the protocol version and purpose, e.g. "tls13 resumption")
// is authenticated but not stored: a ticket opens only with the same label
// it was sealed with, so a TLS 1.2 ticket cannot be opened as a TLS 1.3 one.
//
// # Why XChaCha20-Poly1305
//
// Ticket nonces are random. A 96-bit random nonce (AES-GCM, ChaCha20-Poly1305)
// is safe for only about 2³² seals under one key (NIST SP 800-38D), and a
// fleet sharing one key file for weeks can reach that. The 192-bit nonce of
// XChaCha20-Poly1305 makes random nonces safe for any number of tickets, so
// the safety of the key file does not depend on how often operators rotate
// it. It is also constant-time without AES hardware. Its cost (a few hundred
// nanoseconds per ticket, see the benchmarks) is small beside the ECDHE of
// the handshake that issues or redeems the ticket.
//
// # Keys
//
// Each key is 80 bytes of raw material: a 16-byte name and 64 bytes of
// secret. The raw secret is never used as a cipher key: the AEAD key is
// derived from it with HKDF-SHA256 (salt: the name; info: [derivationLabel]),
// and the raw material is zeroed as soon as the key is derived.
//
// Keys come from a ticket key file ([FromFile], the format is described
// there) that every instance of a fleet shares, so that any instance resumes
// the sessions of the others; or they are random keys kept in memory
// ([NewRandom]) and rotated on a [Schedule] by [Keys.Rotate].
//
// # Concurrency
//
// All methods of [Keys] are safe for concurrent use. Seal and Open take no
// lock: they load the published list of keys with one atomic load, and a
// published list is never modified. Rotate and Zero publish a new list under
// a mutex. Nothing here starts goroutines or timers, or reads a clock: the
// owner calls Rotate from its own periodic tick with the current time.
//
// To reload a key file, the owner builds a new Keys with FromFile, swaps it
// in (e.g. through an atomic.Pointer[Keys]) and then calls Zero on the old
// set. A loop that loaded the old set just before finishes its Seal or Open
// normally; one that calls into it after Zero fails to open a ticket (a full
// handshake follows) or to seal one (no ticket is sent).
//
// # Zeroing
//
// Raw key material is zeroed once the key is derived; file contents once
// parsed. The derived keys this package holds are zeroed by Zero, and by
// Rotate when a key expires. The AEAD values from golang.org/x/crypto keep
// their own copy of the key, which Go gives no way to wipe: once the set
// stops referring to them they become garbage, but their memory is only
// overwritten when it is reused.
package ticket
