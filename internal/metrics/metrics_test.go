package metrics

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// What a Registry writes is read back by Prometheus's own parser, value
// for value: counters by label (with values that need escaping), a
// histogram's cumulative buckets, sum and count, and collected gauges.
func TestWrittenAsPrometheusReadsIt(t *testing.T) {
	var r Registry
	c := NewCounter("t_total", "A counter.\nTwo lines, a \\ too.")
	cv := NewCounterVec("t_by_total", "By kind.", "kind")
	h := NewHistogram("t_seconds", "Durations.", ExponentialBuckets(0.001, 10, 3))
	r.Register(c, cv, h)
	r.Collect(func(w *Writer) {
		w.Sample("t_hosts", "Hosts by state.", GaugeType, 3, "state", "active")
		w.Sample("t_hosts", "Hosts by state.", GaugeType, math.Inf(1), "state", "down")
	})
	r.Collect(Runtime(time.Unix(1700000000, 0)))
	c.Add(2.5)
	cv.Inc("a")
	cv.Inc(`odd "one"` + "\n\\")
	cv.Inc("a")
	for _, v := range []float64{0.0005, 0.001, 0.05, 0.2, 7} {
		h.Observe(v)
	}
	var buf bytes.Buffer
	if n, err := r.WriteTo(&buf); err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d bytes, %v; %d written", n, err, buf.Len())
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("not the text format: %v\n%s", err, buf.String())
	}
	if got := fams["t_total"].Metric[0].Counter.GetValue(); got != 2.5 || fams["t_total"].GetHelp() != "A counter.\nTwo lines, a \\ too." {
		t.Errorf("t_total = %v, help %q", got, fams["t_total"].GetHelp())
	}
	by := map[string]float64{}
	for _, m := range fams["t_by_total"].Metric {
		by[m.Label[0].GetValue()] = m.Counter.GetValue()
	}
	if by["a"] != 2 || by[`odd "one"`+"\n\\"] != 1 || len(by) != 2 {
		t.Errorf("t_by_total = %v", by)
	}
	hist := fams["t_seconds"].Metric[0].Histogram
	want := []uint64{2, 2, 3, 5} // ≤ 0.001, ≤ 0.01, ≤ 0.1 (bounds are inclusive), +Inf
	for i, b := range hist.Bucket {
		if b.GetCumulativeCount() != want[i] {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want[i])
		}
	}
	if hist.GetSampleCount() != 5 || math.Abs(hist.GetSampleSum()-7.2515) > 1e-9 {
		t.Errorf("histogram count %d sum %v, want 5 and 7.2515", hist.GetSampleCount(), hist.GetSampleSum())
	}
	if g := fams["t_hosts"]; g == nil || len(g.Metric) != 2 || !math.IsInf(g.Metric[1].Gauge.GetValue(), 1) {
		t.Errorf("t_hosts: %v", g)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds"} {
		if f := fams[name]; f == nil || len(f.Metric) != 1 {
			t.Errorf("no %s", name)
		}
	}
	if v := fams["process_start_time_seconds"].Metric[0].Gauge.GetValue(); v != 1700000000 {
		t.Errorf("process_start_time_seconds = %v", v)
	}
}
