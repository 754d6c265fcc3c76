//go:build !goexperiment.runtimesecret

package server

// memoryErasure says whether this build erases what the steps that handle
// a connection's secrets leave behind in memory: not without
// GOEXPERIMENT=runtimesecret (see erase_on.go), and the startup line says
// so.
const memoryErasure = false

// eraseAfter runs step; this build cannot erase what it leaves behind.
func eraseAfter(step func()) { step() }
