package events

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	"github.com/wxfn/wxfn/shared/fn"
)

// SCFURLRequest is an SCF function URL (函数 URL) request to an event function. It is the
// API-gateway event without requestContext, isBase64Encoded and the parameter maps; the
// client's address is in the x-scf-remote-addr header.
//
//	{"httpMethod":"POST","path":"/orders/42","headers":{"content-type":"application/json",
//	 "x-scf-remote-addr":"203.0.113.7"},"queryString":{"a":"1"},"body":"{\"test\":\"hello\"}"}
//
// How SCF delivers a binary body to a function URL is not documented; an isBase64Encoded flag,
// if present, is honoured.
type SCFURLRequest struct {
	HTTPMethod      string            `json:"httpMethod"`
	Path            string            `json:"path"`
	Headers         map[string]string `json:"headers"`
	QueryString     SCFQueryString    `json:"queryString"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded,omitempty"`
}

// SCFRemoteAddrHeader carries the client's address in an SCF function URL request.
const SCFRemoteAddrHeader = "X-Scf-Remote-Addr"

// SCFResponse answers an SCF function URL or API-gateway request (the "integrated response").
// Body is always a string; a body that is not text is base64-encoded with IsBase64Encoded set.
// SCF allows one value per header, so several Set-Cookie values cannot all be delivered: the
// response carries the first, and the runtime logs that the others were dropped.
type SCFResponse struct {
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
}

// Request translates e; the request id is invocationID, as the event has none of its own.
func (e *SCFURLRequest) Request(invocationID string) (*fn.Request, error) {
	return scfRequest(FormatSCFURL, e.HTTPMethod, e.Path, e.Headers, e.QueryString, e.Body, e.IsBase64Encoded, invocationID, "")
}

// scfRequest builds the fn.Request of both SCF HTTP event families.
func scfRequest(f Format, method, path string, headers map[string]string, q SCFQueryString, body string, isBase64 bool, requestID, sourceIP string) (*fn.Request, error) {
	method = strings.ToUpper(method)
	if method == "" {
		return nil, badEvent(f, fmt.Errorf("httpMethod is empty"))
	}
	b, err := requestBody(body, isBase64)
	if err != nil {
		return nil, err
	}
	h := requestHeader(headers)
	if sourceIP == "" {
		sourceIP = h.Get(SCFRemoteAddrHeader)
	}
	if q == nil {
		q = SCFQueryString{}
	}
	return &fn.Request{
		Method:    method,
		Path:      requestPath(path),
		Query:     url.Values(q),
		Header:    h,
		Cookies:   requestCookies(h),
		Body:      b,
		RequestID: requestID,
		SourceIP:  sourceIP,
	}, nil
}

// NewSCFResponse encodes resp for SCF, with x-request-id set to requestID. See SCFResponse for
// what happens to several cookies.
func NewSCFResponse(resp *fn.Response, requestID string) SCFResponse {
	headers, cookies := responseHeaders(resp, requestID)
	if len(cookies) > 0 {
		headers["Set-Cookie"] = cookies[0]
	}
	body, b64 := responseBody(resp)
	return SCFResponse{IsBase64Encoded: b64, StatusCode: status(resp), Headers: headers, Body: body}
}

// SCFQueryString is the queryString object of SCF HTTP events, which holds every query
// parameter: a repeated key arrives as an array of strings (["b","c"]) and a key without a value
// as true. Numbers are accepted as their text. A bare key becomes one empty value, as in
// url.ParseQuery.
type SCFQueryString map[string][]string

// UnmarshalJSON implements json.Unmarshaler.
func (q *SCFQueryString) UnmarshalJSON(data []byte) error {
	r := newReader(data)
	if err := r.queryString("queryString", q); err != nil {
		return err
	}
	return r.end()
}

// queryString reads an SCFQueryString; null sets it to nil.
func (r *reader) queryString(field string, dst *SCFQueryString) error {
	if r.null() {
		*dst = nil
		return nil
	}
	if r.peek() != '{' {
		return r.mismatch(field)
	}
	out := make(SCFQueryString, 8)
	err := r.object(field, func(key []byte) error {
		k := r.lastString(key)
		vals, err := r.queryValues(field, nil)
		if err != nil {
			return err
		}
		out[k] = vals
		return nil
	})
	if err != nil {
		return err
	}
	*dst = out
	return nil
}

// queryValues appends the values of one queryString entry: a string, an array of them, true
// (a bare key) or null as one empty value, a number as written. Arrays are flattened.
func (r *reader) queryValues(field string, vals []string) ([]string, error) {
	switch c := r.peek(); {
	case c == '"':
		b, err := r.rawString()
		return append(vals, r.lastString(b)), err
	case c == '[':
		r.i++
		if r.peek() == ']' {
			r.i++
			if vals == nil {
				vals = []string{}
			}
			return vals, nil
		}
		for {
			var err error
			if vals, err = r.queryValues(field, vals); err != nil {
				return nil, err
			}
			switch r.peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				return vals, nil
			default:
				return nil, errSyntax
			}
		}
	case c == 't' && bytes.HasPrefix(r.b[r.i:], []byte("true")):
		r.i += 4
		return append(vals, ""), nil
	case c == 'n' && bytes.HasPrefix(r.b[r.i:], []byte("null")):
		r.i += 4
		return append(vals, ""), nil
	case c == '-' || c >= '0' && c <= '9':
		start := r.i
		if err := r.number(); err != nil {
			return nil, err
		}
		return append(vals, string(r.b[start:r.i])), nil
	}
	return nil, r.mismatch(field)
}

// decode reads an SCFURLRequest from b as json.Unmarshal would, in one pass (see reader).
func (e *SCFURLRequest) decode(b []byte) error {
	r := newReader(b)
	err := r.object("", func(key []byte) error {
		switch {
		case is(key, "httpMethod"):
			return r.str("httpMethod", &e.HTTPMethod)
		case is(key, "path"):
			return r.str("path", &e.Path)
		case is(key, "headers"):
			return r.stringMap("headers", &e.Headers)
		case is(key, "queryString"):
			return r.queryString("queryString", &e.QueryString)
		case is(key, "body"):
			return r.str("body", &e.Body)
		case is(key, "isBase64Encoded"):
			return r.boolean("isBase64Encoded", &e.IsBase64Encoded)
		}
		return r.skip()
	})
	if err != nil {
		return err
	}
	return r.end()
}
