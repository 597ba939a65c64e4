// Package atomicfile writes a file whole or not at all: under a temporary
// name beside it, renamed into place once complete, so that a reader (or
// a crash) never meets half a file where a good one was.
package atomicfile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// Write writes path through fill. With sync, the bytes are on disk before
// the rename. On any error the temporary file is removed and path is left
// as it was. The file is made readable by all (0644), as os.Create would
// under the usual umask.
func Write(path string, sync bool, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	err = f.Chmod(0o644)
	if err == nil {
		err = fill(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
