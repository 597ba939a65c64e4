package wacz

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// bigWARC writes a WARC file of n response records of size random bytes
// each, a gzip member a record.
func bigWARC(t *testing.T, path string, n, size int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rnd := rand.New(rand.NewPCG(1, 2))
	body := make([]byte, size)
	for i := range n {
		for j := range body {
			body[j] = byte(rnd.Uint32())
		}
		http := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", size)
		zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
		fmt.Fprintf(zw, "WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: http://h.test/%d\r\nWARC-Date: 2026-01-01T00:00:00Z\r\n"+
			"WARC-Record-ID: <urn:uuid:%d>\r\nContent-Type: application/http;msgtype=response\r\nContent-Length: %d\r\n\r\n", i, i, len(http)+size)
		zw.Write([]byte(http))
		zw.Write(body)
		zw.Write([]byte("\r\n\r\n"))
		zw.Close()
	}
}

// TestWriteStreams packs a 128 MB archive and checks that the heap stays
// within a few records' size meanwhile: the WARC bytes stream through.
func TestWriteStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 128 MB")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "big.warc.gz")
	bigWARC(t, path, 32, 4<<20)
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	out, err := os.Create(filepath.Join(dir, "big.wacz"))
	if err != nil {
		t.Fatal(err)
	}
	err = Write(out, Options{WARCs: []string{path}, Created: time.Now()})
	close(done)
	out.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("heap in use at most %d MB while packing a %d MB archive", peak.Load()>>20, 128)
	if peak.Load() > 48<<20 {
		t.Errorf("heap reached %d MB packing 128 MB: the archive does not stream", peak.Load()>>20)
	}
	zr, err := zip.OpenReader(filepath.Join(dir, "big.wacz"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	in, _ := os.ReadFile(path)
	for _, f := range zr.File {
		if f.Name == "archive/big.warc.gz" {
			rc, _ := f.Open()
			got, err := io.ReadAll(rc)
			if err != nil || !bytes.Equal(got, in) || f.Method != zip.Store {
				t.Errorf("the WARC in the WACZ: %d bytes of %d, %v, method %d", len(got), len(in), err, f.Method)
			}
		}
	}
}
