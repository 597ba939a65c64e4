package scope

import "testing"

func TestTrap(t *testing.T) {
	for u, want := range map[string]bool{
		"http://h/a/b/c":                       false,
		"http://h/a/a/b":                       false,
		"http://h/a/a/a":                       true,
		"http://h/x/cal/cal/cal/2026?q=/a/a/a": true,
		"http://h/ok?q=/a/a/a/a":               false,
		"http://h/" + repeatSeg(20):            false,
		"http://h/" + repeatSeg(21):            true,
	} {
		if got := Trap(u) != nil; got != want {
			t.Errorf("Trap(%q) = %v, want %v", u, got, want)
		}
	}
}

func repeatSeg(n int) string {
	s := ""
	for i := 0; i < n; i++ {
		if i > 0 {
			s += "/"
		}
		s += string(rune('a' + i%26))
	}
	return s
}
