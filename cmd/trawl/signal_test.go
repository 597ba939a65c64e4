package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM stops a command within a few seconds whatever it waits on: here
// a fetch reading a list from a pipe that never ends. What it saved is
// kept; the exit code says interrupted.
func TestSigtermStopsAWaitingCommand(t *testing.T) {
	dir := t.TempDir()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	cmd := exec.Command(binary, "fetch", "--job", "j.db", "-q")
	cmd.Dir, cmd.Stdin = dir, pr
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(dir + "/j.db"); err == nil {
			break // the job is open: it waits on the list now
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
			t.Errorf("exit: %v, want %d\n%s", err, exitInterrupted, stderr.String())
		}
	case <-time.After(8 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running 8s after SIGTERM\n%s", stderr.String())
	}
}
