package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawRecord makes one WARC record of version with fields and block, as
// other writers write them.
func rawRecord(version string, block string, fields ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\r\n", version)
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", fields[i], fields[i+1])
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s\r\n\r\n", len(block), block)
	return b.Bytes()
}

func gz(data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// product is a page of the test's shop, and the HTTP response carrying it.
func product(sku, name string, price int) string {
	return fmt.Sprintf(`<html><head><title>%s</title></head><body><h1>%s</h1><span class="sku">%s</span><span class="price">%d</span></body></html>`, name, name, sku, price)
}

func response(body string, headers ...string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" + strings.Join(headers, "") + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

// chunkedGzip is a response whose body is gzip-encoded and sent chunked.
func chunkedGzip(body string) string {
	z := gz([]byte(body))
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
	for len(z) > 0 {
		n := min(len(z), 40)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, z[:n])
		z = z[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func resp(version, uri, id, digest, block string) []byte {
	return rawRecord(version, block, "WARC-Type", "response", "WARC-Target-URI", uri, "WARC-Date", "2025-01-02T03:04:05Z",
		"WARC-Record-ID", id, "WARC-Payload-Digest", digest, "Content-Type", "application/http; msgtype=response")
}

// TestExtractFromWARC runs extraction rules over WARC files of the shapes
// other writers make: gzip a record a member (WARC/1.0, a chunked and
// gzip-encoded payload), one gzip of the whole file (WARC/1.1, with an
// identical-payload revisit of another URL and a server-not-modified one),
// plain (with a record cut short at its end), and a WACZ; and checks the
// items, their provenance, and the damaged record's report.
func TestExtractFromWARC(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte("extract:\n  - name: product\n    key: sku\n    fields: {name: h1, sku: .sku, price: {selector: .price, type: number}}\n"), 0o644)

	var perRecord bytes.Buffer // like trawl's, warcio's or Heritrix's
	perRecord.Write(gz(rawRecord("WARC/1.0", "software: other\r\n", "WARC-Type", "warcinfo", "WARC-Record-ID", "<urn:uuid:i1>", "Content-Type", "application/warc-fields")))
	perRecord.Write(gz(resp("WARC/1.0", "http://shop.test/a", "<urn:uuid:a>", "sha1:AAAA", chunkedGzip(product("A-1", "Anvil", 10)))))
	os.WriteFile(filepath.Join(dir, "one.warc.gz"), perRecord.Bytes(), 0o644)

	var whole bytes.Buffer // like wget --warc-file --no-warc-compression piped through gzip
	whole.Write(resp("WARC/1.1", "http://shop.test/b", "<urn:uuid:b>", "sha1:BBBB", response(product("B-2", "Bucket", 20))))
	whole.Write(rawRecord("WARC/1.1", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", "WARC-Type", "revisit",
		"WARC-Target-URI", "http://shop.test/b-copy", "WARC-Date", "2025-01-03T00:00:00Z", "WARC-Record-ID", "<urn:uuid:b2>",
		"WARC-Payload-Digest", "sha1:BBBB", "WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
		"WARC-Refers-To-Target-URI", "http://shop.test/b", "Content-Type", "application/http; msgtype=response"))
	whole.Write(rawRecord("WARC/1.1", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", "WARC-Type", "revisit",
		"WARC-Target-URI", "http://shop.test/a", "WARC-Date", "2025-02-01T00:00:00Z", "WARC-Record-ID", "<urn:uuid:a2>",
		"WARC-Payload-Digest", "sha1:AAAA", "WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
		"WARC-Refers-To-Target-URI", "http://shop.test/a", "Content-Type", "application/http; msgtype=response"))
	os.WriteFile(filepath.Join(dir, "two.warc.gz"), gz(whole.Bytes()), 0o644)

	plain := resp("WARC/1.0", "http://shop.test/c", "<urn:uuid:c>", "sha1:CCCC", response(product("C-3", "Chisel", 30)))
	cut := resp("WARC/1.0", "http://shop.test/d", "<urn:uuid:d>", "sha1:DDDD", response(product("D-4", "Drill", 40)))
	os.WriteFile(filepath.Join(dir, "three.warc"), append(bytes.Clone(plain), cut[:len(cut)-60]...), 0o644)

	var wz bytes.Buffer
	zw := zip.NewWriter(&wz)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "archive/e.warc.gz", Method: zip.Store})
	w.Write(gz(resp("WARC/1.1", "http://shop.test/e", "<urn:uuid:e>", "sha1:EEEE", response(product("E-5", "Easel", 50)))))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "four.wacz"), wz.Bytes(), 0o644)

	r := trawl(t, dir, "", "extract", "--config", rules, "one.warc.gz", "two.warc.gz", "three.warc", "four.wacz")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "skipped three.warc at "+fmt.Sprint(len(plain))) || !strings.Contains(r.stderr, "cut short") {
		t.Errorf("the record cut short is not reported with its file and offset:\n%s", r.stderr)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var it struct {
			URL, Name, Sku string
			Price          float64
			WARC           struct {
				File, ID string
				Offset   int64
				Revisit  bool
			}
		}
		if err := json.Unmarshal([]byte(line), &it); err != nil {
			t.Fatalf("item %q: %v", line, err)
		}
		got[it.URL+" "+it.WARC.ID] = fmt.Sprintf("%s %s %g %s@%d", it.Sku, it.Name, it.Price, it.WARC.File, it.WARC.Offset)
	}
	one := len(gz(rawRecord("WARC/1.0", "software: other\r\n", "WARC-Type", "warcinfo", "WARC-Record-ID", "<urn:uuid:i1>", "Content-Type", "application/warc-fields")))
	want := map[string]string{
		"http://shop.test/a <urn:uuid:a>":       fmt.Sprintf("A-1 Anvil 10 one.warc.gz@%d", one),
		"http://shop.test/b <urn:uuid:b>":       "B-2 Bucket 20 two.warc.gz@0",
		"http://shop.test/b-copy <urn:uuid:b2>": "B-2 Bucket 20 two.warc.gz@0",
		"http://shop.test/a <urn:uuid:a2>":      "A-1 Anvil 10 two.warc.gz@0",
		"http://shop.test/c <urn:uuid:c>":       "C-3 Chisel 30 three.warc@0",
		"http://shop.test/e <urn:uuid:e>":       "E-5 Easel 50 four.wacz#e.warc.gz@0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d items, want %d: %v", len(got), len(want), got)
	}
}
