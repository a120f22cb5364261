package runtime

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/logging"
	"github.com/wxfn/wxfn/shared/runtime/events"
)

// handlerFunc lets a test write an fn.Handler inline.
type handlerFunc func(ctx context.Context, req *fn.Request) *fn.Response

func (h handlerFunc) Serve(ctx context.Context, req *fn.Request) *fn.Response { return h(ctx, req) }

// echo is what the echo handler answers: the request as the handler saw it.
type echo struct {
	Method       string              `json:"method"`
	Path         string              `json:"path"`
	Query        map[string][]string `json:"query"`
	Multi        []string            `json:"multi"`
	Cookies      map[string]string   `json:"cookies"`
	Body         string              `json:"body"`
	RequestID    string              `json:"requestId"`
	CtxRequestID string              `json:"ctxRequestId"`
	SourceIP     string              `json:"sourceIp"`
	HasDeadline  bool                `json:"hasDeadline"`
}

// testFunction is a function with an echo handler that panics on /panic, and a schedule that
// records its firings, failing the one named "fail" and panicking on "panic".
type testFunction struct {
	calls     atomic.Int64
	mu        sync.Mutex
	schedules []fn.Schedule
}

func (tf *testFunction) function() fn.Function {
	return fn.Function{
		Spec: fn.Spec{Name: "echo", MaxBodyBytes: 1024},
		HTTP: handlerFunc(func(ctx context.Context, req *fn.Request) *fn.Response {
			tf.calls.Add(1)
			if req.Path == "/panic" {
				panic("boom")
			}
			slog.InfoContext(ctx, "handler line")
			e := echo{Method: req.Method, Path: req.Path, Query: req.Query, Multi: req.Header.Values("X-Wxfn-Multi"),
				Cookies: map[string]string{}, Body: string(req.Body), RequestID: req.RequestID,
				CtxRequestID: logging.RequestID(ctx), SourceIP: req.SourceIP}
			_, e.HasDeadline = ctx.Deadline()
			for _, c := range req.Cookies {
				e.Cookies[c.Name] = c.Value
			}
			resp := fn.JSON(http.StatusOK, e)
			resp.Cookies = []string{"seen=1; Path=/; HttpOnly"}
			return resp
		}),
		Schedule: func(ctx context.Context, s fn.Schedule) error {
			tf.mu.Lock()
			tf.schedules = append(tf.schedules, s)
			tf.mu.Unlock()
			switch s.Name {
			case "fail":
				return errors.New("upstream said no: secret-detail")
			case "panic":
				panic("schedule boom")
			}
			if logging.RequestID(ctx) == "" {
				return errors.New("no request id in the schedule's context")
			}
			return nil
		},
	}
}

