package fetch

import (
	"strings"
	"testing"
)

func TestSecretNames(t *testing.T) {
	r := NewRedactor([]string{" X-Api-Key "})
	for name, want := range map[string]bool{
		"Authorization": true, "COOKIE": true, "proxy-authorization": true, "Set-Cookie": true, "x-api-key": true, "X-API-KEY": true,
		"User-Agent": false, "Accept": false, "": false, "Cookie2": false,
		strings.Repeat("x", 100): false,
	} {
		if got := r.Secret(name); got != want {
			t.Errorf("Secret(%q) = %v", name, got)
		}
		if got := r.SecretBytes([]byte(name)); got != want {
			t.Errorf("SecretBytes(%q) = %v", name, got)
		}
	}
	long := strings.Repeat("A", 70)
	if !NewRedactor([]string{long}).Secret(long) {
		t.Error("a secret name longer than the fast path is not found")
	}
	if n := testing.AllocsPerRun(100, func() { r.SecretBytes([]byte("Authorization")) }); n != 0 {
		t.Errorf("SecretBytes allocates %v times", n)
	}
}
