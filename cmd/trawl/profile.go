package main

import (
	"os"
	"runtime/pprof"
)

// profiled starts a CPU profile into the file TRAWL_CPUPROFILE names, for
// those who measure trawl, and returns what stops it.
func profiled() func() {
	path := os.Getenv("TRAWL_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
