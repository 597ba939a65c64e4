package fetch

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Each response is tied to its own exchange, over connections kept alive
// and shared by several goroutines, chunked or not: the recorded bytes are
// the request as sent and the response as received.
func TestRecordedExchanges(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.URL.Query().Get("n")
		if r.URL.Query().Get("chunked") != "" {
			fmt.Fprintf(w, "part one of %s;", n)
			w.(http.Flusher).Flush()
			fmt.Fprintf(w, "part two of %s", n)
			return
		}
		body := "body of " + n + strings.Repeat(".", len(n)*100)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	}))
	defer srv.Close()
	rt := NewTransport(TransportOptions{Concurrency: 4, PerHost: 2, Timeout: 10 * time.Second, Record: true})
	client := &http.Client{Transport: rt}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				n := fmt.Sprintf("%d-%d", g, i)
				u := srv.URL + "/?n=" + n
				if i%3 == 0 {
					u += "&chunked=1"
				}
				resp, err := client.Get(u)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				ex := RawExchange(resp)
				resp.Body.Close()
				if ex == nil {
					errs <- fmt.Errorf("%s: no exchange recorded", n)
					continue
				}
				req, _ := ex.Request.Reader()
				raw, _ := ex.Response.Reader()
				reqBytes, _ := io.ReadAll(req)
				respBytes, _ := io.ReadAll(raw)
				ex.Close()
				switch {
				case !bytes.HasPrefix(reqBytes, []byte("GET /?n="+n+"&")) && !bytes.HasPrefix(reqBytes, []byte("GET /?n="+n+" ")):
					errs <- fmt.Errorf("%s: recorded request %.60q", n, reqBytes)
				case !bytes.HasPrefix(respBytes, []byte("HTTP/1.1 200 OK\r\n")):
					errs <- fmt.Errorf("%s: recorded response %.60q", n, respBytes)
				case i%3 == 0 && !bytes.Contains(respBytes, []byte("Transfer-Encoding: chunked")):
					errs <- fmt.Errorf("%s: chunked framing not kept: %q", n, respBytes)
				case !bytes.Contains(respBytes, []byte(strings.Split(string(body), ";")[0])):
					errs <- fmt.Errorf("%s: recorded response is another's: %.120q", n, respBytes)
				case bytes.Count(respBytes, []byte("HTTP/1.1 ")) != 1:
					errs <- fmt.Errorf("%s: recorded response holds %d responses", n, bytes.Count(respBytes, []byte("HTTP/1.1 ")))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRedactorHeader(t *testing.T) {
	r := NewRedactor(nil)
	h := http.Header{"Set-Cookie": {"a=b"}, "Content-Type": {"text/html"}}
	if got := r.Header(h); got.Get("Set-Cookie") != Redacted || h.Get("Set-Cookie") != "a=b" || got.Get("Content-Type") != "text/html" {
		t.Errorf("redacted response headers %v (original %v)", got, h)
	}
}
