package events

import "github.com/wxfn/wxfn/shared/fn"

// SCFAPIGatewayRequest is a request from the legacy Tencent API gateway trigger (offline since
// 2025-06-30; accepted so that old recorded events still run). Its queryString holds every
// parameter (see SCFQueryString); pathParameters, queryStringParameters and headerParameters
// hold only those declared on the API and are ignored.
type SCFAPIGatewayRequest struct {
	RequestContext  SCFAPIGatewayRequestContext `json:"requestContext"`
	HTTPMethod      string                      `json:"httpMethod"`
	Path            string                      `json:"path"`
	Headers         map[string]string           `json:"headers"`
	QueryString     SCFQueryString              `json:"queryString"`
	Body            string                      `json:"body"`
	IsBase64Encoded bool                        `json:"isBase64Encoded"`
	StageVariables  map[string]string           `json:"stageVariables,omitempty"`
}

// SCFAPIGatewayRequestContext is the requestContext of an SCFAPIGatewayRequest. Path is the
// API's declared route template; the request's own path is SCFAPIGatewayRequest.Path.
type SCFAPIGatewayRequestContext struct {
	ServiceID  string `json:"serviceId"`
	Path       string `json:"path"`
	HTTPMethod string `json:"httpMethod"`
	RequestID  string `json:"requestId"`
	SourceIP   string `json:"sourceIp"`
	Stage      string `json:"stage"`
	Identity   struct {
		SecretID string `json:"secretId,omitempty"`
	} `json:"identity"`
}

// Request translates e. The request id is the gateway's requestContext.requestId, or
// invocationID when it is missing; the source address is requestContext.sourceIp.
func (e *SCFAPIGatewayRequest) Request(invocationID string) (*fn.Request, error) {
	id := e.RequestContext.RequestID
	if id == "" {
		id = invocationID
	}
	method := e.HTTPMethod
	if method == "" {
		method = e.RequestContext.HTTPMethod
	}
	return scfRequest(FormatSCFAPIGateway, method, e.Path, e.Headers, e.QueryString, e.Body, e.IsBase64Encoded, id, e.RequestContext.SourceIP)
}

// decode reads an SCFAPIGatewayRequest from b as json.Unmarshal would, in one pass (see reader).
func (e *SCFAPIGatewayRequest) decode(b []byte) error {
	r := newReader(b)
	err := r.object("", func(key []byte) error {
		switch {
		case is(key, "requestContext"):
			return e.RequestContext.decode(r)
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
		case is(key, "stageVariables"):
			return r.stringMap("stageVariables", &e.StageVariables)
		}
		return r.skip()
	})
	if err != nil {
		return err
	}
	return r.end()
}

func (c *SCFAPIGatewayRequestContext) decode(r *reader) error {
	return r.object("requestContext", func(key []byte) error {
		switch {
		case is(key, "serviceId"):
			return r.str("serviceId", &c.ServiceID)
		case is(key, "path"):
			return r.str("path", &c.Path)
		case is(key, "httpMethod"):
			return r.str("httpMethod", &c.HTTPMethod)
		case is(key, "requestId"):
			return r.str("requestId", &c.RequestID)
		case is(key, "sourceIp"):
			return r.str("sourceIp", &c.SourceIP)
		case is(key, "stage"):
			return r.str("stage", &c.Stage)
		case is(key, "identity"):
			return r.object("identity", func(key []byte) error {
				if is(key, "secretId") {
					return r.str("secretId", &c.Identity.SecretID)
				}
				return r.skip()
			})
		}
		return r.skip()
	})
}
