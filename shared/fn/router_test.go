package fn

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

type fakeAuth struct{}

func (fakeAuth) User(_ context.Context, token string) (Principal, error) {
	if token == "user-token" {
		return Principal{Kind: PrincipalUser, OpenID: "o-1"}, nil
	}
	return Principal{}, &Error{Status: 401, Code: "invalid_token", Message: "bad token"}
}

func (fakeAuth) Admin(_ context.Context, key string) (Principal, error) {
	if key == "admin-key" {
		return Principal{Kind: PrincipalAdmin}, nil
	}
	return Principal{}, &Error{Status: 401, Code: "invalid_admin_key", Message: "bad key"}
}

func echo(_ context.Context, req *Request) (*Response, error) {
	return OK(map[string]any{"route": req.Route, "params": req.Params, "openid": req.Principal.OpenID, "kind": req.Principal.Kind})
}

func TestRouter(t *testing.T) {
	r := NewRouter(fakeAuth{},
		Route{Method: "POST", Pattern: "/", Handle: echo},
		Route{Method: "GET", Pattern: "/{outTradeNo}", Access: User, Handle: echo},
		Route{Method: "POST", Pattern: "/{outTradeNo}/close", Access: User, Handle: echo},
		Route{Method: "POST", Pattern: "/{outTradeNo}/ship", Access: Admin, Handle: echo},
		Route{Method: "GET", Pattern: "/boom", Handle: func(context.Context, *Request) (*Response, error) {
			return nil, errors.New("db password=hunter2 leaked")
		}},
		Route{Method: "GET", Pattern: "/nothing", Handle: func(context.Context, *Request) (*Response, error) { return nil, nil }},
	)
	cases := []struct {
		method, path, auth string
		status             int
		code, route, param string
	}{
		{"POST", "/", "", 200, "", "/", ""},
		{"POST", "", "", 200, "", "/", ""},
		{"GET", "/T123", "Bearer user-token", 200, "", "/{outTradeNo}", "T123"},
		{"GET", "/T123/", "bearer user-token", 200, "", "/{outTradeNo}", "T123"},
		{"HEAD", "/T123", "Bearer user-token", 200, "", "/{outTradeNo}", "T123"},
		{"POST", "/T123/close", "Bearer user-token", 200, "", "/{outTradeNo}/close", "T123"},
		{"GET", "/T123", "", 401, "unauthorized", "", ""},
		{"GET", "/T123", "Bearer ", 401, "unauthorized", "", ""},
		{"GET", "/T123", "Basic dXNlcg==", 401, "unauthorized", "", ""},
		{"GET", "/T123", "Bearer other", 401, "invalid_token", "", ""},
		{"POST", "/T123/ship", "Bearer user-token", 401, "invalid_admin_key", "", ""},
		{"POST", "/T123/ship", "Bearer admin-key", 200, "", "/{outTradeNo}/ship", "T123"},
		{"DELETE", "/T123", "", 405, "method_not_allowed", "", ""},
		{"POST", "/a/b/c", "", 404, "not_found", "", ""},
		{"POST", "//close", "", 405, "method_not_allowed", "", ""}, // empty segments collapse: this is /close
		{"GET", "/boom", "", 500, "internal", "", ""},
		{"GET", "/nothing", "", 204, "", "", ""},
	}
	for _, c := range cases {
		req := &Request{Method: c.method, Path: c.path, Header: http.Header{}, RequestID: "rid-1"}
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp := r.Serve(context.Background(), req)
		if resp.Status != c.status {
			t.Errorf("%s %s: status %d, want %d (%s)", c.method, c.path, resp.Status, c.status, resp.Body)
			continue
		}
		var body map[string]any
		json.Unmarshal(resp.Body, &body)
		if c.code != "" {
			e, _ := body["error"].(map[string]any)
			if e["code"] != c.code || e["requestId"] != "rid-1" || e["message"] == "" {
				t.Errorf("%s %s: error %v, want code %s with request id", c.method, c.path, body, c.code)
			}
			if strings.Contains(string(resp.Body), "hunter2") {
				t.Errorf("%s %s: internal error leaked: %s", c.method, c.path, resp.Body)
			}
			continue
		}
		if c.status == 200 {
			params, _ := body["params"].(map[string]any)
			if body["route"] != c.route || (c.param != "" && params["outTradeNo"] != c.param) {
				t.Errorf("%s %s: %v, want route %s param %s", c.method, c.path, body, c.route, c.param)
			}
		}
	}
	if resp := r.Serve(context.Background(), &Request{Method: "DELETE", Path: "/T1", Header: http.Header{}}); resp.Header.Get("Allow") != "GET" {
		t.Errorf("Allow = %q", resp.Header.Get("Allow"))
	}
}

func TestRouterNeedsAuthenticator(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a User route without an Authenticator was accepted")
		}
	}()
	NewRouter(nil, Route{Method: "GET", Pattern: "/", Access: User, Handle: echo})
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Code string `json:"code"`
		N    int    `json:"n"`
	}
	cases := map[string]struct {
		ctype, body string
		status      int
	}{
		"ok":              {"application/json", `{"code":"a","n":1,"extra":true}`, 0},
		"ok charset":      {"application/json; charset=utf-8", `{"code":"a"}`, 0},
		"no content type": {"", `{"code":"a"}`, 0},
		"form":            {"application/x-www-form-urlencoded", `code=a`, 415},
		"empty":           {"application/json", "  ", 400},
		"truncated":       {"application/json", `{"code":`, 400},
		"wrong type":      {"application/json", `{"n":"1"}`, 400},
		"trailing":        {"application/json", `{"code":"a"} x`, 400},
	}
	for name, c := range cases {
		req := &Request{Header: http.Header{}, Body: []byte(c.body)}
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		var b body
		err := DecodeJSON(req, &b)
		var fe *Error
		switch {
		case c.status == 0 && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.status != 0 && (!errors.As(err, &fe) || fe.Status != c.status):
			t.Errorf("%s: err %v, want status %d", name, err, c.status)
		}
	}
}

func TestDailyUTC(t *testing.T) {
	h, m, err := ScheduleSpec{Name: "daily", Daily: "10:30"}.DailyUTC()
	if err != nil || h != 2 || m != 30 {
		t.Fatalf("10:30 Asia/Shanghai = %02d:%02d UTC, %v", h, m, err)
	}
	if h, _, _ := (ScheduleSpec{Daily: "03:00"}).DailyUTC(); h != 19 {
		t.Fatalf("03:00 Asia/Shanghai = %d UTC, want 19 (the day before)", h)
	}
	if _, _, err := (ScheduleSpec{Daily: "25:00"}).DailyUTC(); err == nil {
		t.Fatal("25:00 accepted")
	}
}
