package events

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeHTTPSamples(t *testing.T) {
	tests := []struct {
		file    string
		format  Format
		method  string
		path    string
		query   url.Values
		headers map[string][]string // a subset that must match exactly
		cookies map[string]string
		body    string
		id      string
		ip      string
	}{
		{
			file: "lambda-url-post.json", format: FormatLambdaURL,
			method: "POST", path: "/orders/4200000123202608226789/close",
			query: url.Values{"tag": {"a", "b"}, "lang": {"zh_CN"}, "empty": {""}},
			headers: map[string][]string{
				"Content-Type":  {"application/json"},
				"X-Wxfn-Multi":  {"v1,v2"},
				"Authorization": {"Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"},
				"Cookie":        {"wxfn_s=abc123; theme=dark"},
			},
			cookies: map[string]string{"wxfn_s": "abc123", "theme": "dark"},
			body:    `{"reason":"user cancel"}`,
			id:      "7f0e6c0e-3b8e-4b7c-9d2a-5a1f8e2c4b6d", ip: "203.0.113.7",
		},
		{
			file: "lambda-url-form-base64.json", format: FormatLambdaURL,
			method: "POST", path: "/", query: url.Values{},
			headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}},
			body:    "code=0a3Xyz&state=login%26go",
			id:      "0b7d2f1e-9c4a-4e51-8f36-2d9a7c1b5e08", ip: "198.51.100.23",
		},
		{
			file: "http-api-v2-stage-get.json", format: FormatLambdaURL,
			method: "GET", path: "/leaderboard/weekly",
			query:   url.Values{"limit": {"20"}, "around": {"me"}},
			headers: map[string][]string{"Accept-Encoding": {"gzip, deflate, br"}},
			cookies: map[string]string{"wxfn_s": "xyz789", "lang": "en"},
			id:      "VvB3xhKZtjMEJXg=", ip: "192.0.2.44",
		},
		{
			file: "scf-url-post.json", format: FormatSCFURL,
			method: "POST", path: "/scores/weekly",
			query: url.Values{"tag": {"a", "b"}, "debug": {""}, "page": {"2"}},
			headers: map[string][]string{
				"Content-Type":      {"application/json"},
				"X-Wxfn-Multi":      {"v1,v2"},
				"X-Scf-Remote-Addr": {"203.0.113.9"},
			},
			cookies: map[string]string{"wxfn_s": "abc123", "theme": "dark"},
			body:    `{"score":1280,"level":"7"}`,
			id:      "scf-invocation-1", ip: "203.0.113.9",
		},
		{
			file: "scf-apigw-base64.json", format: FormatSCFAPIGateway,
			method: "POST", path: "/paynotify",
			query:   url.Values{"a": {"b", "c"}, "i": {""}, "n": {"5"}},
			headers: map[string][]string{"X-Api-Requestid": {"dd07d1c3558237a8881322d5f8109e5e"}},
			body:    string([]byte{0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d}),
			id:      "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", ip: "10.0.2.14",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev, err := Decode(readSample(t, tt.file), "scf-invocation-1")
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.Format != tt.format || ev.Schedule != nil || ev.Request == nil {
				t.Fatalf("got format %v, schedule %v, request %v", ev.Format, ev.Schedule, ev.Request)
			}
			r := ev.Request
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("got %s %s, want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			if !reflect.DeepEqual(r.Query, tt.query) {
				t.Errorf("query = %v, want %v", r.Query, tt.query)
			}
			for k, want := range tt.headers {
				if got := r.Header[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			got := map[string]string{}
			for _, c := range r.Cookies {
				got[c.Name] = c.Value
			}
			if len(tt.cookies) == 0 {
				tt.cookies = map[string]string{}
			}
			if !reflect.DeepEqual(got, tt.cookies) {
				t.Errorf("cookies = %v, want %v", got, tt.cookies)
			}
			if string(r.Body) != tt.body {
				t.Errorf("body = %q, want %q", r.Body, tt.body)
			}
			if r.RequestID != tt.id || r.SourceIP != tt.ip {
				t.Errorf("request id %q, ip %q; want %q, %q", r.RequestID, r.SourceIP, tt.id, tt.ip)
			}
		})
	}
}

