//go:build !unix

package main

// peakRSS returns 0: the peak resident memory is not known here.
func peakRSS() int64 { return 0 }

// residentNow returns 0, 0: resident memory is not known here.
func residentNow() (own, file int64) { return 0, 0 }
