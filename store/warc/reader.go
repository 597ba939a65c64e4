package warc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
)

// A Record is a WARC record as read.
type Record struct {
	Version string
	Header  textproto.MIMEHeader // WARC-Type, WARC-Record-ID, …
	Block   []byte
	// Offset is where the record's gzip member starts in the file.
	Offset int64
}

// Type returns the record's WARC-Type.
func (r *Record) Type() string { return r.Header.Get("WARC-Type") }

// Reader reads the records of a .warc.gz file, one gzip member each.
type Reader struct {
	cr  *countReader
	z   *gzip.Reader
	off int64 // end of the last whole record
}

// NewReader returns a Reader of r from its start.
func NewReader(r io.Reader) *Reader {
	return &Reader{cr: &countReader{r: bufio.NewReaderSize(r, 64<<10)}}
}

// Offset returns where the last record read ends in the file.
func (r *Reader) Offset() int64 { return r.off }

// ErrNotOneMember is returned for a gzip member that holds more or less
// than one whole record.
var ErrNotOneMember = errors.New("warc: a gzip member does not hold exactly one record")

// Next reads the next record; io.EOF after the last one.
func (r *Reader) Next() (*Record, error) {
	start := r.cr.n
	if _, err := r.cr.r.Peek(1); err == io.EOF {
		return nil, io.EOF
	}
	var err error
	if r.z == nil {
		r.z, err = gzip.NewReader(r.cr)
	} else {
		err = r.z.Reset(r.cr)
	}
	if err != nil {
		return nil, fmt.Errorf("warc: record at %d: %w", start, err)
	}
	r.z.Multistream(false)
	data, err := io.ReadAll(r.z)
	if err != nil {
		return nil, fmt.Errorf("warc: record at %d: %w", start, err)
	}
	rec, rest, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("warc: record at %d: %w", start, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w (at %d: %d bytes after the record)", ErrNotOneMember, start, len(rest))
	}
	rec.Offset = start
	r.off = r.cr.n
	return rec, nil
}

// parse reads one record from data and returns what follows it.
func parse(data []byte) (*Record, []byte, error) {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	version, err := tp.ReadLine()
	if err != nil || !strings.HasPrefix(version, "WARC/") {
		return nil, nil, fmt.Errorf("no WARC version line (%q)", version)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return nil, nil, fmt.Errorf("bad Content-Length %q", h.Get("Content-Length"))
	}
	// The header's length: find the blank line that ends it.
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, nil, errors.New("header not ended")
	}
	body := data[end+4:]
	if int64(len(body)) < n+4 {
		return nil, nil, fmt.Errorf("block cut short: %d of %d bytes", max(len(body)-4, 0), n)
	}
	if string(body[n:n+4]) != "\r\n\r\n" {
		return nil, nil, errors.New("record not ended by CRLF CRLF")
	}
	return &Record{Version: version, Header: h, Block: body[:n]}, body[n+4:], nil
}

// countReader counts the bytes read through it; it is an io.ByteReader,
// so that gzip reads no further than the end of a member.
type countReader struct {
	r *bufio.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}
