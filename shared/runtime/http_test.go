package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/shared/fn"
)

// gateway mounts f at /echo the way the local gateway does.
func gateway(f fn.Function) *httptest.Server {
	mux := http.NewServeMux()
	h := http.StripPrefix("/echo", HTTPHandler(f))
	mux.Handle("/echo", h)
	mux.Handle("/echo/", h)
	return httptest.NewServer(mux)
}

func TestHTTPHandlerThroughGateway(t *testing.T) {
	_, logs := captureLogs(t)
	tf := &testFunction{}
	srv := gateway(tf.function())
	defer srv.Close()

	tests := []struct {
		name      string
		method    string
		target    string
		header    http.Header
		body      string
		wantID    string // "" means a generated one
		wantEcho  echo
		wantState int
	}{
		{
			name: "bare mount point", method: "GET", target: "/echo",
			wantEcho: echo{Method: "GET", Path: "/", Query: map[string][]string{}, Cookies: map[string]string{}, SourceIP: "127.0.0.1", HasDeadline: true},
		},
		{
			name: "query, repeated headers, cookies, body", method: "POST", target: "/echo/orders/42/close?x=1&x=2&flag",
			header: http.Header{"X-Wxfn-Multi": {"a", "b"}, "Cookie": {"wxfn_s=abc; theme=dark"}, "X-Request-Id": {"client-req-1"}, "Content-Type": {"application/json"}},
			body:   `{"reason":"x"}`, wantID: "client-req-1",
			wantEcho: echo{Method: "POST", Path: "/orders/42/close", Query: map[string][]string{"x": {"1", "2"}, "flag": {""}},
				Multi: []string{"a", "b"}, Cookies: map[string]string{"wxfn_s": "abc", "theme": "dark"}, Body: `{"reason":"x"}`,
				SourceIP: "127.0.0.1", HasDeadline: true},
		},
		{
			name: "unsafe client request id is replaced", method: "GET", target: "/echo/",
			header:   http.Header{"X-Request-Id": {`evil" "x`}},
			wantEcho: echo{Method: "GET", Path: "/", Query: map[string][]string{}, Cookies: map[string]string{}, SourceIP: "127.0.0.1", HasDeadline: true},
		},
		{
			name: "overlong client request id is replaced", method: "GET", target: "/echo/",
			header:   http.Header{"X-Request-Id": {strings.Repeat("a", 65)}},
			wantEcho: echo{Method: "GET", Path: "/", Query: map[string][]string{}, Cookies: map[string]string{}, SourceIP: "127.0.0.1", HasDeadline: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.target, strings.NewReader(tt.body))
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got echo
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d, %v", resp.StatusCode, err)
			}
			id := resp.Header.Get("X-Request-Id")
			if tt.wantID != "" && id != tt.wantID || tt.wantID == "" && (len(id) != 32 || !saneRequestID(id)) {
				t.Errorf("x-request-id = %q, want %q", id, tt.wantID)
			}
			tt.wantEcho.RequestID, tt.wantEcho.CtxRequestID = id, id
			if !reflect.DeepEqual(got, tt.wantEcho) {
				t.Errorf("handler saw\n %+v\nwant\n %+v", got, tt.wantEcho)
			}
			if c := resp.Header.Values("Set-Cookie"); !reflect.DeepEqual(c, []string{"seen=1; Path=/; HttpOnly"}) {
				t.Errorf("Set-Cookie = %q", c)
			}
		})
	}
	if strings.Contains(logs.String(), "wxfn_s") || strings.Contains(logs.String(), "reason") {
		t.Errorf("cookies or body in logs: %s", logs)
	}
}

func TestHTTPBodyLimitAndPanic(t *testing.T) {
	log, _ := captureLogs(t)
	tf := &testFunction{}
	h := &httpAdapter{s: newServer(tf.function(), log)}

	do := func(path string, body io.Reader, contentLength int64) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, body)
		req.ContentLength = contentLength
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	tests := []struct {
		name   string
		body   io.Reader
		length int64
		status int
		called bool
	}{
		{"declared too large", bytes.NewReader(make([]byte, 1025)), 1025, 413, false},
		{"undeclared too large", io.MultiReader(bytes.NewReader(make([]byte, 1000)), bytes.NewReader(make([]byte, 1000))), -1, 413, false},
		{"at the bound", bytes.NewReader(make([]byte, 1024)), 1024, 200, true},
		{"undeclared at the bound", io.MultiReader(bytes.NewReader(make([]byte, 1000)), bytes.NewReader(make([]byte, 24))), -1, 200, true},
		{"empty", http.NoBody, 0, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tf.calls.Load()
			w := do("/", tt.body, tt.length)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if called := tf.calls.Load() > before; called != tt.called {
				t.Errorf("handler called = %v, want %v", called, tt.called)
			}
			id := w.Header().Get("X-Request-Id")
			if id == "" {
				t.Error("no x-request-id")
			}
			if tt.status == 413 && (!strings.Contains(w.Body.String(), `"code":"body_too_large"`) || !strings.Contains(w.Body.String(), `"requestId":"`+id+`"`)) {
				t.Errorf("413 body %s", w.Body)
			}
		})
	}

	w := do("/panic", http.NoBody, 0)
	id := w.Header().Get("X-Request-Id")
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"requestId":"`+id+`"`) || strings.Contains(w.Body.String(), "boom") {
		t.Errorf("panic answered %d %s", w.Code, w.Body)
	}
	if w := do("/after", http.NoBody, 0); w.Code != 200 {
		t.Errorf("after a panic: %d", w.Code)
	}
}

func TestHTTPWithoutHandlerAndHeaderCopy(t *testing.T) {
	log, _ := captureLogs(t)
	shared := http.Header{"content-type": {"text/plain"}, "Set-Cookie": {"a=1"}}
	f := fn.Function{Spec: fn.Spec{Name: "h"}, HTTP: handlerFunc(func(ctx context.Context, req *fn.Request) *fn.Response {
		// A handler may answer with a shared, pre-built response; the runtime must not change it.
		return &fn.Response{Header: shared, Cookies: []string{"b=2"}, Body: []byte("hi")}
	})}
	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		(&httpAdapter{s: newServer(f, log)}).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != 200 || w.Header().Get("Content-Type") != "text/plain" || !reflect.DeepEqual(w.Header().Values("Set-Cookie"), []string{"a=1", "b=2"}) || w.Body.String() != "hi" {
			t.Errorf("got %d %v %q", w.Code, w.Header(), w.Body)
		}
	}
	if !reflect.DeepEqual(shared, http.Header{"content-type": {"text/plain"}, "Set-Cookie": {"a=1"}}) {
		t.Errorf("the handler's header was modified: %v", shared)
	}

	w := httptest.NewRecorder()
	(&httpAdapter{s: newServer(fn.Function{Spec: fn.Spec{Name: "cron"}}, log)}).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 404 || !strings.Contains(w.Body.String(), `"code":"not_found"`) {
		t.Errorf("no HTTP handler: %d %s", w.Code, w.Body)
	}
}

func TestServeHTTPShutsDown(t *testing.T) {
	log, _ := captureLogs(t)
	tf := &testFunction{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, newServer(tf.function(), log), ln) }()

	url := "http://" + ln.Addr().String() + "/ping"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serveHTTP: %v", err)
	}
	tr := &http.Transport{DisableKeepAlives: true}
	if _, err := (&http.Client{Transport: tr}).Get(url); err == nil {
		t.Error("the server still answers after shutdown")
	}
}
