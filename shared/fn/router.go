package fn

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
)

// Access says who may call a route.
type Access int

// Access levels. Platform callbacks are Public at the router: the handler verifies the
// platform's signature on the exact bytes before reading anything.
const (
	Public Access = iota
	User          // Authorization: Bearer <session token from login>
	Admin         // Authorization: Bearer <one of ADMIN_KEYS>
)

// Authenticator checks bearer credentials for User and Admin routes.
type Authenticator interface {
	// User verifies a session token and returns the user it names.
	User(ctx context.Context, token string) (Principal, error)
	// Admin checks an admin key.
	Admin(ctx context.Context, key string) (Principal, error)
}

// Route binds a method and a path pattern to a handler. Patterns are "/"-separated segments;
// a segment "{name}" matches any one non-empty segment and is available as req.Param(name).
// A trailing slash in the request path is ignored.
type Route struct {
	Method  string
	Pattern string
	Access  Access
	Handle  HandlerFunc
}

// Router dispatches requests to routes by method and path, enforcing each route's access.
type Router struct {
	routes []compiledRoute
	auth   Authenticator
}

type compiledRoute struct {
	Route
	segments []string
}

// NewRouter builds a router. auth may be nil when every route is Public.
func NewRouter(auth Authenticator, routes ...Route) *Router {
	r := &Router{auth: auth}
	for _, rt := range routes {
		if rt.Access != Public && auth == nil {
			panic("fn: route " + rt.Method + " " + rt.Pattern + " needs an Authenticator")
		}
		r.routes = append(r.routes, compiledRoute{Route: rt, segments: splitPath(rt.Pattern)})
	}
	return r
}

// Routes lists the router's routes, for documentation and tests.
func (r *Router) Routes() []Route {
	out := make([]Route, len(r.routes))
	for i, c := range r.routes {
		out[i] = c.Route
	}
	return out
}

// Serve implements Handler. When several patterns match a path, the one with the most literal
// segments wins ("/boom" over "/{outTradeNo}"), whatever the order the routes were given in.
func (r *Router) Serve(ctx context.Context, req *Request) *Response {
	segs := splitPath(req.Path)
	var (
		best        *compiledRoute
		bestParams  map[string]string
		bestLiteral = -1
		allowed     []string
	)
	for i := range r.routes {
		rt := &r.routes[i]
		params, ok := match(rt.segments, segs)
		if !ok {
			continue
		}
		if rt.Method != req.Method && !(req.Method == http.MethodHead && rt.Method == http.MethodGet) {
			allowed = append(allowed, rt.Method)
			continue
		}
		if lit := len(rt.segments) - len(params); lit > bestLiteral {
			best, bestParams, bestLiteral = rt, params, lit
		}
	}
	if best == nil {
		if allowed != nil {
			resp := ErrorResponse(Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed here", req.Method), req.RequestID)
			resp.Header.Set("Allow", strings.Join(allowed, ", "))
			return resp
		}
		return ErrorResponse(Errorf(http.StatusNotFound, "not_found", "no route for %s %s", req.Method, req.Path), req.RequestID)
	}
	req.Params = bestParams
	req.Route = best.Pattern
	if err := r.authenticate(ctx, best.Access, req); err != nil {
		return r.fail(ctx, req, err)
	}
	resp, err := best.Handle(ctx, req)
	if err != nil {
		return r.fail(ctx, req, err)
	}
	if resp == nil {
		resp = &Response{Status: http.StatusNoContent}
	}
	return resp
}

func (r *Router) authenticate(ctx context.Context, access Access, req *Request) error {
	if access == Public {
		return nil
	}
	token, ok := BearerToken(req.Header)
	if !ok {
		return ErrUnauthorized
	}
	var p Principal
	var err error
	if access == Admin {
		p, err = r.auth.Admin(ctx, token)
	} else {
		p, err = r.auth.User(ctx, token)
	}
	if err != nil {
		return err
	}
	req.Principal = p
	return nil
}

func (r *Router) fail(ctx context.Context, req *Request, err error) *Response {
	resp := ErrorResponse(err, req.RequestID)
	if resp.Status >= 500 {
		slog.ErrorContext(ctx, "request failed", "err", err)
	} else {
		slog.InfoContext(ctx, "request refused", "err", err)
	}
	return resp
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header.
func BearerToken(h http.Header) (string, bool) {
	v := h.Get("Authorization")
	const prefix = "bearer "
	if len(v) <= len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return "", false
	}
	t := strings.TrimSpace(v[len(prefix):])
	return t, t != ""
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func match(pattern, path []string) (map[string]string, bool) {
	if len(pattern) != len(path) {
		return nil, false
	}
	var params map[string]string
	for i, seg := range pattern {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			if path[i] == "" {
				return nil, false
			}
			if params == nil {
				params = make(map[string]string, 2)
			}
			params[seg[1:len(seg)-1]] = path[i]
			continue
		}
		if seg != path[i] {
			return nil, false
		}
	}
	return params, true
}
