package gz

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// roundTrip writes in as one member in writes of at most chunk bytes,
// reads it back with the standard library's reader, and fails unless it
// is in, whole, in exactly one member.
func roundTrip(t testing.TB, z *Writer, in []byte, chunk int) []byte {
	t.Helper()
	var out bytes.Buffer
	z.Reset(&out)
	for p := in; len(p) > 0; {
		k := min(chunk, len(p))
		if n, err := z.Write(p[:k]); err != nil || n != k {
			t.Fatalf("Write: %d, %v", n, err)
		}
		p = p[k:]
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	br := bytes.NewReader(out.Bytes()) // a ByteReader: gzip reads no further than the member
	r, err := gzip.NewReader(br)
	if err != nil {
		t.Fatalf("not a gzip member: %v", err)
	}
	r.Multistream(false)
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading the member back (%d bytes in): %v", len(in), err)
	}
	if !bytes.Equal(got, in) {
		t.Fatalf("read back %d bytes, not the %d written", len(got), len(in))
	}
	if br.Len() != 0 {
		t.Fatalf("%d bytes after the member", br.Len())
	}
	return out.Bytes()
}

func inputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	html := []byte(strings.Repeat(`<li><a href="/p/17">Lorem ipsum dolor sit amet</a>, consectetur adipiscing elit.</li>`+"\n", 3000))
	words := []string{"the", "crawler", "<div class=\"", "href=", "</a>", "\r\n", "WARC-Type: response", "GET /", " ", "0123456789"}
	var page, utf8 bytes.Buffer
	tags := []string{"<p>", "</p>\n", "<a href=\"/docs/", "\">", "</a>", "<li class=\"toctree-l1\">", "</li>\n", "<code>", "</code>"}
	vocab := strings.Fields("the a of to and in is for that with as on be by this are it from or an at which can not if you function returns value module object used when new data file")
	kana := []rune("あいうえおかきくけこさしすせそたちつてとなにぬねの日本語文書検索")
	for page.Len() < 60_000 {
		if rng.IntN(6) == 0 {
			page.WriteString(tags[rng.IntN(len(tags))])
		}
		page.WriteString(vocab[rng.IntN(len(vocab))] + " ")
		for range 3 {
			utf8.WriteRune(kana[rng.IntN(len(kana))])
		}
		if rng.IntN(8) == 0 {
			utf8.WriteString("<br>\n")
		}
	}
	var mixed bytes.Buffer
	for mixed.Len() < 400_000 {
		if rng.IntN(20) == 0 {
			mixed.Write(random[:rng.IntN(3000)])
		}
		mixed.WriteString(words[rng.IntN(len(words))])
	}
	return map[string][]byte{
		"empty":     nil,
		"one":       {'x'},
		"three":     []byte("abc"),
		"zeros":     make([]byte, 200_000),
		"run":       bytes.Repeat([]byte("ab"), 70_000),
		"random":    random,
		"html":      html,
		"mixed":     mixed.Bytes(),
		"smallhtml": html[:9000],
		"page":      page.Bytes(),
		"smallpage": page.Bytes()[:9000],
		"utf8":      utf8.Bytes(),
		// A block boundary inside a long match, and a window's length
		// back across blocks.
		"boundary": append(append(bytes.Repeat([]byte{7}, blockSize-3), random[:maxDist]...), random[:maxDist+100]...),
	}
}

func TestRoundTrip(t *testing.T) {
	z := NewWriter(io.Discard)
	for name, in := range inputs() {
		for _, chunk := range []int{1 << 30, 4096, 1000, 7} {
			if chunk == 7 && len(in) > 20_000 {
				continue
			}
			t.Run(name, func(t *testing.T) { roundTrip(t, z, in, chunk) })
		}
	}
}

