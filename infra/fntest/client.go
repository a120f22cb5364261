package fntest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/runtime"
)

// Stack is one test's function behind the real HTTP adapter, over its own environment and
// database.
type Stack struct {
	*Client
	// Env is the function's environment (see Env).
	Env map[string]string
	// DB is the function's database on the test binary's server (see DB).
	DB *mongo.Database
	// Fn is the function served, for running events through it as the clouds would.
	Fn fn.Function
}

// Start builds a function with newFn (the NewWithDeps every function exports) over
// Deps(t, Env(t, overrides)) and serves it (see Serve).
func Start(t testing.TB, newFn func(*deps.Deps) fn.Function, overrides map[string]string) *Stack {
	t.Helper()
	env := Env(t, overrides)
	f := newFn(Deps(t, env))
	return &Stack{Client: Serve(t, f), Env: env, DB: DB(t, env), Fn: f}
}

// Serve serves f through the real HTTP adapter (runtime.HTTPHandler) on a loopback server, closed
// when the test ends, and returns a client of it.
func Serve(t testing.TB, f fn.Function) *Client {
	t.Helper()
	srv := httptest.NewServer(runtime.HTTPHandler(f))
	t.Cleanup(srv.Close)
	return NewClient(t, srv.URL)
}

// Client calls one server the way a mini-program, an admin or a platform would. A failed
// round trip fails the test it was made for (so a subtest wanting its own failure makes its own
// client with NewClient); any answer, whatever its status, is a Reply.
type Client struct {
	// URL is the server's base URL; request paths are appended to it.
	URL string
	t   testing.TB
}

// NewClient returns a client of the server at url (a gateway, a function, the emulator).
func NewClient(t testing.TB, url string) *Client { return &Client{URL: url, t: t} }

// Reply is one answer: its status, headers, body as received and, when the body is a JSON
// object, decoded.
type Reply struct {
	Status int
	Body   map[string]any
	Raw    string
	Header http.Header
}

// errorField returns the {"error": {…}} object of the wxfn error format, or nil.
func (r Reply) errorField() map[string]any {
	e, _ := r.Body["error"].(map[string]any)
	return e
}

// ErrCode is the code of a {"error": {"code", "message"}} answer, or "".
func (r Reply) ErrCode() string { c, _ := r.errorField()["code"].(string); return c }

// ErrMessage is the message of a {"error": {"code", "message"}} answer, or "".
func (r Reply) ErrMessage() string { m, _ := r.errorField()["message"].(string); return m }

// Retryable says whether an error answer tells the caller to retry ("retryable": true).
func (r Reply) Retryable() bool { b, _ := r.errorField()["retryable"].(bool); return b }

// Str is the body's top-level string field key, or "".
func (r Reply) Str(key string) string { s, _ := r.Body[key].(string); return s }

// Num is the body's top-level number field key as an integer (amounts are whole fen), or 0.
func (r Reply) Num(key string) int64 { n, _ := r.Body[key].(float64); return int64(n) }

// Post sends body to path with an optional bearer token.
func (c *Client) Post(path, token string, body any) Reply {
	c.t.Helper()
	return c.Do(http.MethodPost, path, token, body)
}

// Get reads path with an optional bearer token.
func (c *Client) Get(path, token string) Reply {
	c.t.Helper()
	return c.Do(http.MethodGet, path, token, nil)
}

// Do sends a request with an optional bearer token and body: nil for none, a string or []byte as
// is, anything else as JSON; a body goes as application/json. header is name, value pairs set
// last, so that they can replace Content-Type.
func (c *Client) Do(method, path, token string, body any, header ...string) Reply {
	c.t.Helper()
	h := http.Header{}
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("fntest: %s %s: %v", method, path, err)
		}
		raw = j
	}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return c.send(method, path, raw, body != nil, h)
}

// Send sends body with exactly the given headers and nothing added, for callers whose headers
// are the point (signed platform callbacks); a nil body sends none.
func (c *Client) Send(method, path string, body []byte, header http.Header) Reply {
	c.t.Helper()
	return c.send(method, path, body, body != nil, header)
}

func (c *Client) send(method, path string, body []byte, hasBody bool, header http.Header) Reply {
	c.t.Helper()
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	if err != nil {
		c.t.Fatalf("fntest: %s %s: %v", method, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("fntest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("fntest: %s %s: read the answer: %v", method, path, err)
	}
	return replyOf(resp.StatusCode, resp.Header, string(raw))
}

// replyOf decodes raw into Body when it is a JSON object; anything else leaves Body nil, which
// the accessors read as empty.
func replyOf(status int, header http.Header, raw string) Reply {
	r := Reply{Status: status, Raw: raw, Header: header}
	if err := json.Unmarshal([]byte(raw), &r.Body); err != nil {
		r.Body = nil
	}
	return r
}
