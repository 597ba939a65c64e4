package main

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// oddServer answers on loopback with the raw bytes of odd, legal or not,
// HTTP/1.x responses, by path, and closes each connection after one.
func oddServer(t *testing.T, answers map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				fields := strings.Fields(line)
				a, ok := answers[fields[min(1, len(fields)-1)]]
				if !ok {
					a = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
				}
				c.Write([]byte(a))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// TestOddResponses fetches responses that servers do send: no reason
// phrase, bare LF line ends, 1,000 headers, 103 Early Hints before the
// 200, an HTTP/1.0 body ended by the close, two Content-Lengths that
// disagree, and a 304 to a request that sent no validators; each page is stored right, or is an error record, and warcio
// reads what was archived.
func TestOddResponses(t *testing.T) {
	var many strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&many, "X-Header-%d: %d\r\n", i, i)
	}
	base := oddServer(t, map[string]string{
		"/noreason": "HTTP/1.1 200\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
		"/barelf":   "HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 5\n\nhello",
		"/many":     "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + many.String() + "Content-Length: 5\r\n\r\nhello",
		"/early":    "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
		"/http10":   "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\nhello",
		"/twocl":    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		"/unasked":  "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
	})
	dir := t.TempDir()
	paths := []string{"/noreason", "/barelf", "/many", "/early", "/http10", "/twocl", "/unasked"}
	var list strings.Builder
	for _, p := range paths {
		list.WriteString(base + p + "\n")
	}
	r := trawl(t, dir, list.String(), "fetch", "--job", "j.db", "--warc", "w", "--retries", "0")
	if r.code != 3 { // the two Content-Lengths fail
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	recs := map[string]map[string]any{}
	for _, rec := range exported(t, dir, "j.db") {
		recs[strings.TrimPrefix(rec["url"].(string), base)] = rec
	}
	for _, p := range paths[:5] {
		if rec := recs[p]; rec == nil || rec["status"] != float64(200) || rec["body"] != "hello" || rec["error"] != "" {
			t.Errorf("%s: %v", p, rec)
		}
	}
	if rec := recs["/twocl"]; rec == nil || rec["error"] == "" {
		t.Errorf("two Content-Lengths: %v, want an error record", rec)
	}
	// A 304 to a request that asked nothing is no empty body.
	if rec := recs["/unasked"]; rec == nil || !strings.Contains(fmt.Sprint(rec["error"]), "sent no validators") || rec["body"] != nil {
		t.Errorf("a 304 unasked: %v, want an error record", rec)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "w", "*.warc.gz"))
	archived := warcioRecords(t, files)
	for _, p := range paths[:5] {
		if len(archived[base+p]) != 1 {
			t.Errorf("%s: archived %d times, want once", p, len(archived[base+p]))
		}
	}
	// warcio reads each response as a 200: an interim 103 is not what
	// the record holds first.
	early := 0
	for _, l := range indexWARCs(t, files) {
		if strings.Contains(l, base+"/early") {
			early++
			if !strings.Contains(l, `"status":"200"`) && !strings.Contains(l, `"status": "200"`) {
				t.Errorf("the 103 before the 200: warcio indexes %s", l)
			}
		}
	}
	if early != 1 {
		t.Errorf("warcio indexes %d captures of /early, want 1", early)
	}
}
