// Package logging gives every wxfn process the same structured logs: JSON lines through log/slog,
// each carrying the function's name and, inside an invocation, its request id, so that one
// request can be followed across a function's log lines and matched with the x-request-id a
// client reports.
//
// Handlers log through the context they were given:
//
//	slog.InfoContext(ctx, "order created", "outTradeNo", no)
//
// and the line carries "function" and "requestId" without the handler knowing either. Bodies,
// Authorization headers and cookies are never logged by the runtime; attributes whose key names
// a secret (see Redact) are replaced before they are written, as a second line of defence.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/wxfn/wxfn/shared/config"
)

// Attribute keys every wxfn log line uses, so that log queries work across functions.
const (
	KeyFunction  = "function"
	KeyRequestID = "requestId"
)

// New returns a logger writing JSON lines to w at level, whose lines carry function (which may be
// empty for a process serving several functions, such as the local gateway) and the attributes
// of the context they are logged with (see NewContext).
func New(w io.Writer, function string, level slog.Leveler) *slog.Logger {
	inner := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr})
	return slog.New(&Handler{inner: inner, function: function})
}

// Setup builds the logger of a function process (JSON to w, LOG_LEVEL from lookup), installs it
// as slog's default so that library code and handlers using the slog package functions log the
// same way, and returns it. A nil w means stdout, where both clouds collect logs.
func Setup(w io.Writer, function string, lookup config.Lookup) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	l := New(w, function, config.LogLevel(lookup))
	slog.SetDefault(l)
	return l
}

// Handler is a slog.Handler that adds the function's name and the attributes of the record's
// context (request id and any added with With) to every record, then passes it on.
type Handler struct {
	inner    slog.Handler
	function string
}

// NewHandler wraps inner so that its records carry function and the context's attributes. A
// Handler given to NewHandler is returned as is, so that wrapping twice does not repeat fields.
func NewHandler(inner slog.Handler, function string) slog.Handler {
	if h, ok := inner.(*Handler); ok {
		return h
	}
	return &Handler{inner: inner, function: function}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	function := h.function
	if s != nil && s.function != "" {
		// A context's function wins: one process (the local gateway) may serve several.
		function = s.function
	}
	if function != "" {
		r.AddAttrs(slog.String(KeyFunction, function))
	}
	if s != nil {
		if s.requestID != "" {
			r.AddAttrs(slog.String(KeyRequestID, s.requestID))
		}
		if len(s.attrs) > 0 {
			r.AddAttrs(s.attrs...)
		}
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{inner: h.inner.WithAttrs(attrs), function: h.function}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), function: h.function}
}

type scopeKey struct{}

// scope is what a context tells the Handler. It is immutable once stored: With copies it.
type scope struct {
	function  string
	requestID string
	attrs     []slog.Attr
}

// NewContext returns ctx carrying the function's name and the invocation's request id, which
// every line logged with the returned context (or one derived from it) carries.
func NewContext(ctx context.Context, function, requestID string) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{function: function, requestID: requestID})
}

// With returns ctx whose log lines also carry attrs, for facts learnt during a request (the
// caller's openid, an order number) that later lines should repeat.
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	old, _ := ctx.Value(scopeKey{}).(*scope)
	s := &scope{}
	if old != nil {
		*s = *old
		s.attrs = append(s.attrs[:len(s.attrs):len(s.attrs)], attrs...)
	} else {
		s.attrs = attrs
	}
	return context.WithValue(ctx, scopeKey{}, s)
}

// RequestID returns the request id NewContext stored in ctx, or "".
func RequestID(ctx context.Context) string {
	if s, ok := ctx.Value(scopeKey{}).(*scope); ok {
		return s.requestID
	}
	return ""
}

// Function returns the function name NewContext stored in ctx, or "".
func Function(ctx context.Context) string {
	if s, ok := ctx.Value(scopeKey{}).(*scope); ok {
		return s.function
	}
	return ""
}

// Redacted replaces the value of an attribute whose key names a secret.
const Redacted = "[redacted]"

// sensitiveKeys are attribute keys whose values are never written (compared without regard to
// case). The runtime never logs these; the list catches a handler that does by mistake.
var sensitiveKeys = [...]string{
	"authorization", "cookie", "cookies", "set-cookie", "password", "secret", "token",
	"session_key", "sessionKey", "access_token", "accessToken", "refresh_token", "apiKey", "api_key",
	"body",
}

// Redact reports whether an attribute named key is replaced by Redacted in the logs.
func Redact(key string) bool {
	// Called for every attribute of every line: compare lengths first, allocate nothing.
	for _, s := range sensitiveKeys {
		if len(s) == len(key) && strings.EqualFold(s, key) {
			return true
		}
	}
	return false
}

func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if Redact(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	return a
}
