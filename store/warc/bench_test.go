package warc

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/testsite"
)

// BenchmarkWrite archives captures of the benchmark site's pages (8 KB of
// HTML each, with the request trawl sends), Dedup off so that every one is
// written whole: the cost of archiving one page, compression included.
//
//	go test -run '^$' -bench Write -benchmem ./store/warc/
func BenchmarkWrite(b *testing.B) {
	site := testsite.New(1000)
	caps := make([]Capture, 64)
	for i := range caps {
		path := testsite.Path(i)
		rec := httptest.NewRecorder()
		site.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080"+path, nil))
		body := rec.Body.Bytes()
		req := []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: trawl/0.1 (+https://github.com/trawl-dev/trawl)\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: gzip, br\r\n\r\n", path))
		resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/html; charset=utf-8\r\nDate: Mon, 07 Dec 2026 20:00:00 GMT\r\n\r\n%s", len(body), body))
		h := NewHash()
		h.Write(body)
		rs, ps := sha1.Sum(req), sha1.Sum(resp)
		caps[i] = Capture{URL: "http://127.0.0.1:8080" + path, Date: time.Now(), IP: "127.0.0.1",
			Request:    func() (io.Reader, error) { return bytes.NewReader(req), nil },
			Response:   func() (io.Reader, error) { return bytes.NewReader(resp), nil },
			RequestLen: int64(len(req)), ResponseLen: int64(len(resp)), RequestSHA1: rs[:], ResponseSHA1: ps[:],
			PayloadDigest: Digest(h), PayloadLen: int64(len(body))}
	}
	w, err := Open(Options{Config: Config{Dir: b.TempDir()}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var in int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := caps[i%len(caps)]
		if _, err := w.Write(c); err != nil {
			b.Fatal(err)
		}
		in += c.RequestLen + c.ResponseLen
	}
	b.StopTimer()
	w.mu.Lock()
	out := w.size
	w.mu.Unlock()
	b.ReportMetric(float64(out)/float64(in), "compressed/raw")
}
