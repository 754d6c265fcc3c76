//go:build race

package server

// raceEnabled: the race detector shadows memory, so resident-size figures
// mean nothing under it.
const raceEnabled = true
