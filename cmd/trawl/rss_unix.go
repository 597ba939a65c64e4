//go:build unix

package main

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// peakRSS returns the process's peak resident memory in bytes (0 when
// unknown).
func peakRSS() int64 {
	// On Linux, /proc's VmHWM is this program's own peak; getrusage's
	// maxrss counts the parent's memory at fork, before exec.
	if n := procStatus("VmHWM")["VmHWM"]; n > 0 {
		return n
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) // bytes there, kilobytes elsewhere
	}
	return int64(ru.Maxrss) << 10
}

// residentNow returns the process's resident memory now, split into its
// own (anonymous: the Go heap, the seen-set, stacks) and file-backed pages
// (mostly the job file's mapping, which the kernel reclaims at will).
// Both are 0 where /proc does not tell.
func residentNow() (own, file int64) {
	st := procStatus("RssAnon", "RssFile", "RssShmem")
	return st["RssAnon"], st["RssFile"] + st["RssShmem"]
}

// procStatus returns the sizes in bytes that one read of /proc/self/status
// gives for keys (a key it does not give is missing).
func procStatus(keys ...string) map[string]int64 {
	out := make(map[string]int64, len(keys))
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(keys, k) {
			continue
		}
		if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
			out[k] = kb << 10
		}
	}
	return out
}
