package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// reader is a small strict JSON reader for the HTTP events, which every request decodes (Lambda
// function URL, SCF function URL and API gateway). encoding/json validates the whole payload and
// then decodes it through reflection, which cost more than everything else the runtime does for
// a request; reading the known fields directly in one pass, with the strings sharing one copy of
// the payload, costs about a third of that.
//
// It accepts exactly the JSON that encoding/json accepts and fills the same values (a
// differential fuzz test holds it to that), with one simplification: where encoding/json
// reports a type mismatch after decoding the rest, reader stops at the first error.
type reader struct {
	b     []byte
	i     int
	depth int
	// src is b as a string: the strings read are substrings of it, one copy of the payload
	// instead of an allocation per field. Empty when the strings are few (sniffing).
	src string
	// last is where the last string read lies in b, when it had no escapes.
	lastStart, lastEnd int
	lastSimple         bool
}

// newReader returns a reader whose strings share one copy of b.
func newReader(b []byte) *reader {
	return &reader{b: b, src: string(b)}
}

// lastString returns the string whose bytes rawString just returned as b.
func (r *reader) lastString(b []byte) string {
	if r.lastSimple && r.src != "" {
		return r.src[r.lastStart:r.lastEnd]
	}
	return string(b)
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

var errSyntax = errors.New("invalid JSON")

// errType is a JSON value of the wrong type for its field.
type errType struct {
	field string
	got   byte
}

func (e *errType) Error() string {
	return fmt.Sprintf("field %q: unexpected JSON value starting with %q", e.field, e.got)
}

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

// end checks that nothing but space follows the top-level value.
func (r *reader) end() error {
	if r.peek() != 0 || r.i != len(r.b) {
		return errSyntax
	}
	return nil
}

// null consumes null if it comes next.
func (r *reader) null() bool {
	if r.peek() == 'n' && bytes.HasPrefix(r.b[r.i:], []byte("null")) {
		r.i += 4
		return true
	}
	return false
}

// object reads the object that comes next, calling member for each key with the reader
// positioned at its value, which member must consume. null is no object and no error.
func (r *reader) object(field string, member func(key []byte) error) error {
	if r.null() {
		return nil
	}
	if r.peek() != '{' {
		return r.mismatch(field)
	}
	r.i++
	if r.depth++; r.depth > maxDepth {
		return errSyntax
	}
	if r.peek() == '}' {
		r.i++
		r.depth--
		return nil
	}
	for {
		if r.peek() != '"' {
			return errSyntax
		}
		key, err := r.rawString()
		if err != nil {
			return err
		}
		if r.peek() != ':' {
			return errSyntax
		}
		r.i++
		if err := member(key); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			r.depth--
			return nil
		default:
			return errSyntax
		}
	}
}

// mismatch returns the error for a value of the wrong type, or a syntax error when the value
// is not JSON at all (which encoding/json reports first).
func (r *reader) mismatch(field string) error {
	start := r.i
	if err := r.skip(); err != nil {
		return err
	}
	return &errType{field: field, got: r.b[start]}
}

// rawString reads a string and returns its decoded bytes, which alias the input when the
// string has no escapes.
func (r *reader) rawString() ([]byte, error) {
	start := r.i
	r.i++
	escaped, ascii := false, true
	for r.i < len(r.b) {
		// Most bytes are plain printable ASCII; step over them in a tight loop.
		for r.i < len(r.b) && plain[r.b[r.i]] {
			r.i++
		}
		if r.i >= len(r.b) {
			break
		}
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			inner := r.b[start+1 : r.i-1]
			if !escaped && (ascii || utf8.Valid(inner)) {
				r.lastStart, r.lastEnd, r.lastSimple = start+1, r.i-1, true
				return inner, nil
			}
			r.lastSimple = false
			s, err := unquote(r.b[start:r.i])
			return []byte(s), err
		case c == '\\':
			escaped = true
			if r.i+1 >= len(r.b) {
				return nil, errSyntax
			}
			switch r.b[r.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.i += 2
			case 'u':
				if r.i+6 > len(r.b) || !isHex4(r.b[r.i+2:r.i+6]) {
					return nil, errSyntax
				}
				r.i += 6
			default:
				return nil, errSyntax
			}
		case c < 0x20:
			return nil, errSyntax
		case c >= utf8.RuneSelf:
			ascii = false
			r.i++
		default:
			r.i++
		}
	}
	return nil, errSyntax
}

