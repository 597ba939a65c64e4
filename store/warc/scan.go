package warc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Scan reads the records of a WARC file written by anyone: gzip-compressed
// a record a member or as one whole, or not compressed; WARC/1.0 or 1.1.
// It calls fn with each record (Offset is where its gzip member starts,
// or the record itself in a file not compressed), and bad with each
// damaged stretch it skips: where it starts and what is wrong. A record
// block larger than maxBlock is skipped as damaged. Scan returns fn's
// error, or the error reading r.
func Scan(r io.ReadSeeker, maxBlock int64, fn func(*Record) error, bad func(offset int64, err error)) error {
	br := bufio.NewReaderSize(r, 256<<10)
	head, err := br.Peek(2)
	if err == io.EOF || len(head) < 2 {
		return nil
	}
	cr := &countReader{r: br}
	if head[0] != 0x1f || head[1] != 0x8b {
		err := scanPlain(cr, 0, maxBlock, false, fn, bad)
		var d damage
		if errors.As(err, &d) { // no way to find the next record: the file ends here
			bad(d.off, d.err)
			return nil
		}
		return unwrapFn(err)
	}
	var z *gzip.Reader
	for {
		start := cr.n
		if _, err := br.Peek(1); err == io.EOF {
			return nil
		}
		if z == nil {
			z, err = gzip.NewReader(cr)
		} else {
			err = z.Reset(cr)
		}
		if err != nil {
			bad(start, fmt.Errorf("not a gzip member: %w", err))
			if more, err := next(r, br, cr, start); !more {
				return err
			}
			continue
		}
		z.Multistream(false)
		err := scanPlain(&countReader{r: bufio.NewReaderSize(z, 64<<10)}, start, maxBlock, true, func(rec *Record) error {
			rec.Offset = start
			return fn(rec)
		}, func(_ int64, err error) { bad(start, err) })
		if err == nil {
			_, err = io.Copy(io.Discard, z) // what the records left of the member, and its trailer
			if err != nil {
				err = damage{start, err}
			}
		}
		var d damage
		if errors.As(err, &d) { // the member is cut or corrupt
			bad(start, d.err)
			if more, err := next(r, br, cr, start); !more {
				return err
			}
			continue
		}
		if err != nil {
			return unwrapFn(err)
		}
	}
}

// fnError carries the error of Scan's fn out of scanPlain.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

func unwrapFn(err error) error {
	var f fnError
	if errors.As(err, &f) {
		return f.err
	}
	return err
}

// damage is a record scanPlain could not read, and where it starts.
type damage struct {
	off int64
	err error
}

func (d damage) Error() string { return fmt.Sprintf("at %d: %v", d.off, d.err) }

// next moves to the next gzip member header after the damaged member at
// start, from its second byte (what inflating it read may run past its
// end), and reports whether there is one.
func next(r io.ReadSeeker, br *bufio.Reader, cr *countReader, start int64) (bool, error) {
	if _, err := r.Seek(start+1, io.SeekStart); err != nil {
		return false, err
	}
	br.Reset(r)
	cr.n = start + 1
	return resync(cr, br), nil
}

// resync moves cr to the next gzip member header from where it is, and
// reports whether there is one.
func resync(cr *countReader, br *bufio.Reader) bool {
	for {
		b, _ := br.Peek(3)
		if len(b) < 3 {
			return false
		}
		if b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 {
			return true
		}
		if _, err := br.ReadByte(); err != nil {
			return false
		}
		cr.n++
	}
}

// scanPlain reads the uncompressed records of cr, counted from base.
// In a gzip member (compressed), a block over maxBlock ends the member:
// skipping it would inflate what may be a bomb.
func scanPlain(cr *countReader, base, maxBlock int64, compressed bool, fn func(*Record) error, bad func(int64, error)) error {
	for {
		var at int64
		rec, err := readRecord(cr, &at, maxBlock, compressed)
		start := base + at
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, errSkipped):
			bad(start, err)
			continue
		case err != nil:
			return damage{start, err}
		}
		rec.Offset = start
		if err := fn(rec); err != nil {
			return fnError{err}
		}
	}
}

var errSkipped = errors.New("record skipped")

// maxHeader bounds a record's header, and the blank lines before it.
const maxHeader = 1 << 20

// readRecord reads one record: its version line (after any blank lines
// between records; *at is set to where it starts), its header, and its
// block; cr counts every byte.
func readRecord(cr *countReader, at *int64, maxBlock int64, compressed bool) (*Record, error) {
	line := func() ([]byte, error) {
		l, err := cr.r.ReadSlice('\n')
		cr.n += int64(len(l))
		if err == bufio.ErrBufferFull {
			return nil, errors.New("a header line too long")
		}
		return l, err
	}
	var version string
	start := cr.n
	for version == "" {
		*at = cr.n
		if cr.n-start > maxHeader { // blank lines without end
			return nil, errors.New("no record: only blank lines")
		}
		l, err := line()
		if err == io.EOF && len(bytes.TrimSpace(l)) == 0 {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("cut short: %w", err)
		}
		version = string(bytes.TrimSpace(l))
	}
	if version != "WARC/1.0" && version != "WARC/1.1" && version != "WARC/0.18" {
		return nil, fmt.Errorf("not a WARC record: %.40q", version)
	}
	var head bytes.Buffer
	for {
		l, err := line()
		if err != nil {
			return nil, fmt.Errorf("cut short in the header: %w", err)
		}
		head.Write(l)
		if head.Len() > maxHeader {
			return nil, fmt.Errorf("a header over %d bytes", maxHeader)
		}
		if len(bytes.TrimRight(l, "\r\n")) == 0 {
			break
		}
	}
	h, err := textproto.NewReader(bufio.NewReader(&head)).ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("bad header: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get("Content-Length")), 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("bad Content-Length %q", h.Get("Content-Length"))
	}
	if n > maxBlock && compressed {
		return nil, fmt.Errorf("a block of %d bytes, over %d", n, maxBlock)
	}
	if n > maxBlock {
		if _, err := io.CopyN(io.Discard, cr, n); err != nil {
			return nil, fmt.Errorf("cut short: %w", err)
		}
		return nil, fmt.Errorf("%w: a block of %d bytes, over %d", errSkipped, n, maxBlock)
	}
	block := make([]byte, n)
	if _, err := io.ReadFull(cr, block); err != nil {
		return nil, fmt.Errorf("cut short: the block has fewer than its %d bytes: %w", n, err)
	}
	return &Record{Version: version, Header: h, Block: block}, nil
}

// HTTPResponse splits a response or revisit record's block into the HTTP
// response it holds: its status and headers, and the body as received
// (Transfer-Encoding removed, Content-Encoding kept).
func (r *Record) HTTPResponse() (status int, header http.Header, body []byte, err error) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(r.Block)), nil)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("HTTP header: %w", err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil && len(body) == 0 {
		return 0, nil, nil, fmt.Errorf("HTTP body: %w", err)
	}
	return resp.StatusCode, resp.Header, body, nil
}
