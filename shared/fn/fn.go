// Package fn is the centre of every wxfn function: one Request and one Response type that all
// runtime adapters (AWS Lambda, Tencent SCF, plain HTTP, invoke) translate to and from, a Schedule
// value for timer triggers of both clouds, and the Handler interface a function implements.
//
// Handlers never see a cloud's event types; the adapters in package runtime do the translation.
package fn

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Request is one HTTP request to a function, whatever the cloud delivered it through.
type Request struct {
	// Method is the upper-case HTTP method.
	Method string
	// Path is relative to the function's URL and always starts with "/".
	Path string
	// Query holds every query parameter, repeated keys included.
	Query url.Values
	// Header holds the request headers in canonical form; repeated headers keep every value.
	Header http.Header
	// Cookies are the raw "name=value" pairs the client sent.
	Cookies []*http.Cookie
	// Body is the decoded body (base64 bodies are already decoded by the adapter).
	Body []byte
	// RequestID is the platform's id of this invocation, returned to the caller as x-request-id.
	RequestID string
	// SourceIP is the caller's address as the platform reports it.
	SourceIP string

	// Route is the pattern of the matched route ("/{outTradeNo}/close"), set by the Router; it
	// names the route in logs without the values in the path.
	Route string
	// Params holds the values of the {name} segments of the matched route.
	Params map[string]string
	// Principal is who the route's authentication found; zero for unauthenticated routes.
	Principal Principal
}

// Param returns the value of the route parameter name, or "".
func (r *Request) Param(name string) string { return r.Params[name] }

// Principal identifies the caller of an authenticated route.
type Principal struct {
	// Kind is PrincipalUser for a mini-program user, PrincipalAdmin for an admin key.
	Kind string
	// OpenID is the user's openid for PrincipalUser.
	OpenID string
	// UnionID is the user's unionid when known.
	UnionID string
}

// Principal kinds.
const (
	PrincipalUser  = "user"
	PrincipalAdmin = "admin"
)

// Response is what a handler answers. Body is sent as is; Header may be nil.
type Response struct {
	Status int
	Header http.Header
	// Cookies are complete Set-Cookie values; each adapter delivers them the way its cloud wants.
	Cookies []string
	Body    []byte
}

// Schedule is one firing of a timer trigger, from SCF's timer event or EventBridge's
// scheduled event (or the `input` object a Serverless schedule passes instead).
type Schedule struct {
	// Name is the trigger's name (SCF TriggerName, the EventBridge rule name, or the input's name).
	Name string
	// Time is when the trigger fired, in UTC.
	Time time.Time
	// Payload is the trigger's argument (SCF Message, the input's payload), possibly empty.
	Payload json.RawMessage
	// ID is the platform's id of this event, used to recognise a duplicate delivery.
	ID string
}

// Handler serves HTTP requests of a function. Implementations must not retain req after returning.
type Handler interface {
	Serve(ctx context.Context, req *Request) *Response
}

// HandlerFunc adapts a function returning a response or an error to a route handler. An error
// is turned into a JSON error response by the router: an *Error keeps its status and code,
// anything else becomes a 500 that reveals nothing but the request id.
type HandlerFunc func(ctx context.Context, req *Request) (*Response, error)

// ScheduleFunc runs one timer firing. An error makes the platform retry the firing.
type ScheduleFunc func(ctx context.Context, s Schedule) error

// Function is everything a runtime needs to serve one capability.
type Function struct {
	// Spec describes the function for deployment and documentation.
	Spec Spec
	// HTTP serves the function URL; nil for timer-only functions.
	HTTP Handler
	// Schedule runs timer firings; nil for functions without a timer.
	Schedule ScheduleFunc
}
