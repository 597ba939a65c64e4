//go:build !unix

package metrics

// processCPU and processMaxFDs write nothing where the system has no
// getrusage and getrlimit.
func processCPU(*Writer)    {}
func processMaxFDs(*Writer) {}