func TestDecodeScheduleSamples(t *testing.T) {
	tests := []struct {
		file    string
		format  Format
		name    string
		time    time.Time
		payload string
		id      string
	}{
		{"eventbridge-scheduled.json", FormatEventBridge, "wxfn-prod-ReconcileEventsRuleSchedule1-1XKQ2N4ZP0ABC",
			time.Date(2026, 8, 22, 2, 30, 0, 0, time.UTC), "", "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"},
		{"schedule-input.json", FormatScheduleInput, "daily",
			time.Date(2026, 8, 22, 2, 30, 0, 0, time.UTC), `{"date":"2026-08-21"}`, "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"},
		{"schedule-input-minimal.json", FormatScheduleInput, "drain", time.Time{}, "", "inv-1"},
		{"scf-timer.json", FormatSCFTimer, "daily",
			time.Date(2026, 8, 22, 2, 30, 0, 0, time.UTC), `{"date":"2026-08-21"}`, "daily@2026-08-22T02:30:00Z"},
		{"scf-timer-lowercase.json", FormatSCFTimer, "every5min",
			time.Date(2026, 8, 22, 2, 35, 0, 0, time.UTC), `"drain outbox"`, "every5min@2026-08-22T02:35:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev, err := Decode(readSample(t, tt.file), "inv-1")
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.Format != tt.format || ev.Request != nil || ev.Schedule == nil {
				t.Fatalf("got format %v, request %v, schedule %v", ev.Format, ev.Request, ev.Schedule)
			}
			s := ev.Schedule
			if s.Name != tt.name || !s.Time.Equal(tt.time) || string(s.Payload) != tt.payload || s.ID != tt.id {
				t.Errorf("got %+v (payload %s), want name %q time %v payload %s id %q", s, s.Payload, tt.name, tt.time, tt.payload, tt.id)
			}
			if !s.Time.IsZero() && s.Time.Location() != time.UTC {
				t.Errorf("time %v is not UTC", s.Time)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		unknown bool // wraps ErrUnknownEvent
		status  int  // a *fn.Error with this status, for malformed HTTP events
	}{
		{"cos event", string(readSample(t, "cos-object-created.json")), true, 0},
		{"empty object", `{}`, true, 0},
		{"not json", `hello`, true, 0},
		{"json array", `[1,2]`, true, 0},
		{"null", `null`, true, 0},
		{"payload 1.0", `{"version":"1.0","httpMethod":"GET","path":"/","requestContext":{}}`, true, 0},
		{"other eventbridge event", `{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`, true, 0},
		{"bad base64 lambda body", `{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"POST"}},"body":"%%%","isBase64Encoded":true}`, false, 400},
		{"lambda event without method", `{"version":"2.0","rawPath":"/","requestContext":{"http":{}}}`, false, 400},
		{"scf url with wrong header type", `{"httpMethod":"GET","path":"/","headers":{"a":1}}`, false, 400},
		{"scf query with object value", `{"httpMethod":"GET","path":"/","queryString":{"a":{"b":1}}}`, false, 400},
		{"timer with bad time", `{"Type":"Timer","TriggerName":"t","Time":"yesterday"}`, false, 0},
		{"schedule input without name", `{"wxfnSchedule":""}`, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode([]byte(tt.payload), "inv-1")
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", ev)
			}
			if got := errors.Is(err, ErrUnknownEvent); got != tt.unknown {
				t.Errorf("errors.Is(ErrUnknownEvent) = %v, want %v (err %v)", got, tt.unknown, err)
			}
			var fe *fn.Error
			if tt.status != 0 {
				if !errors.As(err, &fe) || fe.Status != tt.status || !ev.Format.HTTP() {
					t.Errorf("want a %d *fn.Error with an HTTP format, got %v (format %v)", tt.status, err, ev.Format)
				}
			} else if errors.As(err, &fe) {
				t.Errorf("unexpected *fn.Error %v", fe)
			}
			if ev.Request != nil || ev.Schedule != nil {
				t.Errorf("a rejected event must carry nothing, got %+v", ev)
			}
		})
	}
}

func TestLambdaURLQueryWithoutRawQueryString(t *testing.T) {
	ev, err := Decode([]byte(`{"version":"2.0","rawPath":"/a%20b","queryStringParameters":{"x":"1,2"},"requestContext":{"http":{"method":"get"}}}`), "inv-9")
	if err != nil {
		t.Fatal(err)
	}
	r := ev.Request
	if r.Method != "GET" || r.Path != "/a b" || !reflect.DeepEqual(r.Query, url.Values{"x": {"1,2"}}) || r.RequestID != "inv-9" {
		t.Errorf("got %s %q %v %q", r.Method, r.Path, r.Query, r.RequestID)
	}
}

