package download

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncEachFile: no; one syncfs(2) a batch covers every file (see flushFS).
const syncEachFile = false

// flushFS writes everything buffered for the file system holding dir to
// disk: one syncfs(2) for a whole batch of downloads, where an fsync each
// would cost a journal commit each.
func flushFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
