//go:build !linux

package download

import "os"

// syncEachFile: without syncfs(2), each download is fsynced before it takes
// its name, and flushFS only syncs the folder's entries.
const syncEachFile = true

// flushFS syncs dir's entries where the system allows it (best effort:
// some systems cannot sync a directory).
func flushFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	_ = f.Sync()
	return nil
}
