package crawler

import "time"

// SetWriteLinger makes a batch wait up to d for more results, until the
// returned function restores the default.
func SetWriteLinger(d time.Duration) (restore func()) {
	old := writeLinger
	writeLinger = d
	return func() { writeLinger = old }
}
