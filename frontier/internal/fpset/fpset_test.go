package fpset

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestMatchesMap holds the set to a Go map over random fingerprints, ones
// crowded into one shard and one home slot, and 0 and 1.
func TestMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := map[string]struct {
		gen func() uint64
		n   int
	}{
		"random":    {r.Uint64, 200_000},
		"one shard": {func() uint64 { return 0x42<<56 | r.Uint64()>>8 }, 100_000},
		"one home":  {func() uint64 { return 0x42<<56 | r.Uint64()>>53 }, 10_000}, // 2048 fingerprints in one run of slots
		"small":     {func() uint64 { return r.Uint64N(4) }, 1000},
	}
	for name, g := range gens {
		gen := g.gen
		t.Run(name, func(t *testing.T) {
			s := New(0)
			defer s.Free()
			want := make(map[uint64]bool)
			for i := 0; i < g.n; i++ {
				fp := gen()
				key := max(fp, 1) // 0 is stored as 1
				if got := s.Add(fp); got != !want[key] {
					t.Fatalf("Add(%#x) = %v; it was in the set: %v", fp, got, want[key])
				}
				want[key] = true
				if q := gen(); s.Has(q) != want[max(q, 1)] {
					t.Fatalf("Has(%#x) = %v, want %v", q, !want[max(q, 1)], want[max(q, 1)])
				}
			}
			if s.Len() != len(want) {
				t.Fatalf("Len = %d, want %d", s.Len(), len(want))
			}
			for fp := range want {
				if !s.Has(fp) {
					t.Fatalf("%#x lost", fp)
				}
			}
		})
	}
}

// TestSize checks the memory a set of a million random fingerprints takes,
// grown from nothing and made with room for them.
func TestSize(t *testing.T) {
	const n = 1_000_000
	r := rand.New(rand.NewPCG(3, 4))
	grown, sized := New(0), New(n)
	defer grown.Free()
	defer sized.Free()
	for i := 0; i < n; i++ {
		fp := r.Uint64()
		grown.Add(fp)
		sized.Add(fp)
	}
	for name, s := range map[string]*Set{"grown": grown, "presized": sized} {
		per := float64(s.Bytes()) / float64(s.Len())
		t.Logf("%s: %.1f bytes a fingerprint", name, per)
		if per > 20 || per < 10 { // load between 40% and 80%
			t.Errorf("%s: %.1f bytes a fingerprint, want 10–20", name, per)
		}
	}
	if sized.Len() != grown.Len() {
		t.Errorf("Len %d and %d", sized.Len(), grown.Len())
	}
}

// TestOffHeap checks that a big set does not count as Go heap, where
// mappings are to be had.
func TestOffHeap(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("the set lives on the heap here")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New(10_000_000)
	defer s.Free()
	for i := uint64(0); i < 1_000_000; i++ {
		s.Add(i * 0x9E3779B97F4A7C15)
	}
	runtime.ReadMemStats(&after)
	if s.Bytes() < 100<<20 {
		t.Fatalf("set of room for 10M takes %d bytes", s.Bytes())
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Errorf("heap grew by %d bytes for a set of %d bytes", grew, s.Bytes())
	}
}

// BenchmarkAdd compares adding random fingerprints, and the memory they
// take, with a map[uint64]struct{}.
func BenchmarkAdd(b *testing.B) {
	const n = 1 << 20
	fps := make([]uint64, n)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range fps {
		fps[i] = r.Uint64()
	}
	b.Run("fpset", func(b *testing.B) {
		for b.Loop() {
			s := New(0)
			for _, fp := range fps {
				s.Add(fp)
			}
			b.ReportMetric(float64(s.Bytes())/n, "B/fp")
			s.Free()
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			m := make(map[uint64]struct{})
			for _, fp := range fps {
				m[fp] = struct{}{}
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/fp")
			runtime.KeepAlive(m)
		}
	})
}
