package events

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// The responses are encoded by hand: they are small, fixed shapes, and encoding/json's
// reflection and map-key sorting cost more than the rest of answering a request. The output is
// what json.Marshal produces, except that <, > and & are not escaped (no HTML is involved), and
// a test holds the two to decoding to the same value.

// appendJSON appends e as JSON.
func (e *LambdaURLResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"statusCode":`...)
	b = strconv.AppendInt(b, int64(e.StatusCode), 10)
	if len(e.Headers) > 0 {
		b = append(b, `,"headers":`...)
		b = appendStringMap(b, e.Headers)
	}
	if len(e.Cookies) > 0 {
		b = append(b, `,"cookies":[`...)
		for i, c := range e.Cookies {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c)
		}
		b = append(b, ']')
	}
	b = append(b, `,"body":`...)
	b = appendString(b, e.Body)
	b = append(b, `,"isBase64Encoded":`...)
	b = strconv.AppendBool(b, e.IsBase64Encoded)
	return append(b, '}')
}

// appendJSON appends e as JSON.
func (e *SCFResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"isBase64Encoded":`...)
	b = strconv.AppendBool(b, e.IsBase64Encoded)
	b = append(b, `,"statusCode":`...)
	b = strconv.AppendInt(b, int64(e.StatusCode), 10)
	b = append(b, `,"headers":`...)
	if e.Headers == nil {
		b = append(b, "null"...)
	} else {
		b = appendStringMap(b, e.Headers)
	}
	b = append(b, `,"body":`...)
	b = appendString(b, e.Body)
	return append(b, '}')
}

// appendStringMap appends m as a JSON object with its keys sorted, as json.Marshal does.
func appendStringMap(b []byte, m map[string]string) []byte {
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: '"', '\\' and control characters escaped, invalid
// UTF-8 replaced by U+FFFD, and U+2028 and U+2029 escaped (JavaScript reads them as line ends),
// all as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
