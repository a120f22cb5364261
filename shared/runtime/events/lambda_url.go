package events

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/wxfn/wxfn/shared/fn"
)

// LambdaURLRequest is a Lambda function URL request, which is also the API Gateway HTTP API
// payload format 2.0 (that adds routeKey, stage and path parameters). Repeated headers and query
// values arrive comma-joined in the maps; rawQueryString keeps them apart. Cookies arrive in
// Cookies and not as a header. A body that is not text arrives base64-encoded.
type LambdaURLRequest struct {
	Version               string                  `json:"version"`
	RouteKey              string                  `json:"routeKey,omitempty"`
	RawPath               string                  `json:"rawPath"`
	RawQueryString        string                  `json:"rawQueryString"`
	Cookies               []string                `json:"cookies,omitempty"`
	Headers               map[string]string       `json:"headers"`
	QueryStringParameters map[string]string       `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string       `json:"pathParameters,omitempty"`
	StageVariables        map[string]string       `json:"stageVariables,omitempty"`
	RequestContext        LambdaURLRequestContext `json:"requestContext"`
	Body                  string                  `json:"body,omitempty"`
	IsBase64Encoded       bool                    `json:"isBase64Encoded"`
}

// LambdaURLRequestContext is the requestContext of a LambdaURLRequest. The authorizer and mTLS
// details are left out: wxfn authenticates in the function.
type LambdaURLRequestContext struct {
	AccountID    string            `json:"accountId"`
	APIID        string            `json:"apiId"`
	DomainName   string            `json:"domainName"`
	DomainPrefix string            `json:"domainPrefix"`
	HTTP         LambdaURLHTTPInfo `json:"http"`
	RequestID    string            `json:"requestId"`
	RouteKey     string            `json:"routeKey,omitempty"`
	Stage        string            `json:"stage,omitempty"`
	Time         string            `json:"time"`
	TimeEpoch    int64             `json:"timeEpoch"`
}

// LambdaURLHTTPInfo describes the HTTP request of a LambdaURLRequest.
type LambdaURLHTTPInfo struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// LambdaURLResponse answers a LambdaURLRequest. Set-Cookie values go in Cookies, never in
// Headers; a body that is not text is base64-encoded with IsBase64Encoded set.
type LambdaURLResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers,omitempty"`
	Cookies         []string          `json:"cookies,omitempty"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// Request translates e. The request id is the event's requestContext.requestId (for function
// URLs the invocation's id; for HTTP API the id the gateway returns to the client), or
// invocationID when the event has none.
func (e *LambdaURLRequest) Request(invocationID string) (*fn.Request, error) {
	method := strings.ToUpper(e.RequestContext.HTTP.Method)
	if method == "" {
		return nil, badEvent(FormatLambdaURL, fmt.Errorf("requestContext.http.method is missing"))
	}
	body, err := requestBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	h := requestHeader(e.Headers)
	if len(e.Cookies) > 0 && len(h["Cookie"]) == 0 {
		// Put the cookies back where a handler of a plain HTTP request finds them.
		h["Cookie"] = []string{strings.Join(e.Cookies, "; ")}
	}
	req := &fn.Request{
		Method:    method,
		Path:      requestPath(e.path()),
		Query:     e.query(),
		Header:    h,
		Cookies:   requestCookies(h),
		Body:      body,
		RequestID: e.RequestContext.RequestID,
		SourceIP:  e.RequestContext.HTTP.SourceIP,
	}
	if req.RequestID == "" {
		req.RequestID = invocationID
	}
	return req, nil
}

// path returns the request path relative to the function: an HTTP API stage other than
// $default prefixes rawPath with "/STAGE", which is not part of the function's routes.
func (e *LambdaURLRequest) path() string {
	p := e.RawPath
	if p == "" {
		p = e.RequestContext.HTTP.Path
	}
	if st := e.RequestContext.Stage; st != "" && st != "$default" {
		if p == "/"+st {
			return "/"
		}
		if strings.HasPrefix(p, "/"+st+"/") {
			return p[len(st)+1:]
		}
	}
	return p
}

func (e *LambdaURLRequest) query() url.Values {
	if e.RawQueryString != "" {
		// Like net/http's URL.Query, a malformed pair is dropped and the rest kept.
		q, _ := url.ParseQuery(e.RawQueryString)
		return q
	}
	q := make(url.Values, len(e.QueryStringParameters))
	for k, v := range e.QueryStringParameters {
		// Only hand-written events lack rawQueryString. The map joins repeated values with
		// commas, which cannot be told from a comma inside one value, so the value stays whole.
		q[k] = []string{v}
	}
	return q
}

// NewLambdaURLResponse encodes resp for Lambda, with x-request-id set to requestID.
func NewLambdaURLResponse(resp *fn.Response, requestID string) LambdaURLResponse {
	headers, cookies := responseHeaders(resp, requestID)
	body, b64 := responseBody(resp)
	return LambdaURLResponse{
		StatusCode:      status(resp),
		Headers:         headers,
		Cookies:         cookies,
		Body:            body,
		IsBase64Encoded: b64,
	}
}

// decode reads a LambdaURLRequest from b as json.Unmarshal would, in one pass (see reader).
func (e *LambdaURLRequest) decode(b []byte) error {
	r := newReader(b)
	err := r.object("", func(key []byte) error {
		switch {
		case is(key, "version"):
			return r.str("version", &e.Version)
		case is(key, "routeKey"):
			return r.str("routeKey", &e.RouteKey)
		case is(key, "rawPath"):
			return r.str("rawPath", &e.RawPath)
		case is(key, "rawQueryString"):
			return r.str("rawQueryString", &e.RawQueryString)
		case is(key, "cookies"):
			return r.strings("cookies", &e.Cookies)
		case is(key, "headers"):
			return r.stringMap("headers", &e.Headers)
		case is(key, "queryStringParameters"):
			return r.stringMap("queryStringParameters", &e.QueryStringParameters)
		case is(key, "pathParameters"):
			return r.stringMap("pathParameters", &e.PathParameters)
		case is(key, "stageVariables"):
			return r.stringMap("stageVariables", &e.StageVariables)
		case is(key, "requestContext"):
			return e.RequestContext.decode(r)
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

func (c *LambdaURLRequestContext) decode(r *reader) error {
	return r.object("requestContext", func(key []byte) error {
		switch {
		case is(key, "accountId"):
			return r.str("accountId", &c.AccountID)
		case is(key, "apiId"):
			return r.str("apiId", &c.APIID)
		case is(key, "domainName"):
			return r.str("domainName", &c.DomainName)
		case is(key, "domainPrefix"):
			return r.str("domainPrefix", &c.DomainPrefix)
		case is(key, "http"):
			return c.HTTP.decode(r)
		case is(key, "requestId"):
			return r.str("requestId", &c.RequestID)
		case is(key, "routeKey"):
			return r.str("routeKey", &c.RouteKey)
		case is(key, "stage"):
			return r.str("stage", &c.Stage)
		case is(key, "time"):
			return r.str("time", &c.Time)
		case is(key, "timeEpoch"):
			return r.int64("timeEpoch", &c.TimeEpoch)
		}
		return r.skip()
	})
}

func (h *LambdaURLHTTPInfo) decode(r *reader) error {
	return r.object("http", func(key []byte) error {
		switch {
		case is(key, "method"):
			return r.str("method", &h.Method)
		case is(key, "path"):
			return r.str("path", &h.Path)
		case is(key, "protocol"):
			return r.str("protocol", &h.Protocol)
		case is(key, "sourceIp"):
			return r.str("sourceIp", &h.SourceIP)
		case is(key, "userAgent"):
			return r.str("userAgent", &h.UserAgent)
		}
		return r.skip()
	})
}
