//go:build race

package main

// raceEnabled says the tests run with the race detector; the end-to-end test then builds
// the engine with it too (sharing the build cache of the race-enabled test run).
const raceEnabled = true