func TestEncodeResponse(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', 0, 1, 2}
	tests := []struct {
		name   string
		format Format
		resp   *fn.Response
		want   string
	}{
		{
			name: "lambda json with cookies", format: FormatLambdaURL,
			resp: &fn.Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"a=1; Path=/"}},
				Cookies: []string{"b=2; Max-Age=60; HttpOnly"}, Body: []byte(`{"ok":true}`)},
			want: `{"statusCode":201,"headers":{"Content-Type":"application/json","X-Request-Id":"req-1"},"cookies":["a=1; Path=/","b=2; Max-Age=60; HttpOnly"],"body":"{\"ok\":true}","isBase64Encoded":false}`,
		},
		{
			name: "lambda binary", format: FormatLambdaURL,
			resp: &fn.Response{Status: 200, Header: http.Header{"Content-Type": {"image/png"}, "Vary": {"Accept", "Origin"}}, Body: png},
			want: `{"statusCode":200,"headers":{"Content-Type":"image/png","Vary":"Accept, Origin","X-Request-Id":"req-1"},"body":"` + base64.StdEncoding.EncodeToString(png) + `","isBase64Encoded":true}`,
		},
		{
			name: "lambda no content", format: FormatLambdaURL,
			resp: &fn.Response{Status: 204},
			want: `{"statusCode":204,"headers":{"X-Request-Id":"req-1"},"body":"","isBase64Encoded":false}`,
		},
		{
			name: "lambda zero status", format: FormatLambdaURL,
			resp: &fn.Response{Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte("héllo")},
			want: `{"statusCode":200,"headers":{"Content-Type":"text/plain; charset=utf-8","X-Request-Id":"req-1"},"body":"héllo","isBase64Encoded":false}`,
		},
		{
			name: "lambda text that is not utf-8", format: FormatLambdaURL,
			resp: &fn.Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte{0xff, 'a'}},
			want: `{"statusCode":200,"headers":{"Content-Type":"text/plain","X-Request-Id":"req-1"},"body":"/2E=","isBase64Encoded":true}`,
		},
		{
			name: "scf json", format: FormatSCFURL,
			resp: &fn.Response{Status: 400, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"error":{}}`)},
			want: `{"isBase64Encoded":false,"statusCode":400,"headers":{"Content-Type":"application/json","X-Request-Id":"req-1"},"body":"{\"error\":{}}"}`,
		},
		{
			name: "scf binary with cookie", format: FormatSCFAPIGateway,
			resp: &fn.Response{Status: 200, Header: http.Header{"Content-Type": {"application/octet-stream"}}, Cookies: []string{"a=1"}, Body: png},
			want: `{"isBase64Encoded":true,"statusCode":200,"headers":{"Content-Type":"application/octet-stream","Set-Cookie":"a=1","X-Request-Id":"req-1"},"body":"` + base64.StdEncoding.EncodeToString(png) + `"}`,
		},
		{
			name: "scf xml", format: FormatSCFURL,
			resp: &fn.Response{Status: 200, Header: http.Header{"Content-Type": {"application/xml; charset=utf-8"}}, Body: []byte("<xml><a>1</a></xml>")},
			want: `{"isBase64Encoded":false,"statusCode":200,"headers":{"Content-Type":"application/xml; charset=utf-8","X-Request-Id":"req-1"},"body":"<xml><a>1</a></xml>"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.format.EncodeResponse(tt.resp, "req-1")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// The body must come back byte for byte however it was encoded.
			var env struct {
				Body            string `json:"body"`
				IsBase64Encoded bool   `json:"isBase64Encoded"`
			}
			if err := json.Unmarshal(got, &env); err != nil {
				t.Fatal(err)
			}
			body := []byte(env.Body)
			if env.IsBase64Encoded {
				body, _ = base64.StdEncoding.DecodeString(env.Body)
			}
			if string(body) != string(tt.resp.Body) {
				t.Errorf("body round trip: got %q, want %q", body, tt.resp.Body)
			}
		})
	}
	if _, err := FormatSCFTimer.EncodeResponse(&fn.Response{}, "x"); err == nil || !strings.Contains(err.Error(), "not HTTP") {
		t.Errorf("encoding a response to a timer event: err = %v", err)
	}
}

func TestHeaderSpellingsMerge(t *testing.T) {
	// Two spellings of one header in a hand-written event keep both values.
	ev, err := Decode([]byte(`{"httpMethod":"GET","path":"","headers":{"Accept":"a","accept":"b"}}`), "i")
	if err != nil {
		t.Fatal(err)
	}
	vals := ev.Request.Header.Values("Accept")
	if len(vals) != 2 || ev.Request.Path != "/" {
		t.Errorf("Accept = %q, path %q", vals, ev.Request.Path)
	}
}
