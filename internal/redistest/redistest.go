// Package redistest runs a real redis-server for tests: started from PATH
// on a free loopback port in a temporary folder, stopped with the test.
// Where redis-server is missing, tests skip with a message saying how to
// install it, unless TRAWL_REQUIRE_REAL is set (as in CI), where they fail.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Options configure a server.
type Options struct {
	AOF      bool     // append every write to a file that a restart reads back
	Unix     bool     // listen on a unix socket in Dir too (see Socket)
	Password string   // require this password
	Args     []string // more redis-server arguments ("--maxmemory-policy", "allkeys-lru")
}

// Server is a running redis-server.
type Server struct {
	Port int
	Dir  string // its working folder (AOF and RDB files)
	opts Options
	cmd  *exec.Cmd
	exit chan struct{}
}

// Need skips t (or fails it where TRAWL_REQUIRE_REAL is set) when there is
// no redis-server on PATH, and returns its path.
func Need(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "no redis-server on PATH: apt-get install -y redis-server (Debian) or brew install redis"
		if os.Getenv("TRAWL_REQUIRE_REAL") != "" {
			t.Fatal(msg + " (TRAWL_REQUIRE_REAL is set)")
		}
		t.Skip(msg)
	}
	return p
}

// Start starts a redis-server for t, stopped when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	Need(t)
	s := &Server{Dir: t.TempDir(), opts: opts}
	if err := s.start(0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(port int) error {
	var err error
	if port == 0 {
		if port, err = freePort(); err != nil {
			return err
		}
	}
	s.Port = port
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", filepath.Join(s.Dir, "redis.log")}
	if s.opts.AOF {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	}
	if s.opts.Unix {
		args = append(args, "--unixsocket", s.Socket(), "--unixsocketperm", "700")
	}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	args = append(args, s.opts.Args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	s.exit = make(chan struct{})
	go func(cmd *exec.Cmd, exit chan struct{}) { cmd.Wait(); close(exit) }(s.cmd, s.exit)
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: s.opts.Password})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exit:
			return fmt.Errorf("redis-server exited at start: %s", s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server did not answer in 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a server that is starting: no condition to wait on
	}
}

func (s *Server) logTail() string {
	f, err := os.Open(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var last string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		last = sc.Text()
	}
	return last
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Socket returns the path of the server's unix socket (with Options.Unix).
func (s *Server) Socket() string { return filepath.Join(s.Dir, "redis.sock") }

// URL returns the server's redis:// address.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Client returns a client of the server, closed when t ends.
func (s *Server) Client(t testing.TB) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: s.opts.Password})
	t.Cleanup(func() { c.Close() })
	return c
}

// Alive reports whether the server process runs.
func (s *Server) Alive() bool {
	select {
	case <-s.exit:
		return false
	default:
		return s.cmd != nil
	}
}

// Kill stops the server at once, as kill -9 does.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exit
	}
}

// Restart kills the server and starts it again on the same port, with
// what its AOF file kept.
func (s *Server) Restart() error {
	s.Kill()
	return s.start(s.Port)
}
