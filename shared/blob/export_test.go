package blob

import (
	"time"
)

// SetClock replaces the file back-end's clock, so that tests can move past a URL's expiry
// without waiting.
func SetClock(s *FS, now func() time.Time) { s.now = now }
