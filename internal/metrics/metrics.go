// Package metrics keeps a program's counters and histograms and writes
// them, with the values a scrape reads at that moment, in Prometheus's
// text exposition format (version 0.0.4).
//
// It is what trawl's /metrics needs and no more: nothing runs when the
// program starts (the Prometheus client registers and describes the Go
// runtime's metrics at init, in every trawl command, --metrics or not), and
// a scrape reads the runtime and the process (see Runtime) only then.
package metrics

import (
	"bufio"
	"cmp"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A Family is a named set of series that a Registry writes.
type Family interface {
	write(w *Writer)
}

// Registry is the families a Handler serves, in the order registered,
// then what each collector writes. It is safe for concurrent use.
type Registry struct {
	mu         sync.Mutex
	families   []Family
	collectors []func(*Writer)
}

// Register adds families.
func (r *Registry) Register(fs ...Family) {
	r.mu.Lock()
	r.families = append(r.families, fs...)
	r.mu.Unlock()
}

// Collect adds fn, called at each scrape to write values read then.
func (r *Registry) Collect(fn func(*Writer)) {
	r.mu.Lock()
	r.collectors = append(r.collectors, fn)
	r.mu.Unlock()
}

// WriteTo writes every family and collector's series to w.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	fs, cs := slices.Clone(r.families), slices.Clone(r.collectors)
	r.mu.Unlock()
	cw := &countingWriter{w: w}
	mw := &Writer{w: bufio.NewWriter(cw)}
	for _, f := range fs {
		f.write(mw)
	}
	for _, c := range cs {
		c(mw)
	}
	err := mw.w.Flush()
	return cw.n, err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Handler serves the registry's series.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		r.WriteTo(w)
	})
}

// Writer writes series in the text format. A family's series must be
// written one after another: its HELP and TYPE lines come with its first.
type Writer struct {
	w    *bufio.Writer
	last string
}

// Type is a family's kind.
type Type string

// The kinds of family this package writes.
const (
	CounterType   Type = "counter"
	GaugeType     Type = "gauge"
	HistogramType Type = "histogram"
)

func (w *Writer) head(name, help string, t Type) {
	if w.last == name {
		return
	}
	w.last = name
	w.w.WriteString("# HELP " + name + " " + escapeHelp.Replace(help) + "\n# TYPE " + name + " " + string(t) + "\n")
}

// Sample writes one series of the family name: its value, with label
// pairs (name, value, name, value…).
func (w *Writer) Sample(name, help string, t Type, v float64, labels ...string) {
	w.head(name, help, t)
	w.series(name, v, labels...)
}

func (w *Writer) series(name string, v float64, labels ...string) {
	w.w.WriteString(name)
	if len(labels) > 0 {
		w.w.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.w.WriteByte(',')
			}
			w.w.WriteString(labels[i] + `="` + escapeValue.Replace(labels[i+1]) + `"`)
		}
		w.w.WriteByte('}')
	}
	w.w.WriteByte(' ')
	w.w.WriteString(formatFloat(v))
	w.w.WriteByte('\n')
}

var (
	escapeHelp  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	escapeValue = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Counter is a value that only goes up.
type Counter struct {
	name, help string
	mu         sync.Mutex
	v          float64
}

// NewCounter returns a counter named name.
func NewCounter(name, help string) *Counter { return &Counter{name: name, help: help} }

// Add adds d (d ≥ 0).
func (c *Counter) Add(d float64) {
	c.mu.Lock()
	c.v += d
	c.mu.Unlock()
}

// Inc adds one.
func (c *Counter) Inc() { c.Add(1) }

func (c *Counter) write(w *Writer) {
	c.mu.Lock()
	v := c.v
	c.mu.Unlock()
	w.Sample(c.name, c.help, CounterType, v)
}

// CounterVec is counters by the value of one label.
type CounterVec struct {
	name, help, label string
	mu                sync.Mutex
	v                 map[string]float64
}

// NewCounterVec returns counters named name, one for each value of label.
func NewCounterVec(name, help, label string) *CounterVec {
	return &CounterVec{name: name, help: help, label: label, v: map[string]float64{}}
}

// Inc adds one to the counter of value.
func (c *CounterVec) Inc(value string) {
	c.mu.Lock()
	c.v[value]++
	c.mu.Unlock()
}

func (c *CounterVec) write(w *Writer) {
	c.mu.Lock()
	keys := make([]string, 0, len(c.v))
	for k := range c.v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([]float64, len(keys))
	for i, k := range keys {
		vals[i] = c.v[k]
	}
	c.mu.Unlock()
	for i, k := range keys {
		w.Sample(c.name, c.help, CounterType, vals[i], c.label, k)
	}
}

// Histogram counts observations in buckets by upper bound, with their sum.
type Histogram struct {
	name, help string
	bounds     []float64
	mu         sync.Mutex
	counts     []uint64 // by bound, not cumulative; one more for +Inf
	sum        float64
}

// NewHistogram returns a histogram with the buckets' upper bounds, in
// increasing order.
func NewHistogram(name, help string, bounds []float64) *Histogram {
	return &Histogram{name: name, help: help, bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

// ExponentialBuckets returns n bounds from start, each factor times the last.
func ExponentialBuckets(start, factor float64, n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

// Observe counts v.
func (h *Histogram) Observe(v float64) {
	i, _ := slices.BinarySearchFunc(h.bounds, v, cmp.Compare[float64]) // the first bound ≥ v
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.mu.Unlock()
}

func (h *Histogram) write(w *Writer) {
	h.mu.Lock()
	counts, sum := slices.Clone(h.counts), h.sum
	h.mu.Unlock()
	w.head(h.name, h.help, HistogramType)
	var cum uint64
	for i, b := range h.bounds {
		cum += counts[i]
		w.series(h.name+"_bucket", float64(cum), "le", formatFloat(b))
	}
	cum += counts[len(h.bounds)]
	w.series(h.name+"_bucket", float64(cum), "le", "+Inf")
	w.series(h.name+"_sum", sum)
	w.series(h.name+"_count", float64(cum))
}
