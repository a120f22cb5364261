package events

import (
	"encoding/base64"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/wxfn/wxfn/shared/fn"
)

// requestBody returns the bytes of an event's body string.
func requestBody(body string, isBase64 bool) ([]byte, error) {
	if !isBase64 {
		if body == "" {
			return nil, nil
		}
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fn.BadRequest("invalid_body", "the base64 request body does not decode")
	}
	return b, nil
}

// responseBody returns the body string of an event response and whether it is base64. Text
// goes as is; anything else (or text that is not valid UTF-8, which JSON could not carry
// faithfully) is base64-encoded with StdEncoding, the padding Lambda and SCF expect.
func responseBody(resp *fn.Response) (string, bool) {
	if len(resp.Body) == 0 {
		return "", false
	}
	if isText(resp.Header.Get("Content-Type")) && utf8.Valid(resp.Body) {
		return string(resp.Body), false
	}
	return base64.StdEncoding.EncodeToString(resp.Body), true
}

// isText reports whether a content type is sent as text rather than base64: text/*, JSON, XML,
// JavaScript and form data.
func isText(contentType string) bool {
	mt := contentType
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-www-form-urlencoded",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// requestHeader turns an event's single-valued header map into canonical http.Header. A header
// the client repeated arrives comma-joined (both clouds do this) and stays one value, which is
// how RFC 9110 §5.3 lets a recipient combine list-valued fields.
func requestHeader(m map[string]string) http.Header {
	h := make(http.Header, len(m)+1)
	// One backing array for all values saves an allocation per header.
	vals := make([]string, len(m))
	i := 0
	for k, v := range m {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if prev, dup := h[ck]; dup {
			// Two spellings of one name ("Accept", "accept") in a hand-written event.
			h[ck] = append(prev, v)
			continue
		}
		vals[i] = v
		h[ck] = vals[i : i+1 : i+1]
		i++
	}
	return h
}

// requestCookies parses the Cookie headers of h, leniently, as net/http does.
func requestCookies(h http.Header) []*http.Cookie {
	if len(h["Cookie"]) == 0 {
		return nil
	}
	r := http.Request{Header: h}
	return r.Cookies()
}

// requestPath returns an event's path in the form fn.Request wants: percent-decoded like
// net/http's URL.Path, and starting with "/".
func requestPath(p string) string {
	if strings.IndexByte(p, '%') >= 0 {
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
	}
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	return p
}

// responseHeaders flattens resp's headers into a single-valued map with x-request-id set.
// Set-Cookie headers are returned separately: Lambda wants them in "cookies", and SCF in a
// header of their own.
func responseHeaders(resp *fn.Response, requestID string) (map[string]string, []string) {
	m := make(map[string]string, len(resp.Header)+1)
	var cookies []string
	for k, vs := range resp.Header {
		if len(vs) == 0 {
			continue
		}
		if textproto.CanonicalMIMEHeaderKey(k) == "Set-Cookie" {
			cookies = append(cookies, vs...)
			continue
		}
		if len(vs) == 1 {
			m[k] = vs[0]
		} else {
			m[k] = strings.Join(vs, ", ")
		}
	}
	if len(resp.Cookies) > 0 {
		cookies = append(cookies, resp.Cookies...)
	}
	if requestID != "" {
		m["X-Request-Id"] = requestID
	}
	return m, cookies
}

// status returns resp's status, 200 when the handler left it zero.
func status(resp *fn.Response) int {
	if resp.Status == 0 {
		return http.StatusOK
	}
	return resp.Status
}
