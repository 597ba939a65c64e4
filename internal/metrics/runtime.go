package metrics

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Runtime returns a collector of the Go runtime's and the process's
// figures, read at each scrape: goroutines, heap and GC; resident and
// virtual memory, CPU time and open files (from /proc where the system
// has it). started is given as process_start_time_seconds.
func Runtime(started time.Time) func(*Writer) {
	return func(w *Writer) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.Sample("go_goroutines", "Goroutines that exist now.", GaugeType, float64(runtime.NumGoroutine()))
		w.Sample("go_memstats_alloc_bytes", "Bytes of heap objects allocated and not yet freed.", GaugeType, float64(ms.Alloc))
		w.Sample("go_memstats_heap_inuse_bytes", "Bytes in heap spans in use.", GaugeType, float64(ms.HeapInuse))
		w.Sample("go_memstats_heap_objects", "Heap objects allocated and not yet freed.", GaugeType, float64(ms.HeapObjects))
		w.Sample("go_memstats_sys_bytes", "Bytes of memory obtained from the system.", GaugeType, float64(ms.Sys))
		w.Sample("go_memstats_gc_cycles_total", "Completed GC cycles.", CounterType, float64(ms.NumGC))
		w.Sample("go_memstats_gc_pause_seconds_total", "Time the GC stopped the world, in all.", CounterType, float64(ms.PauseTotalNs)/1e9)
		processCPU(w)
		if data, err := os.ReadFile("/proc/self/statm"); err == nil {
			if f := strings.Fields(string(data)); len(f) >= 2 {
				page := float64(os.Getpagesize())
				vsize, _ := strconv.ParseFloat(f[0], 64)
				rss, _ := strconv.ParseFloat(f[1], 64)
				w.Sample("process_resident_memory_bytes", "Resident memory size.", GaugeType, rss*page)
				w.Sample("process_virtual_memory_bytes", "Virtual memory size.", GaugeType, vsize*page)
			}
		}
		if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
			w.Sample("process_open_fds", "Open file descriptors.", GaugeType, float64(len(fds)))
		}
		processMaxFDs(w)
		w.Sample("process_start_time_seconds", "When the process started its work, in seconds since the epoch.", GaugeType, float64(started.UnixNano())/1e9)
	}
}
