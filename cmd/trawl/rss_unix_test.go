//go:build linux

package main

import "testing"

func TestResidentMemory(t *testing.T) {
	own, file := residentNow()
	peak := peakRSS()
	if own <= 0 || file <= 0 || peak < own {
		t.Errorf("resident memory: own %d, file %d, peak %d", own, file, peak)
	}
}
