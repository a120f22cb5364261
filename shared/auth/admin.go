package auth

import (
	"crypto/sha256"
	"crypto/subtle"
)

// AdminKeys checks admin bearer keys in constant time.
type AdminKeys struct {
	digests [][sha256.Size]byte
}

// NewAdminKeys builds a checker for the given keys.
func NewAdminKeys(keys []string) *AdminKeys {
	a := &AdminKeys{}
	for _, k := range keys {
		a.digests = append(a.digests, sha256.Sum256([]byte(k)))
	}
	return a
}

// Check reports whether key is one of the admin keys. It compares digests, so the time taken
// depends neither on the key's length nor on where it differs, and it always compares against
// every key so that the position of a match is not revealed either.
func (a *AdminKeys) Check(key string) bool {
	d := sha256.Sum256([]byte(key))
	found := 0
	for i := range a.digests {
		found |= subtle.ConstantTimeCompare(d[:], a.digests[i][:])
	}
	return found == 1 && key != ""
}
