package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// robotsHost is a site on a loopback address of its own whose robots.txt
// misbehaves as robots says; its pages are / (linking to /ok and
// /private), /ok and /private. It notes what it was asked.
type robotsHost struct {
	srv    *httptest.Server
	mu     sync.Mutex
	asked  []string
	robots []time.Time // when each robots.txt request began
	sent   atomic.Int64
	gone   chan time.Duration // how long a robots.txt request lasted, when the client went away
}

func newRobotsHost(t *testing.T, addr string, robots func(h *robotsHost, w http.ResponseWriter, r *http.Request)) *robotsHost {
	t.Helper()
	l, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Skipf("no loopback address %s: %v", addr, err)
	}
	h := &robotsHost{gone: make(chan time.Duration, 10)}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.asked = append(h.asked, r.URL.Path)
		if r.URL.Path == "/robots.txt" {
			h.robots = append(h.robots, time.Now())
		}
		h.mu.Unlock()
		switch p := r.URL.Path; {
		case p == "/robots.txt" || strings.HasPrefix(p, "/hop/"):
			robots(h, w, r)
		case p == "/":
			fmt.Fprint(w, `<a href="/ok">ok</a> <a href="/private">private</a>`)
		default:
			fmt.Fprint(w, "a page")
		}
	}))
	h.srv.Listener.Close()
	h.srv.Listener = l
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	return h
}

func (h *robotsHost) saw(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, p := range h.asked {
		if p == path {
			n++
		}
	}
	return n
}

func (h *robotsHost) robotsAsked() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.robots)
}

// A robots.txt of 500 MB, one ten redirects away, one that answers 503
// for good, and one that takes a minute: the first is read for its first
// 500 KiB and obeyed; the second is unavailable and allows everything
// (RFC 9309: at most five redirects are followed); the last two disallow
// the site for now and are asked again later, the slow one given up after
// --timeout (at least 5 s).
func TestRobotsHostile(t *testing.T) {
	huge, far, down, slow := hostileRobots(t)
	dir := t.TempDir()
	job := filepath.Join(dir, "j.db")
	args := []string{"crawl", "--job", job, "--timeout", "2s", "--scope", "any", "--retries", "0"}
	for _, h := range []*robotsHost{huge, far, down, slow} {
		args = append(args, h.srv.URL+"/")
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The 503 and the slow robots.txt are asked again after 10 s: wait for
	// that second ask, then stop the crawl.
	deadline := time.Now().Add(40 * time.Second)
	for (down.robotsAsked() < 2 || slow.robotsAsked() < 2) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()

	if huge.saw("/ok") != 1 || huge.saw("/private") != 0 {
		t.Errorf("500 MB robots.txt: /ok asked %d times, /private %d; want 1 and 0", huge.saw("/ok"), huge.saw("/private"))
	}
	if sent := huge.sent.Load(); sent > 50<<20 {
		t.Errorf("500 MB robots.txt: %d MB sent before trawl hung up; it reads 500 KiB", sent>>20)
	}
	if far.saw("/ok") != 1 || far.saw("/private") != 1 {
		t.Errorf("robots.txt 10 redirects away: /ok asked %d times, /private %d; want both (unavailable: everything allowed)", far.saw("/ok"), far.saw("/private"))
	}
	if hops := far.saw("/robots.txt") + len(far.hops()); hops > 6 {
		t.Errorf("robots.txt 10 redirects away: %d requests for it, want at most 6 (five redirects)", hops)
	}
	for name, h := range map[string]*robotsHost{"503": down, "slow": slow} {
		if n := h.robotsAsked(); n < 2 {
			t.Errorf("%s robots.txt asked %d times, want it asked again", name, n)
		} else if gap := h.robots[1].Sub(h.robots[0]); gap < 9*time.Second {
			t.Errorf("%s robots.txt asked again after %v, want about 10s", name, gap)
		}
		if n := h.saw("/"); n != 0 {
			t.Errorf("%s robots.txt: / asked %d times; an unavailable robots.txt disallows the site for now", name, n)
		}
	}
	select {
	case d := <-slow.gone:
		if d > 8*time.Second {
			t.Errorf("the slow robots.txt was given up after %v, want about 5 s (--timeout 2s, at least 5 s)", d)
		}
	default:
		t.Error("the slow robots.txt was never given up")
	}
}

// hostileRobots starts the four hosts of TestRobotsHostile.
func hostileRobots(t *testing.T) (huge, far, down, slow *robotsHost) {
	huge = newRobotsHost(t, "127.0.0.2", func(h *robotsHost, w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "User-agent: *\nDisallow: /private\n")
		line := []byte("# " + strings.Repeat("x", 1020) + "\n")
		for h.sent.Load() < 500<<20 {
			n, err := w.Write(line)
			h.sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	far = newRobotsHost(t, "127.0.0.3", func(h *robotsHost, w http.ResponseWriter, r *http.Request) {
		n := 0
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/hop/"), "%d", &n)
		if r.URL.Path == "/robots.txt" || n < 10 {
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n+1), http.StatusFound)
			return
		}
		io.WriteString(w, "User-agent: *\nDisallow: /\n")
	})
	down = newRobotsHost(t, "127.0.0.4", func(h *robotsHost, w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	slow = newRobotsHost(t, "127.0.0.5", func(h *robotsHost, w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
			h.gone <- time.Since(start)
		case <-time.After(time.Minute):
		}
	})
	return huge, far, down, slow
}

// hops returns the redirect hops asked.
func (h *robotsHost) hops() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range h.asked {
		if strings.HasPrefix(p, "/hop/") {
			out = append(out, p)
		}
	}
	return out
}
