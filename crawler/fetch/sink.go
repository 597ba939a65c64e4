package fetch

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"

	"github.com/trawl-dev/trawl/internal/units"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/warc"
)

// A Sink is where the bodies of a job's responses go: into the job (Memory),
// to files (package download), or an archive. It is chosen once per job.
// Its methods are called from many workers at once.
type Sink interface {
	// Open returns the Body that receives the attempts of the request t
	// names.
	Open(t Target) Body
	// Sync makes every body that Receive finished so far durable. The
	// crawler calls it before it commits records that name them.
	Sync() error
}

// A Target names what a body is for: a sink keys and names a file by it.
type Target struct {
	ID     string // the request's identity (see crawler/task)
	URL    string // the URL fetched
	Method string // "" for GET
	Out    string // the file name asked for; "" to name it by URL
	// Previous is the URL's capture by an earlier pass (see
	// Request.Previous), or nil.
	Previous *warc.Origin
	// Known is the SHA-256 of the body an earlier pass saved (see
	// Request.Known), or "".
	Known string
}

// A Body receives the responses of one request's attempts, in order, from
// one goroutine.
type Body interface {
	// Streaming reports whether the body is written out as it arrives and
	// may rightly take long: the attempt's timeout is then the most time
	// without a byte, not the whole exchange.
	Streaming() bool
	// Prepare adds what the body needs to an attempt's request headers
	// (Accept-Encoding, or a Range to continue a partial file) and returns
	// the offset a 206 answer must start at (0: none asked).
	Prepare(h http.Header) (from int64)
	// Receive consumes resp, the answer to the attempt prepared last, as it
	// came off the wire (Content-Encoding intact). It reads at most max
	// body bytes (0: no limit), calls tick with each read's size, and
	// returns ErrRestart to ask for the request again from the first byte
	// at once. It must not close resp.Body.
	Receive(resp *http.Response, from, max int64, tick func(n int)) (Payload, error)
}

// A Payload is where a response's body went.
type Payload struct {
	// Data is the decoded body, when it was kept in memory: valid until
	// passed to Recycle. Nil for a body written elsewhere.
	Data   []byte
	File   string // the file the body was saved to, if any
	Length int64  // of a body written elsewhere
	SHA256 string // hex digest of a body written elsewhere
	// Resumed says a 206 continued an earlier partial body into the whole
	// of it: the body is what a 200 would have given.
	Resumed bool
	// Archived is where the exchange was archived, by a sink that
	// archives (see crawler/archive).
	Archived *store.WARCRef
}

// ErrRestart is returned by Body.Receive to ask for another attempt from
// the first byte, at once and without using a retry.
var ErrRestart = errors.New("server refused to continue the partial download; starting over")

// Memory is the Sink that keeps each body in memory, decoded (gzip,
// deflate, br) and capped at the job's max body, for the job file and
// extraction.
type Memory struct{}

// Open returns a body kept in memory.
func (Memory) Open(Target) Body { return memoryBody{} }

// Sync does nothing: the job commits what it keeps.
func (Memory) Sync() error { return nil }

type memoryBody struct{}

func (memoryBody) Streaming() bool { return false }

func (memoryBody) Prepare(h http.Header) int64 {
	h.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	h.Set("Accept-Encoding", "gzip, deflate, br")
	return 0
}

func (memoryBody) Receive(resp *http.Response, _, max int64, _ func(int)) (Payload, error) {
	data, err := ReadBody(resp, max)
	return Payload{Data: data}, err
}

// ReadBody reads and decodes resp's body, failing with ErrTooLarge as soon
// as more than max decoded bytes arrive: nothing larger is ever held.
func ReadBody(resp *http.Response, max int64) ([]byte, error) {
	var rd io.Reader = resp.Body
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("bad gzip body: %w", err)
		}
		defer zr.Close()
		rd = zr
	case "deflate":
		rd = newDeflateReader(resp.Body)
	case "br":
		rd = brotli.NewReader(resp.Body)
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	if max <= 0 {
		max = 1<<63 - 2
	}
	capacity := int64(16 << 10)
	if resp.ContentLength > 0 && enc == "" {
		// bytes.Buffer.ReadFrom wants 512 bytes free before each read.
		capacity = min(resp.ContentLength, max) + bytes.MinRead
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	buf.Grow(int(min(capacity, 1<<20)))
	n, err := buf.ReadFrom(io.LimitReader(rd, max+1))
	if n > max {
		Recycle(buf.Bytes())
		return nil, fmt.Errorf("%w (%s)", ErrTooLarge, units.FormatSize(max))
	}
	return buf.Bytes(), err
}

// bodyPool recycles body buffers: a crawl reads thousands of pages a
// second, and each body is garbage once stored and parsed.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Recycle returns a body that ReadBody made to the pool; the caller must
// not use it again. Large ones are dropped so that one huge page does not
// pin its memory.
func Recycle(b []byte) {
	if b == nil || cap(b) > 1<<20 {
		return
	}
	bodyPool.Put(bytes.NewBuffer(b[:0]))
}

// newDeflateReader reads "deflate" bodies, which servers send either
// zlib-wrapped (as the RFC says) or raw.
func newDeflateReader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	hdr, _ := br.Peek(2)
	if len(hdr) == 2 && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
		if zr, err := zlib.NewReader(br); err == nil {
			return zr
		}
	}
	return flate.NewReader(br)
}
