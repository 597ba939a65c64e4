package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// profiled starts a CPU profile into the file TRAWL_CPUPROFILE names, for
// those who measure trawl, and returns what stops it. A profile that
// cannot be written is said on stderr; the command runs all the same.
func profiled() func() {
	path := os.Getenv("TRAWL_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "trawl: TRAWL_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