// TestCompresses holds the point of the package: text gets smaller (as
// gzip -1 would make it, give or take a fifth), and what the code would
// make larger is stored, at most a few bytes a block more than it is.
func TestCompresses(t *testing.T) {
	z := NewWriter(io.Discard)
	in := inputs()
	for _, name := range []string{"page", "smallpage", "utf8", "mixed"} {
		out := roundTrip(t, z, in[name], 1<<30)
		var ref bytes.Buffer
		w, _ := gzip.NewWriterLevel(&ref, gzip.BestSpeed)
		w.Write(in[name])
		w.Close()
		if float64(len(out)) > 1.2*float64(ref.Len()) {
			t.Errorf("%s: %d bytes in, %d out; gzip -1 makes %d", name, len(in[name]), len(out), ref.Len())
		}
	}
	random := in["random"]
	out := roundTrip(t, z, random, 1<<30)
	if blocks := len(random)/blockSize + 1; len(out) > len(random)+18+5*blocks {
		t.Errorf("random: %d bytes in, %d out", len(random), len(out))
	}
	if out := roundTrip(t, z, in["html"], 1<<30); len(out) > len(in["html"])/50 {
		t.Errorf("html repeated: %d bytes in, %d out", len(in["html"]), len(out))
	}
}

// TestMembersIndependent: a member written after others on the same Writer
// reads alone, and the table does not carry matches from one to the next.
func TestMembersIndependent(t *testing.T) {
	z := NewWriter(io.Discard)
	in := inputs()
	first := roundTrip(t, z, in["html"], 1<<30)
	roundTrip(t, z, in["random"], 1<<30)
	again := roundTrip(t, z, in["html"], 1<<30)
	if !bytes.Equal(first, again) {
		t.Errorf("the same input made another member after other members (%d bytes, then %d)", len(first), len(again))
	}
	// Far past where positions wrap.
	z.abs = 1<<30 - 1000
	roundTrip(t, z, in["mixed"], 1<<30)
	roundTrip(t, z, in["html"], 1<<30)
}

// FuzzRoundTrip: any input reads back whole, written in writes of any
// size (the input's first byte chooses it).
func FuzzRoundTrip(f *testing.F) {
	// Small seeds: the engine slows to a crawl on large ones.
	for _, in := range inputs() {
		f.Add(append([]byte{255}, in[:min(len(in), 700)]...))
	}
	f.Add(append([]byte{3}, bytes.Repeat([]byte("abcd"), 300)...))
	z := NewWriter(io.Discard)
	f.Fuzz(func(t *testing.T, in []byte) {
		chunk := 1 << 30
		if len(in) > 0 {
			chunk, in = int(in[0])*37+1, in[1:]
		}
		roundTrip(t, z, in, chunk)
	})
}

// TestCode: the shared code is complete (deflate decoders refuse codes
// that are not), no length is longer than 15, every symbol has a code,
// and distance symbols are right at each boundary.
func TestCode(t *testing.T) {
	for name, l := range map[string][]uint8{"text literal/length": textLit[:], "UTF-8 literal/length": utf8Lit[:], "distance": distLengths[:]} {
		sum := 0.0
		for s, n := range l {
			if n == 0 || n > maxBits {
				t.Errorf("%s symbol %d: length %d", name, s, n)
			}
			sum += 1 / float64(uint(1)<<n)
		}
		if sum != 1 {
			t.Errorf("%s code: Kraft sum %v, not 1", name, sum)
		}
	}
	for s := range numDist {
		lo := int(distBase[s])
		hi := lo + 1<<distExtra[s] - 1
		if distSymbol(lo) != s || distSymbol(hi) != s {
			t.Errorf("distances %d and %d: symbols %d and %d, not %d", lo, hi, distSymbol(lo), distSymbol(hi), s)
		}
	}
	if hi := int(distBase[numDist-1]) + 1<<distExtra[numDist-1] - 1; hi != maxDist {
		t.Errorf("the last distance symbol ends at %d", hi)
	}
}

func TestClose(t *testing.T) {
	var out bytes.Buffer
	z := NewWriter(&out)
	z.Write([]byte("one member"))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	n := out.Len()
	if err := z.Close(); err != nil || out.Len() != n {
		t.Errorf("a second Close: %v, %d bytes more", err, out.Len()-n)
	}
	if _, err := z.Write([]byte("x")); err == nil {
		t.Error("a Write after Close did not fail")
	}
	roundTrip(t, z, []byte("after Reset"), 1<<30)
}

// failing fails every write.
type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	z := NewWriter(failing{})
	z.Write(inputs()["random"])
	if err := z.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close on a failing writer: %v", err)
	}
	roundTrip(t, z, []byte("after Reset"), 1<<30)
}
