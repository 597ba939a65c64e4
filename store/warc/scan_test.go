package warc

import (
	"bytes"
	"compress/gzip"
	"testing"
)

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

const oneRecord = "WARC/1.0\r\nWARC-Type: response\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: 38\r\n\r\n" +
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n"

// FuzzScan holds Scan to never panicking, and to giving each record a
// block within the input, whatever the bytes.
func FuzzScan(f *testing.F) {
	f.Add([]byte(oneRecord + oneRecord))
	f.Add(gzipped([]byte(oneRecord)))
	f.Add(append(gzipped([]byte(oneRecord)), gzipped([]byte(oneRecord[:50]))...))
	f.Add([]byte("WARC/1.1\r\nContent-Length: 99999999999\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Scan(bytes.NewReader(data), 1<<20, func(r *Record) error {
			if r.Offset < 0 || r.Offset > int64(len(data)) {
				t.Fatalf("record at %d of %d bytes", r.Offset, len(data))
			}
			r.HTTPResponse()
			return nil
		}, func(int64, error) {})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
	})
}

func TestScanReportsAndGoesOn(t *testing.T) {
	cut := gzipped([]byte(oneRecord))
	data := append(append(gzipped([]byte(oneRecord)), cut[:len(cut)-5]...), gzipped([]byte(oneRecord))...)
	var offsets []int64
	bad := 0
	err := Scan(bytes.NewReader(data), 1<<20, func(r *Record) error { offsets = append(offsets, r.Offset); return nil }, func(int64, error) { bad++ })
	third := int64(len(data) - len(gzipped([]byte(oneRecord))))
	if err != nil || len(offsets) < 2 || offsets[0] != 0 || offsets[len(offsets)-1] != third || bad == 0 {
		t.Errorf("a member cut short between two whole ones: records at %v (the last whole one at %d), %d reports, %v", offsets, third, bad, err)
	}
}
