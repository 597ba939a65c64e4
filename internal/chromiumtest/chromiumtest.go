// Package chromiumtest finds the Chromium that tests drive, or skips the
// test that needs it (fails it where TRAWL_REQUIRE_REAL is set, as in CI).
package chromiumtest

import (
	"os"
	"os/exec"
	"testing"
)

// Need returns the path of Chromium on PATH (chromium, chromium-browser or
// google-chrome), or skips t saying how to install it.
func Need(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("TRAWL_REQUIRE_REAL") != "" {
		t.Fatal("no Chromium on PATH, and TRAWL_REQUIRE_REAL is set: apt-get install -y chromium")
	}
	t.Skip("no Chromium on PATH: apt-get install -y chromium (Debian) to run this test")
	return ""
}
