//go:build !unix

package proctest

// processAlive cannot tell on this platform, so it keeps every build directory.
func processAlive(int) bool { return true }
