package fn

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// JSON builds a response with status and v encoded as JSON. A value that cannot be encoded is a
// programming error and becomes a 500.
func JSON(status int, v any) *Response {
	b, err := json.Marshal(v)
	if err != nil {
		return errorResponse(&Error{Status: http.StatusInternalServerError, Code: "internal", Message: "response could not be encoded"})
	}
	return &Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
}

// OK is JSON(200, v).
func OK(v any) (*Response, error) { return JSON(http.StatusOK, v), nil }

// Text builds a plain-text response.
func Text(status int, s string) *Response {
	return &Response{Status: status, Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(s)}
}

// Error is an error a client may see: it carries the HTTP status, a stable machine-readable code
// and a human message. Wrap the cause with Cause; it is logged, never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	// Retryable tells the client that the same request may succeed later.
	Retryable bool
	// Cause is the underlying error, for logs only.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common client errors.
var (
	ErrUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "a valid bearer token is required"}
	ErrForbidden    = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "not allowed"}
	ErrNotFound     = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such resource"}
)

// BadRequest is a 400 with code and message.
func BadRequest(code, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, code, format, args...)
}

// Unavailable is a retryable 503: an upstream (WeChat, the database) is busy or unreachable.
func Unavailable(code, message string, cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: code, Message: message, Retryable: true, Cause: cause}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// ErrorResponse turns err into the JSON error shape {"error":{"code","message"}}. Errors that are
// not an *Error become an opaque 500.
func ErrorResponse(err error, requestID string) *Response {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	r := errorResponse(e)
	if requestID != "" {
		// Re-encode with the request id so that a user's report can be matched with our logs.
		r = JSON(e.Status, errorBody{errorDetail{Code: e.Code, Message: e.Message, Retryable: e.Retryable, RequestID: requestID}})
	}
	return r
}

func errorResponse(e *Error) *Response {
	b, _ := json.Marshal(errorBody{errorDetail{Code: e.Code, Message: e.Message, Retryable: e.Retryable}})
	return &Response{Status: e.Status, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
}
