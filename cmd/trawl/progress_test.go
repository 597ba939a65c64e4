package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/testsite"
)

// On a terminal (a pseudo-terminal from script(1)), a fetch shows a bar
// with a percentage and an ETA; off a terminal, no control characters.
func TestProgressBar(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		msg := "no script(1) for a pseudo-terminal: apt-get install -y bsdutils"
		if os.Getenv("TRAWL_REQUIRE_REAL") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	site := testsite.New(40)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	var list strings.Builder
	for i := range 40 {
		fmt.Fprintf(&list, "%s%s\n", srv.URL, testsite.Path(i))
	}
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list.String()), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec", binary+" fetch --job tty.db --rate 20 list.txt", "/dev/null")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	screen := string(out)
	if !strings.Contains(screen, "\r") || !strings.Contains(screen, "%  ") || !strings.Contains(screen, "ETA ") || !strings.Contains(screen, "/40") {
		t.Errorf("no progress bar on the terminal:\n%q", screen)
	}
	r := trawl(t, dir, "", "fetch", "--job", "plain.db", "--rate", "20", "list.txt")
	if r.code != 0 || strings.ContainsAny(r.stderr, "\r\033") {
		t.Errorf("off a terminal: exit %d, control characters in %q", r.code, r.stderr)
	}
	if r := trawl(t, dir, "", "fetch", "--progress", "fancy", "list.txt"); r.code != 2 {
		t.Errorf("--progress fancy: exit %d, want 2", r.code)
	}
}