// captureLogs sends slog's default logger (which handlers use) and the returned logger to buf.
func captureLogs(t *testing.T) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	log := logging.New(&syncWriter{w: &buf}, "echo", slog.LevelDebug)
	prev := slog.Default()
	slog.SetDefault(log)
	t.Cleanup(func() { slog.SetDefault(prev) })
	return log, &buf
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("events", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envelope is the union of the Lambda and SCF response shapes.
type envelope struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Cookies         []string          `json:"cookies"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

func (e envelope) body(t *testing.T) []byte {
	t.Helper()
	if !e.IsBase64Encoded {
		return []byte(e.Body)
	}
	b, err := base64.StdEncoding.DecodeString(e.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeEnvelope(t *testing.T, out []byte) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(out, &e); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return e
}

func TestInvokeHTTPEvents(t *testing.T) {
	tests := []struct {
		file       string
		lambda     bool
		id         string
		want       echo
		wantCookie string // where the handler's cookie must arrive
	}{
		{"lambda-url-post.json", true, "7f0e6c0e-3b8e-4b7c-9d2a-5a1f8e2c4b6d", echo{
			Method: "POST", Path: "/orders/4200000123202608226789/close",
			Query: map[string][]string{"tag": {"a", "b"}, "lang": {"zh_CN"}, "empty": {""}},
			Multi: []string{"v1,v2"}, Cookies: map[string]string{"wxfn_s": "abc123", "theme": "dark"},
			Body: `{"reason":"user cancel"}`, SourceIP: "203.0.113.7"}, "cookies"},
		{"lambda-url-form-base64.json", true, "0b7d2f1e-9c4a-4e51-8f36-2d9a7c1b5e08", echo{
			Method: "POST", Path: "/", Query: map[string][]string{}, Cookies: map[string]string{},
			Body: "code=0a3Xyz&state=login%26go", SourceIP: "198.51.100.23"}, "cookies"},
		{"http-api-v2-stage-get.json", true, "VvB3xhKZtjMEJXg=", echo{
			Method: "GET", Path: "/leaderboard/weekly", Query: map[string][]string{"limit": {"20"}, "around": {"me"}},
			Cookies: map[string]string{"wxfn_s": "xyz789", "lang": "en"}, SourceIP: "192.0.2.44"}, "cookies"},
		{"scf-url-post.json", false, "inv-42", echo{
			Method: "POST", Path: "/scores/weekly", Query: map[string][]string{"tag": {"a", "b"}, "debug": {""}, "page": {"2"}},
			Multi: []string{"v1,v2"}, Cookies: map[string]string{"wxfn_s": "abc123", "theme": "dark"},
			Body: `{"score":1280,"level":"7"}`, SourceIP: "203.0.113.9"}, "header"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			log, logs := captureLogs(t)
			tf := &testFunction{}
			s := newServer(tf.function(), log)
			out, err := s.invoke(context.Background(), sample(t, tt.file), "inv-42")
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			env := decodeEnvelope(t, out)
			if env.StatusCode != 200 || env.Headers["X-Request-Id"] != tt.id || env.Headers["Content-Type"] != "application/json" {
				t.Fatalf("status %d, headers %v", env.StatusCode, env.Headers)
			}
			var got echo
			if err := json.Unmarshal(env.body(t), &got); err != nil {
				t.Fatal(err)
			}
			tt.want.RequestID, tt.want.CtxRequestID = tt.id, tt.id
			got.HasDeadline = false // events take the platform's deadline, not ours
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("handler saw\n %+v\nwant\n %+v", got, tt.want)
			}
			switch tt.wantCookie {
			case "cookies":
				if !reflect.DeepEqual(env.Cookies, []string{"seen=1; Path=/; HttpOnly"}) || env.Headers["Set-Cookie"] != "" {
					t.Errorf("lambda cookies = %v, headers %v", env.Cookies, env.Headers)
				}
			case "header":
				if env.Headers["Set-Cookie"] != "seen=1; Path=/; HttpOnly" {
					t.Errorf("scf Set-Cookie header = %q", env.Headers["Set-Cookie"])
				}
			}
			// The access line and the handler's own line carry the request id; bodies,
			// cookies and tokens never reach the logs.
			l := logs.String()
			for _, want := range []string{`"msg":"handler line","function":"echo","requestId":"` + tt.id + `"`,
				`"msg":"request","method":"` + tt.want.Method + `","path":"` + tt.want.Path + `","status":200,"durationMs":`} {
				if !strings.Contains(l, want) {
					t.Errorf("logs lack %s:\n%s", want, l)
				}
			}
			for _, secret := range []string{"abc123", "eyJhbGciOiJIUzI1NiJ9", "user cancel", "0a3Xyz", `"score":1280`, `"level":"7"`} {
				if strings.Contains(l, secret) {
					t.Errorf("logs contain %q:\n%s", secret, l)
				}
			}
		})
	}
}

func TestSCFAPIGatewayBinaryRoundTrip(t *testing.T) {
	log, _ := captureLogs(t)
	f := fn.Function{Spec: fn.Spec{Name: "bin"}, HTTP: handlerFunc(func(ctx context.Context, req *fn.Request) *fn.Response {
		return &fn.Response{Status: 200, Header: http.Header{"Content-Type": {"application/octet-stream"}}, Body: req.Body}
	})}
	out, err := newServer(f, log).invoke(context.Background(), sample(t, "scf-apigw-base64.json"), "inv-1")
	if err != nil {
		t.Fatal(err)
	}
	env := decodeEnvelope(t, out)
	want := []byte{0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d}
	if !env.IsBase64Encoded || !bytes.Equal(env.body(t), want) || env.Headers["X-Request-Id"] != "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" {
		t.Errorf("got %+v", env)
	}
}

func TestInvokeSchedules(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		want    fn.Schedule // Time zero: "set by the runtime"
		failure bool
	}{
		{"eventbridge", string(sample(t, "eventbridge-scheduled.json")), fn.Schedule{
			Name: "wxfn-prod-ReconcileEventsRuleSchedule1-1XKQ2N4ZP0ABC", Time: time.Date(2026, 8, 22, 2, 30, 0, 0, time.UTC),
			ID: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"}, false},
		{"schedule input", string(sample(t, "schedule-input-minimal.json")), fn.Schedule{Name: "drain", ID: "inv-7"}, false},
		{"scf timer", string(sample(t, "scf-timer.json")), fn.Schedule{Name: "daily", Time: time.Date(2026, 8, 22, 2, 30, 0, 0, time.UTC),
			Payload: json.RawMessage(`{"date":"2026-08-21"}`), ID: "daily@2026-08-22T02:30:00Z"}, false},
		{"failing", `{"Type":"Timer","TriggerName":"fail","Time":"2026-08-22T02:30:00Z"}`, fn.Schedule{
			Name: "fail", Time: time.Date(2026, 8, 22, 2, 30, 0, 0, time.UTC), ID: "fail@2026-08-22T02:30:00Z"}, true},
		{"panicking", `{"wxfnSchedule":"panic"}`, fn.Schedule{Name: "panic", ID: "inv-7"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := captureLogs(t)
			tf := &testFunction{}
			out, err := newServer(tf.function(), log).invoke(context.Background(), []byte(tt.event), "inv-7")
			if len(tf.schedules) != 1 {
				t.Fatalf("schedule ran %d times", len(tf.schedules))
			}
			got := tf.schedules[0]
			if tt.want.Time.IsZero() {
				if got.Time.IsZero() || got.Time.Location() != time.UTC {
					t.Errorf("runtime left time %v", got.Time)
				}
				got.Time = time.Time{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("schedule = %+v, want %+v", got, tt.want)
			}
			if tt.failure {
				var se *ScheduleError
				if !errors.As(err, &se) || se.Name != tt.want.Name || se.InvocationID != "inv-7" || out != nil {
					t.Fatalf("err = %v, out %s", err, out)
				}
				if strings.Contains(err.Error(), "secret-detail") || strings.Contains(err.Error(), "boom") {
					t.Errorf("the platform error reveals the cause: %v", err)
				}
				if !strings.Contains(logs.String(), `"msg":"schedule failed"`) {
					t.Errorf("failure not logged: %s", logs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var res scheduleResult
			if err := json.Unmarshal(out, &res); err != nil || res.Status != "ok" || res.Schedule != tt.want.Name || res.ID != tt.want.ID {
				t.Errorf("result %s (%v)", out, err)
			}
		})
	}
}

func TestInvokeRefusals(t *testing.T) {
	log, _ := captureLogs(t)
	tf := &testFunction{}
	s := newServer(tf.function(), log)

	// An unknown event is an invocation error and runs nothing.
	_, err := s.invoke(context.Background(), sample(t, "cos-object-created.json"), "inv-1")
	if !errors.Is(err, events.ErrUnknownEvent) {
		t.Errorf("unknown event: err = %v", err)
	}

	// A recognised but malformed request gets a 400 in its own shape, without the handler.
	out, err := s.invoke(context.Background(), []byte(`{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"POST"}},"body":"***","isBase64Encoded":true}`), "inv-2")
	if err != nil {
		t.Fatal(err)
	}
	env := decodeEnvelope(t, out)
	if env.StatusCode != 400 || env.Headers["X-Request-Id"] != "inv-2" || !strings.Contains(env.Body, `"code":"invalid_body"`) {
		t.Errorf("malformed event answered %s", out)
	}

	// A function without a schedule refuses a timer; one without HTTP answers 404.
	noSched := newServer(fn.Function{Spec: fn.Spec{Name: "web"}, HTTP: tf.function().HTTP}, log)
	if _, err := noSched.invoke(context.Background(), sample(t, "scf-timer.json"), "inv-3"); err == nil {
		t.Error("a timer reached a function without a schedule")
	}
	noHTTP := newServer(fn.Function{Spec: fn.Spec{Name: "cron"}, Schedule: tf.function().Schedule}, log)
	out, err = noHTTP.invoke(context.Background(), sample(t, "scf-url-post.json"), "inv-4")
	if err != nil {
		t.Fatal(err)
	}
	env = decodeEnvelope(t, out)
	if env.StatusCode != 404 || !strings.Contains(env.Body, `"code":"not_found"`) || !strings.Contains(env.Body, `"requestId":"inv-4"`) {
		t.Errorf("HTTP to a timer-only function answered %s", out)
	}
	if tf.calls.Load() != 0 || len(tf.schedules) != 0 {
		t.Errorf("handlers ran: %d calls, %d schedules", tf.calls.Load(), len(tf.schedules))
	}
}

// lambdaEvent builds a function URL event for path with body.
func lambdaEvent(method, path string, body []byte, id string) []byte {
	b, _ := json.Marshal(events.LambdaURLRequest{
		Version: "2.0", RawPath: path, Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.LambdaURLRequestContext{RequestID: id, HTTP: events.LambdaURLHTTPInfo{Method: method, SourceIP: "192.0.2.1"}},
		Body:           string(body),
	})
	return b
}

func scfEvent(method, path string, body []byte) []byte {
	b, _ := json.Marshal(events.SCFURLRequest{HTTPMethod: method, Path: path, Body: string(body),
		Headers: map[string]string{"content-type": "application/json"}})
	return b
}

func TestBodyLimitAndPanicInEventModes(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1025) // the test function's bound is 1024
	fits := bytes.Repeat([]byte("y"), 1024)
	for _, platform := range []string{"lambda", "scf"} {
		t.Run(platform, func(t *testing.T) {
			log, logs := captureLogs(t)
			tf := &testFunction{}
			s := newServer(tf.function(), log)
			call := func(path string, body []byte, id string) envelope {
				t.Helper()
				ev := lambdaEvent("POST", path, body, id)
				if platform == "scf" {
					ev = scfEvent("POST", path, body)
				}
				out, err := s.invoke(context.Background(), ev, id)
				if err != nil {
					t.Fatalf("invoke: %v", err)
				}
				return decodeEnvelope(t, out)
			}

			env := call("/", big, "id-big")
			if env.StatusCode != 413 || !strings.Contains(env.Body, `"code":"body_too_large"`) || !strings.Contains(env.Body, `"requestId":"id-big"`) {
				t.Errorf("oversized body answered %d %s", env.StatusCode, env.Body)
			}
			if tf.calls.Load() != 0 {
				t.Fatal("the handler saw an oversized body")
			}
			if env := call("/", fits, "id-fits"); env.StatusCode != 200 {
				t.Errorf("a body at the bound answered %d", env.StatusCode)
			}

			env = call("/panic", nil, "id-panic")
			if env.StatusCode != 500 || env.Headers["X-Request-Id"] != "id-panic" ||
				!strings.Contains(env.Body, `"code":"internal"`) || !strings.Contains(env.Body, `"requestId":"id-panic"`) || strings.Contains(env.Body, "boom") {
				t.Errorf("panic answered %d %v %s", env.StatusCode, env.Headers, env.Body)
			}
			if !strings.Contains(logs.String(), `"msg":"handler panicked"`) || !strings.Contains(logs.String(), `"stack":"goroutine`) {
				t.Errorf("panic not logged with its stack: %s", logs)
			}
			// The same server keeps serving.
			if env := call("/after", nil, "id-after"); env.StatusCode != 200 || env.Headers["X-Request-Id"] != "id-after" {
				t.Errorf("after the panic: %d %v", env.StatusCode, env.Headers)
			}
			if tf.calls.Load() != 3 {
				t.Errorf("handler calls = %d, want 3", tf.calls.Load())
			}
		})
	}
}

