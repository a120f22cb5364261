package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// The identifiers below mimic the shape of WeChat's real ones, so that code sized or validated
// against production values (column widths, regexps, URL handling) meets the same shapes locally.

// urlSafe is the alphabet of openids, unionids and access tokens: letters, digits, '-' and '_'.
const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// alnum is the alphabet of wx.login codes.
const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// randomString draws n characters uniformly from alphabet (at most 256 characters), rejecting
// the bytes that would bias the draw.
func randomString(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	for len(out) < n {
		for _, c := range randomBytes(n - len(out)) {
			if int(c) < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// newOpenID returns a 28-character id starting with "o", like a mini-program openid.
func newOpenID() string { return "o" + randomString(urlSafe, 27) }

// newUnionID returns a 28-character id starting with "o", like an Open Platform unionid.
func newUnionID() string { return "o" + randomString(urlSafe, 27) }

// newSessionKey returns 16 random bytes in standard base64, like a real session_key.
func newSessionKey() string { return base64.StdEncoding.EncodeToString(randomBytes(16)) }

// newLoginCode returns a 32-character alphanumeric code like the ones wx.login hands out.
func newLoginCode() string { return randomString(alnum, 32) }

// newPhoneCode returns a 64-character hex code like the getPhoneNumber button's.
func newPhoneCode() string { return hex.EncodeToString(randomBytes(32)) }

// newAccessToken returns a token shaped like WeChat's: a small numeric version, an underscore and
// a long URL-safe body.
func newAccessToken() string { return "86_" + randomString(urlSafe, 133) }
