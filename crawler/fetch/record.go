package fetch

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"sync"
	"time"
)

// Recording: a transport made with TransportOptions.Record keeps the bytes
// of every exchange as they crossed the connection (the request as sent;
// the status line, headers and body of the response as received, chunked
// framing and Content-Encoding intact), for archives that must hold them
// (WARC). It speaks HTTP/1.1 only: HTTP/2 frames, compresses and
// multiplexes headers, so there are no such bytes to keep.

// An Exchange is one request and its response as they crossed the
// connection. Its spools are valid until Close.
type Exchange struct {
	Request  *Spool
	Response *Spool
	// RemoteIP is the address the connection reached.
	RemoteIP string
	// Start is when the request began to be written.
	Start time.Time
}

// Close frees the exchange's spools.
func (e *Exchange) Close() {
	e.Request.Close()
	e.Response.Close()
}

// RawExchange returns the exchange that carried resp, once resp's body
// has been read to its end: nil for a response of a transport that does
// not record, or one whose body was not read whole. A body that wraps
// another (rate limits, digests) is seen through if it has an Unwrap
// method returning the body it wraps.
func RawExchange(resp *http.Response) *Exchange {
	body := resp.Body
	for {
		switch b := body.(type) {
		case *recordedBody:
			if !b.eof {
				return nil
			}
			return b.ex
		case interface{ Unwrap() io.ReadCloser }:
			body = b.Unwrap()
		default:
			return nil
		}
	}
}

// recordConn is a connection that spools what crosses it, exchange by
// exchange: a write after a read starts the next one. HTTP/1.1 without
// pipelining writes a request, then reads its whole response.
type recordConn struct {
	net.Conn
	ip   string
	mu   sync.Mutex
	ex   *Exchange  // being recorded
	rd   bool       // ex's response has begun
	next **Exchange // where the next exchange to begin goes (see await)
}

// await makes the next exchange to begin on c go to *slot: the request
// that took c (httptrace's GotConn) has not written a byte yet.
func (c *recordConn) await(slot **Exchange) {
	c.mu.Lock()
	c.next = slot
	c.mu.Unlock()
}

// claimed returns what await's slot holds.
func (c *recordConn) claimed(slot **Exchange) *Exchange {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *slot
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.ex == nil || c.rd {
		c.ex, c.rd = &Exchange{Request: newSpool(), Response: newSpool(), RemoteIP: c.ip, Start: time.Now()}, false
		if c.next != nil {
			*c.next, c.next = c.ex, nil
		}
	}
	c.ex.Request.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.ex != nil {
			c.rd = true
			c.ex.Response.Write(p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

func newRecordConn(c net.Conn) *recordConn {
	ip := ""
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.IP.String()
	}
	return &recordConn{Conn: c, ip: ip}
}

// record makes t record its exchanges (see Exchange): connections are
// wrapped, TLS is done over the wrapped connection, and HTTP/2 is off.
func record(t *http.Transport, d *net.Dialer) {
	t.ForceAttemptHTTP2 = false
	t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newRecordConn(c), nil
	}
	cfg := t.TLSClientConfig
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(addr)
		c := cfg.Clone()
		if c.ServerName == "" {
			c.ServerName = host
		}
		c.NextProtos = []string{"http/1.1"}
		tc := tls.Client(raw, c)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		rc := newRecordConn(tc)
		if a, ok := raw.RemoteAddr().(*net.TCPAddr); ok {
			rc.ip = a.IP.String()
		}
		return rc, nil
	}
	proxy := t.Proxy
	t.Proxy = func(req *http.Request) (*url.URL, error) {
		p, err := proxy(req)
		if p != nil && err == nil && req.URL.Scheme == "https" {
			// The transport tunnels HTTPS through a proxy itself, and
			// its bytes would be the tunnel's.
			return nil, errRecordProxy
		}
		return p, err
	}
}

var errRecordProxy = errors.New("an archive cannot record HTTPS through a proxy (unset HTTPS_PROXY, or crawl without --warc)")

// recorder is the RoundTripper of a recording transport: it ties each
// response to the exchange that carried it.
type recorder struct{ t *http.Transport }

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var conn *recordConn
	var slot *Exchange
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if conn, _ = info.Conn.(*recordConn); conn != nil {
				conn.await(&slot)
			}
		},
	}
	resp, err := r.t.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil || conn == nil {
		return resp, err
	}
	ex := conn.claimed(&slot)
	if ex == nil {
		return resp, nil
	}
	resp.Body = &recordedBody{ReadCloser: resp.Body, ex: ex}
	return resp, nil
}

func (r recorder) CloseIdleConnections() { r.t.CloseIdleConnections() }

// recordedBody is a response body whose exchange is known.
type recordedBody struct {
	io.ReadCloser
	ex  *Exchange
	eof bool
}

func (b *recordedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// spoolMemory is how much of an exchange a Spool keeps in memory before it
// moves it to a temporary file.
const spoolMemory = 4 << 20

// A Spool holds bytes in memory, or in a temporary file once they are
// many, and their SHA-1 (the digest WARC records carry). It is written by
// one goroutine, then read.
type Spool struct {
	buf  *bytes.Buffer
	file *os.File
	n    int64
	err  error
	sum  hash.Hash
}

func newSpool() *Spool {
	b := spoolPool.Get().(*bytes.Buffer)
	b.Reset()
	return &Spool{buf: b, sum: sha1.New()}
}

// spoolPool recycles the memory of spools: a crawl records thousands of
// exchanges a second.
var spoolPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// SHA1 returns the SHA-1 of everything written.
func (s *Spool) SHA1() []byte { return s.sum.Sum(nil) }

// Write appends p.
func (s *Spool) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	s.sum.Write(p)
	if s.err != nil {
		return len(p), nil
	}
	if s.file == nil && s.buf.Len()+len(p) > spoolMemory {
		f, err := os.CreateTemp("", "trawl-exchange-")
		if err == nil {
			os.Remove(f.Name()) // gone when closed
			_, err = f.Write(s.buf.Bytes())
		}
		if err != nil {
			s.err = fmt.Errorf("spooling an exchange: %w", err)
			return len(p), nil
		}
		s.file = f
		s.buf.Reset()
	}
	if s.file != nil {
		if _, err := s.file.Write(p); err != nil {
			s.err = fmt.Errorf("spooling an exchange: %w", err)
		}
		return len(p), nil
	}
	return s.buf.Write(p)
}

// Len returns how many bytes were written.
func (s *Spool) Len() int64 { return s.n }

// Reader returns a reader of everything written, from the start; the
// spool's error if writing it failed.
func (s *Spool) Reader() (io.Reader, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.file != nil {
		return io.NewSectionReader(s.file, 0, s.n), nil
	}
	return bytes.NewReader(s.buf.Bytes()), nil
}

// Bytes returns everything written when it is all in memory (valid until
// Close), and false when the spool went to a file.
func (s *Spool) Bytes() ([]byte, bool) {
	if s.err != nil || s.file != nil {
		return nil, false
	}
	return s.buf.Bytes(), true
}

// Head returns up to n bytes from the start.
func (s *Spool) Head(n int) []byte {
	r, err := s.Reader()
	if err != nil {
		return nil
	}
	b := make([]byte, min(int64(n), s.n))
	m, _ := io.ReadFull(r, b)
	return b[:m]
}

// Close frees the spool.
func (s *Spool) Close() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	if s.buf != nil && s.buf.Cap() <= spoolMemory {
		spoolPool.Put(s.buf)
	}
	s.buf = nil
}
