package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/logging"
	"github.com/wxfn/wxfn/shared/runtime/events"
)

// The adapter benchmarks measure what the runtime adds to a request, without I/O: event bytes
// in, response bytes out (or an http.Request through a ResponseRecorder), through a small
// router whose handlers answer a pre-built body. Logs are formatted as in production but
// written to io.Discard. Budget: 20 µs per request.

var benchBody = []byte(`{"ok":true,"outTradeNo":"4200000123202608226789","status":"CLOSED"}`)

func benchFunction() fn.Function {
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	ok := func(ctx context.Context, req *fn.Request) (*fn.Response, error) {
		return &fn.Response{Status: http.StatusOK, Header: jsonHeader, Body: benchBody}, nil
	}
	return fn.Function{
		Spec: fn.Spec{Name: "payorder"},
		HTTP: fn.NewRouter(nil,
			fn.Route{Method: http.MethodPost, Pattern: "/", Handle: ok},
			fn.Route{Method: http.MethodGet, Pattern: "/{outTradeNo}", Handle: ok},
			fn.Route{Method: http.MethodPost, Pattern: "/{outTradeNo}/close", Handle: ok},
			fn.Route{Method: http.MethodGet, Pattern: "/refunds/{outRefundNo}", Handle: ok},
			fn.Route{Method: http.MethodPost, Pattern: "/orders/{outTradeNo}/close", Handle: ok},
		),
	}
}

func benchServer() *server {
	return newServer(benchFunction(), logging.New(io.Discard, "payorder", slog.LevelInfo))
}

func benchEvent(b *testing.B, s *server, event []byte) {
	ctx := context.Background()
	out, err := s.invoke(ctx, event, "bench-invocation")
	if err != nil || !bytes.Contains(out, []byte(`"statusCode":200`)) {
		b.Fatalf("invoke: %v %s", err, out)
	}
	b.SetBytes(int64(len(event)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.invoke(ctx, event, "bench-invocation"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdapterLambdaURL: a realistic function URL event (the sample, 1.5 KB, with 13
// headers, cookies and a repeated query key) → response bytes.
func BenchmarkAdapterLambdaURL(b *testing.B) {
	benchEvent(b, benchServer(), sample(b, "lambda-url-post.json"))
}

// BenchmarkAdapterSCF: a realistic SCF function URL event (the sample, 0.6 KB, with a cookie
// and array query values) → response bytes.
func BenchmarkAdapterSCF(b *testing.B) {
	var e events.SCFURLRequest
	if err := json.Unmarshal(sample(b, "scf-url-post.json"), &e); err != nil {
		b.Fatal(err)
	}
	e.Path = "/4200000123202608226789/close"
	ev, _ := json.Marshal(e)
	benchEvent(b, benchServer(), ev)
}

// BenchmarkAdapterHTTP: an http.Request with a body through the HTTP mode's handler.
func BenchmarkAdapterHTTP(b *testing.B) {
	h := &httpAdapter{s: benchServer()}
	body := []byte(`{"reason":"user cancel"}`)
	req := httptest.NewRequest(http.MethodPost, "/4200000123202608226789/close?lang=zh_CN", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig")
	req.Header.Set("Cookie", "wxfn_s=abc123; theme=dark")
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.50")
	req.ContentLength = int64(len(body))
	rd := bytes.NewReader(body)
	req.Body = io.NopCloser(rd)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rd.Reset(body)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
}
