//go:build goexperiment.runtimesecret

package server

import "runtime/secret"

// memoryErasure says whether this build erases what the steps that handle
// a connection's secrets leave behind in memory (see eraseAfter).
const memoryErasure = true

// eraseAfter runs step, a part of a TLS connection's life that handles its
// secrets (a handshake step, the hand-off to kernel TLS, a kernel TLS
// KeyUpdate), under runtime/secret.Do: when step returns, the stack and the
// registers it used are erased, old stacks a stack copy left behind
// included, and the heap objects it allocated are erased once freed. Go's
// hash and AEAD code leaves copies of its inputs and outputs there (an
// HKDF output block on the stack, a GCM counter block, which under TLS 1.3
// begins with the IV), out of reach of the wiping this package and
// tlsstate do on the values they own. What step hands on is still its
// owner's to wipe.
func eraseAfter(step func()) { secret.Do(step) }
