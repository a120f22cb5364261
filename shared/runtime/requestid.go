package runtime

import (
	"crypto/rand"
	"encoding/hex"
)

// newRequestID returns a fresh request id: 16 random bytes in hex.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b[:])
}

// maxRequestIDLen bounds a client-supplied x-request-id.
const maxRequestIDLen = 64

// saneRequestID reports whether a client-supplied request id may be used as ours: a short token
// of letters, digits and "-_.:", which cannot forge log fields or headers.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