func TestRunInvokeMode(t *testing.T) {
	tf := &testFunction{}
	f := tf.function()
	env := config.Map(map[string]string{"LOG_LEVEL": "debug"})
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })

	tests := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdoutHas string
		stderrHas string
	}{
		{"scf url file", []string{"invoke", filepath.Join("events", "testdata", "scf-url-post.json")}, "", 0, `"statusCode":200`, `"msg":"request"`},
		{"lambda url from stdin", []string{"invoke", "-"}, string(sample(t, "lambda-url-post.json")), 0, `"X-Request-Id":"7f0e6c0e-3b8e-4b7c-9d2a-5a1f8e2c4b6d"`, `"requestId":"7f0e6c0e-3b8e-4b7c-9d2a-5a1f8e2c4b6d"`},
		{"timer", []string{"invoke", filepath.Join("events", "testdata", "scf-timer.json")}, "", 0, `{"schedule":"daily","id":"daily@2026-08-22T02:30:00Z","status":"ok"}`, `"msg":"schedule"`},
		{"failing timer", []string{"invoke", "-"}, `{"wxfnSchedule":"fail"}`, 0, `"status":"error","error":"upstream said no: secret-detail"`, `"msg":"schedule failed"`},
		{"unknown event", []string{"invoke", filepath.Join("events", "testdata", "cos-object-created.json")}, "", 1, "", "unrecognised event"},
		{"missing file", []string{"invoke", filepath.Join("events", "testdata", "nope.json")}, "", 1, "", "no such file"},
		{"no event", []string{"invoke"}, "", 2, "", "usage"},
		{"unknown argument", []string{"serve"}, "", 2, "", "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), f, tt.args, env, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %s; stderr %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdoutHas) || !strings.Contains(stderr.String(), tt.stderrHas) {
				t.Errorf("stdout %q lacks %q or stderr %q lacks %q", stdout.String(), tt.stdoutHas, stderr.String(), tt.stderrHas)
			}
			if tt.code == 0 && (!json.Valid(stdout.Bytes()) || strings.Contains(stdout.String(), `"msg"`)) {
				t.Errorf("stdout is not just the response: %q", stdout.String())
			}
		})
	}
}