// plain marks the bytes a JSON string may hold as they are: printable ASCII but '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unquote decodes a complete quoted JSON string whose syntax rawString has checked. Strings with
// only simple escapes are decoded here; \u escapes and invalid UTF-8 (which encoding/json
// replaces by U+FFFD) go to encoding/json, which handles surrogates and replacement.
func unquote(q []byte) (string, error) {
	inner := q[1 : len(q)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	if bytes.Contains(inner, []byte(`\u`)) || !utf8.Valid(inner) {
		var s string
		if err := json.Unmarshal(q, &s); err != nil {
			return "", errSyntax
		}
		return s, nil
	}
	out := make([]byte, 0, len(inner))
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch inner[i] {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		default: // '"', '\\', '/'
			c = inner[i]
		}
		out = append(out, c)
	}
	return string(out), nil
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// str reads a string into dst; null leaves dst alone, as encoding/json does.
func (r *reader) str(field string, dst *string) error {
	if r.null() {
		return nil
	}
	if r.peek() != '"' {
		return r.mismatch(field)
	}
	b, err := r.rawString()
	if err != nil {
		return err
	}
	*dst = r.lastString(b)
	return nil
}

// boolean reads true or false into dst; null leaves dst alone.
func (r *reader) boolean(field string, dst *bool) error {
	if r.null() {
		return nil
	}
	switch {
	case bytes.HasPrefix(r.b[r.i:], []byte("true")):
		r.i += 4
		*dst = true
	case bytes.HasPrefix(r.b[r.i:], []byte("false")):
		r.i += 5
		*dst = false
	default:
		return r.mismatch(field)
	}
	return nil
}

// int64 reads an integer into dst; null leaves dst alone.
func (r *reader) int64(field string, dst *int64) error {
	if r.null() {
		return nil
	}
	if c := r.peek(); c != '-' && (c < '0' || c > '9') {
		return r.mismatch(field)
	}
	start := r.i
	if err := r.number(); err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(r.b[start:r.i]), 10, 64)
	if err != nil {
		return &errType{field: field, got: r.b[start]}
	}
	*dst = n
	return nil
}

// strings reads an array of strings into dst; null sets it to nil. A null element is "".
func (r *reader) strings(field string, dst *[]string) error {
	if r.null() {
		*dst = nil
		return nil
	}
	if r.peek() != '[' {
		return r.mismatch(field)
	}
	r.i++
	out := (*dst)[:0]
	if out == nil {
		out = make([]string, 0, 4)
	}
	if r.peek() == ']' {
		r.i++
		*dst = out
		return nil
	}
	for {
		var s string
		if err := r.str(field, &s); err != nil {
			return err
		}
		out = append(out, s)
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			*dst = out
			return nil
		default:
			return errSyntax
		}
	}
}

// stringMap reads an object of strings into dst, adding to a map already there; null sets it
// to nil. A null value is "".
func (r *reader) stringMap(field string, dst *map[string]string) error {
	if r.null() {
		*dst = nil
		return nil
	}
	if r.peek() != '{' {
		return r.mismatch(field)
	}
	if *dst == nil {
		*dst = make(map[string]string, 8)
	}
	m := *dst
	return r.object(field, func(key []byte) error {
		k := r.lastString(key) // before reading the value, while the key is the last string
		var v string
		if err := r.str(field, &v); err != nil {
			return err
		}
		m[k] = v
		return nil
	})
}

// skip reads and discards any one value.
func (r *reader) skip() error {
	switch c := r.peek(); {
	case c == '"':
		_, err := r.rawString()
		return err
	case c == '{':
		return r.object("", func([]byte) error { return r.skip() })
	case c == '[':
		r.i++
		if r.depth++; r.depth > maxDepth {
			return errSyntax
		}
		if r.peek() == ']' {
			r.i++
			r.depth--
			return nil
		}
		for {
			if err := r.skip(); err != nil {
				return err
			}
			switch r.peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				r.depth--
				return nil
			default:
				return errSyntax
			}
		}
	case c == 't' && bytes.HasPrefix(r.b[r.i:], []byte("true")):
		r.i += 4
	case c == 'f' && bytes.HasPrefix(r.b[r.i:], []byte("false")):
		r.i += 5
	case c == 'n' && bytes.HasPrefix(r.b[r.i:], []byte("null")):
		r.i += 4
	case c == '-' || c >= '0' && c <= '9':
		return r.number()
	default:
		return errSyntax
	}
	return nil
}

// number reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *reader) number() error {
	b, i := r.b, r.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return errSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return errSyntax
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return errSyntax
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	r.i = i
	return nil
}

// is reports whether a key names field, matching as encoding/json does (exactly, else
// case-insensitively).
func is(key []byte, field string) bool {
	return bytes.EqualFold(key, []byte(field))
}
