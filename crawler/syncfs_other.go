//go:build !linux

package crawler

import "syscall"

// flushFS writes everything buffered to disk: sync(2), where syncfs(2) is
// missing.
func flushFS(dir string) error {
	syscall.Sync()
	return nil
}
