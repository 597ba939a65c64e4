//go:build unix

package metrics

import (
	"syscall"
	"time"
)

func processCPU(w *Writer) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		w.Sample("process_cpu_seconds_total", "User and system CPU time spent.", CounterType, cpu.Seconds())
	}
}

func processMaxFDs(w *Writer) {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		w.Sample("process_max_fds", "Most open file descriptors allowed.", GaugeType, float64(lim.Cur))
	}
}