func TestExportedInvoke(t *testing.T) {
	captureLogs(t)
	tf := &testFunction{}
	out, err := Invoke(context.Background(), tf.function(), sample(t, "scf-url-post.json"))
	if err != nil {
		t.Fatal(err)
	}
	env := decodeEnvelope(t, out)
	var got echo
	if err := json.Unmarshal(env.body(t), &got); err != nil || !got.HasDeadline || len(got.RequestID) != 32 || env.Headers["X-Request-Id"] != got.RequestID {
		t.Errorf("got %+v (%v), headers %v", got, err, env.Headers)
	}
}

func TestDetectModeAndListenAddr(t *testing.T) {
	tests := []struct {
		env     map[string]string
		mode    Mode
		addr    string
		addrErr bool
	}{
		{map[string]string{}, ModeHTTP, ":8080", false},
		{map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}, ModeLambda, ":8080", false},
		{map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "_LAMBDA_SERVER_PORT": "9000"}, ModeLambda, ":8080", false},
		{map[string]string{"_LAMBDA_SERVER_PORT": "28902"}, ModeSCF, ":8080", false},
		{map[string]string{"AWS_LAMBDA_RUNTIME_API": ""}, ModeHTTP, ":8080", false},
		{map[string]string{"TENCENTCLOUD_RUNENV": "SCF"}, ModeHTTP, ":9000", false},
		{map[string]string{"SCF_FUNCTIONNAME": "login"}, ModeHTTP, ":9000", false},
		{map[string]string{"SCF_RUNTIME": "Go1", "PORT": "7000"}, ModeHTTP, ":7000", false},
		{map[string]string{"PORT": "3000"}, ModeHTTP, ":3000", false},
		{map[string]string{"PORT": "http"}, ModeHTTP, "", true},
		{map[string]string{"PORT": "70000"}, ModeHTTP, "", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.env), func(t *testing.T) {
			lookup := config.Map(tt.env)
			if m := DetectMode(lookup); m != tt.mode {
				t.Errorf("mode = %v, want %v", m, tt.mode)
			}
			addr, err := ListenAddr(lookup)
			if (err != nil) != tt.addrErr || addr != tt.addr {
				t.Errorf("addr = %q, %v; want %q (error %v)", addr, err, tt.addr, tt.addrErr)
			}
		})
	}
}

func TestRunHTTPModeRefusesBadPort(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), (&testFunction{}).function(), nil, config.Map(map[string]string{"PORT": "http"}), strings.NewReader(""), &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), `"msg":"cannot start"`) || !strings.Contains(stdout.String(), "PORT") {
		t.Errorf("exit %d, stdout %s", code, stdout.String())
	}
}
