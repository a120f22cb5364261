package events

import (
	"errors"
	"fmt"
)

// probe holds what tells the event families apart: which top-level keys are present (and not
// null) and the values of "version" and "Type".
type probe struct {
	version        string
	typ            string
	rawPath        bool
	httpMethod     bool
	requestContext bool
	detailType     bool
	schedule       bool
}

var (
	errNotObject = errors.New("not a JSON object")
	// errDecided stops sniffing early; it never leaves sniff.
	errDecided = errors.New("decided")
)

// sniff reads the top-level keys of a JSON object, skipping their values, in one pass without
// allocating; every invocation pays it before the real decode. Keys are matched as
// encoding/json matches them. It fails on anything that is not one valid JSON object, except
// that it stops as soon as it has seen the two keys that make a Lambda URL request ("version"
// and "rawPath" come first in them), leaving the rest to the decode that follows.
func sniff(b []byte) (probe, error) {
	var p probe
	r := &reader{b: b}
	if r.peek() != '{' {
		return p, errNotObject
	}
	err := r.object("", func(key []byte) error {
		r.ws()
		start := r.i
		if err := r.skip(); err != nil {
			return err
		}
		p.note(key, r.b[start:r.i])
		if p.lambdaURL() {
			return errDecided
		}
		return nil
	})
	if err == errDecided {
		return p, nil
	}
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return p, fmt.Errorf("%w: %v", errNotObject, err)
	}
	return p, nil
}

// lambdaURL reports whether the keys seen make a Lambda URL request.
func (p *probe) lambdaURL() bool { return p.version == "2.0" && p.rawPath }

// note records a top-level key and its raw value.
func (p *probe) note(key, v []byte) {
	present := len(v) > 0 && string(v) != "null"
	switch {
	case is(key, "version"):
		p.version = stringValue(v)
	case is(key, "type"):
		p.typ = stringValue(v)
	case is(key, "rawPath"):
		p.rawPath = present
	case is(key, "httpMethod"):
		p.httpMethod = present
	case is(key, "requestContext"):
		p.requestContext = present
	case is(key, "detail-type"):
		p.detailType = present
	case is(key, "wxfnSchedule"):
		p.schedule = present
	}
}

// stringValue returns a raw JSON string value's text, or "" for any other value.
func stringValue(v []byte) string {
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	s, err := unquote(v)
	if err != nil {
		return ""
	}
	return s
}
