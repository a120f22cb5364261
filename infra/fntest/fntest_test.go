package fntest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/infra/fntest"
	"github.com/wxfn/wxfn/shared/auth"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/orders"
)

func TestMain(m *testing.M) { fntest.Main(m) }

// echo answers every request with what it received, and fails a timer firing whose payload says
// so.
type echo struct{}

func (echo) Serve(_ context.Context, req *fn.Request) *fn.Response {
	b, _ := json.Marshal(map[string]any{
		"method": req.Method, "path": req.Path, "authorization": req.Header.Get("Authorization"),
		"contentType": req.Header.Get("Content-Type"), "idempotencyKey": req.Header.Get("Idempotency-Key"), "body": string(req.Body),
	})
	if req.Path == "/fail" {
		b = []byte(`{"error":{"code":"nope","message":"refused","retryable":true}}`)
		return &fn.Response{Status: 503, Body: b, Header: http.Header{"Content-Type": {"application/json"}}}
	}
	return &fn.Response{Status: 200, Body: b, Header: http.Header{"Content-Type": {"application/json"}}}
}

var echoFn = fn.Function{
	Spec: fn.Spec{Name: "echo"},
	HTTP: echo{},
	Schedule: func(_ context.Context, s fn.Schedule) error {
		if string(s.Payload) == `"fail"` {
			return errors.New("told to fail")
		}
		return nil
	},
}

func TestEnv(t *testing.T) {
	a := fntest.Env(t, nil)
	b := fntest.Env(t, map[string]string{"WX_SECRET": "", "SESSION_TTL": "1h", "MONGODB_DATABASE": "other"})
	if _, ok := b["WX_SECRET"]; ok || b["SESSION_TTL"] != "1h" || b["MONGODB_DATABASE"] != "other" {
		t.Fatalf("overrides not applied: %v", b)
	}
	if a["WX_SECRET"] != emulator.DefaultAppSecret || a["ADMIN_KEYS"] != fntest.AdminKey || a["SESSION_SECRET"] != fntest.SessionSecret {
		t.Fatalf("defaults: %v", a)
	}
	if a["DATA_KEY"] == b["DATA_KEY"] {
		t.Error("two environments share a DATA_KEY")
	}
	if a["WX_API_BASE"] != fntest.EmulatorURL()+emulator.WXPrefix || a["WXPAY_API_BASE"] != fntest.EmulatorURL()+emulator.PayPrefix {
		t.Errorf("API bases: %s %s", a["WX_API_BASE"], a["WXPAY_API_BASE"])
	}
	if a["WXPAY_NOTIFY_URL"] != fntest.NotifySink() {
		t.Errorf("notify URL %s", a["WXPAY_NOTIFY_URL"])
	}
	if fi, err := os.Stat(strings.TrimPrefix(a["BLOB_URL"], "file://")); err != nil || !fi.IsDir() {
		t.Errorf("BLOB_URL %s: %v", a["BLOB_URL"], err)
	}
	// Every setting group the functions read loads from it.
	lookup := config.Map(a)
	if _, err := config.LoadPay(lookup); err != nil {
		t.Error(err)
	}
	if _, err := config.LoadSession(lookup); err != nil {
		t.Error(err)
	}
	if _, err := config.LoadBlob(lookup); err != nil {
		t.Error(err)
	}
	if d, err := config.LoadDatabase(lookup); err != nil || d.Name == fntest.Env(t, nil)["MONGODB_DATABASE"] {
		t.Errorf("database %+v %v: not fresh per call", d, err)
	}
}

func TestClient(t *testing.T) {
	c := fntest.Serve(t, echoFn)
	r := c.Post("/x", "tok", map[string]int{"n": 1})
	if r.Status != 200 || r.Str("method") != "POST" || r.Str("path") != "/x" || r.Str("authorization") != "Bearer tok" ||
		r.Str("contentType") != "application/json" || r.Str("body") != `{"n":1}` || r.Header.Get("X-Request-Id") == "" {
		t.Fatalf("post: %d %s", r.Status, r.Raw)
	}
	if r := c.Get("/y", ""); r.Str("method") != "GET" || r.Str("authorization") != "" || r.Str("contentType") != "" || r.Str("body") != "" {
		t.Fatalf("get: %s", r.Raw)
	}
	// Strings and bytes go as is; extra headers come last and win.
	r = c.Do("PUT", "/z", "", `{"raw"`, "Content-Type", "text/plain", "Idempotency-Key", "k1")
	if r.Str("body") != `{"raw"` || r.Str("contentType") != "text/plain" || r.Str("idempotencyKey") != "k1" {
		t.Fatalf("do: %s", r.Raw)
	}
	if r := c.Send("POST", "/s", []byte("abc"), http.Header{"X-A": {"1"}}); r.Str("contentType") != "" || r.Str("body") != "abc" {
		t.Fatalf("send: %s", r.Raw)
	}
	e := c.Post("/fail", "", nil)
	if e.Status != 503 || e.ErrCode() != "nope" || e.ErrMessage() != "refused" || !e.Retryable() {
		t.Fatalf("error reply: %d %s", e.Status, e.Raw)
	}
	if r.ErrCode() != "" || r.Retryable() || r.Num("missing") != 0 {
		t.Fatal("a success reads as an error")
	}
}

func TestToken(t *testing.T) {
	env := fntest.Env(t, nil)
	tok := fntest.Token(t, env, "oSomeone")
	cfg, _ := config.LoadSession(config.Map(env))
	p, err := auth.NewSessions(cfg).Verify(tok)
	if err != nil || p.OpenID != "oSomeone" {
		t.Fatalf("%+v %v", p, err)
	}
	other := fntest.Env(t, map[string]string{"WX_APPID": "wx-other-app"})
	if _, err := auth.NewSessions(cfg).Verify(fntest.Token(t, other, "oSomeone")); err == nil {
		t.Fatal("a token for another app verifies")
	}
	if c := fntest.MintCode(t, emulator.CodeRequest{OpenID: "oMinted"}); c.OpenID != "oMinted" || c.Code == "" {
		t.Fatalf("code %+v", c)
	}
}

// The shop's paid order is PAID in the books and at WeChat Pay, with one order document.
func TestShop(t *testing.T) {
	env := fntest.Env(t, nil)
	s := fntest.NewShop(t, env)
	created := s.Place(500, orders.KindVirtual)
	paid := s.Paid(1200, orders.KindPhysical)
	if o := fntest.Order(t, s.Books, created); o.State != orders.StateCreated || o.Amount != 500 || o.Items[0].Kind != orders.KindVirtual {
		t.Fatalf("created: %+v", o)
	}
	if o := fntest.Order(t, s.Books, paid); o.State != orders.StatePaid || o.TransactionID == "" {
		t.Fatalf("paid: %+v", o)
	}
	if w, err := fntest.Emulator().Order(fntest.Merchant().MchID, paid); err != nil || w.TradeState != "SUCCESS" {
		t.Fatalf("at WeChat Pay: %+v %v", w, err)
	}
	if n := fntest.Count(t, s.DB.Collection(orders.OrdersCollection)); n != 2 {
		t.Fatalf("%d orders", n)
	}
	all := fntest.All[orders.Order](t, s.DB.Collection(orders.OrdersCollection))
	if len(all) != 2 || all[0].OutTradeNo == all[1].OutTradeNo {
		t.Fatalf("all: %+v", all)
	}
	fntest.SeedProducts(t, s.Books)
	if ps, err := s.Books.Products(context.Background(), []string{"coins-100"}); err != nil || len(ps) != 1 {
		t.Fatalf("products %v %v", ps, err)
	}
}

func TestInvoke(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	url := write("url.json", `{"version":"2.0","rawPath":"/p","headers":{"authorization":"Bearer {{token}}"},`+
		`"requestContext":{"http":{"method":"POST","path":"/p"}},"body":"{{token}}","isBase64Encoded":false}`)
	calls := map[string]int{}
	fill := fntest.Fill{
		"token":  func(testing.TB) string { calls["token"]++; return "t0k" },
		"unused": func(testing.TB) string { calls["unused"]++; return "x" },
	}
	o := fntest.Invoke(t, echoFn, url, fill)
	if o.Name != "url.json" || o.Status != 200 || o.Str("authorization") != "Bearer t0k" || o.Str("body") != "t0k" {
		t.Fatalf("url event: %d %s (%s)", o.Status, o.Raw, o.Out)
	}
	if calls["token"] != 1 || calls["unused"] != 0 {
		t.Fatalf("fill calls %v: want each once, only where used", calls)
	}
	timer := write("timer.json", `{"Type":"Timer","TriggerName":"daily","Time":"2026-01-02T02:30:00Z","Message":""}`)
	if o := fntest.Invoke(t, echoFn, timer, nil); o.Status != 0 || o.Body["status"] != "ok" {
		t.Fatalf("timer: %s", o.Out)
	}
	// Base64 bodies are decoded as the platform would.
	b64 := write("b64.json", `{"version":"2.0","rawPath":"/p","requestContext":{"http":{"method":"POST","path":"/p"}},`+
		`"body":"`+base64.StdEncoding.EncodeToString([]byte("hi"))+`","isBase64Encoded":true}`)
	if o := fntest.Invoke(t, echoFn, b64, nil); o.Str("body") != "hi" {
		t.Fatalf("base64 event: %s", o.Raw)
	}
}

// fatal stands in for a test to catch what a helper fails it with.
type fatal struct {
	testing.TB
	msg string
}

func (f *fatal) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...); panic(f) }
func (f *fatal) Fatal(args ...any)                 { f.msg = fmt.Sprint(args...); panic(f) }

// failure runs call and returns the message it failed its test with, or "".
func failure(t *testing.T, call func(tb testing.TB)) (msg string) {
	t.Helper()
	f := &fatal{TB: t}
	defer func() {
		if r := recover(); r != nil && r != any(f) {
			panic(r)
		}
		msg = f.msg
	}()
	call(f)
	return ""
}

func TestInvokeFailures(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, "left.json")
	os.WriteFile(left, []byte(`{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET","path":"/"}},"body":"{{other}}"}`), 0o600)
	if msg := failure(t, func(tb testing.TB) { fntest.Invoke(tb, echoFn, left, nil) }); !strings.Contains(msg, "{{other}}") {
		t.Errorf("unfilled placeholder: %q", msg)
	}
	timer := filepath.Join(dir, "timer.json")
	os.WriteFile(timer, []byte(`{"Type":"Timer","TriggerName":"daily","Time":"2026-01-02T02:30:00Z","Message":"\"fail\""}`), 0o600)
	if msg := failure(t, func(tb testing.TB) { fntest.Invoke(tb, echoFn, timer, nil) }); !strings.Contains(msg, `schedule "daily" failed`) {
		t.Errorf("failed timer: %q", msg)
	}
	if msg := failure(t, func(tb testing.TB) { fntest.Invoke(tb, echoFn, filepath.Join(dir, "none.json"), nil) }); msg == "" {
		t.Error("a missing event file passed")
	}
}

// The committed samples of a function are listed in name order, and a test that does not know
// exactly them fails.
func TestSampleEvents(t *testing.T) {
	files, _ := filepath.Glob("../../events/login/*.json")
	if len(files) == 0 {
		t.Fatal("no login samples to list")
	}
	want := map[string]int{}
	for _, f := range files {
		want[filepath.Base(f)] = 0
	}
	paths := fntest.SampleEvents(t, "login", want)
	if len(paths) != len(files) {
		t.Fatalf("paths %v", paths)
	}
	for i, p := range paths {
		if filepath.Base(p) != filepath.Base(files[i]) || (i > 0 && paths[i-1] >= p) {
			t.Fatalf("paths not the samples in name order: %v", paths)
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
	want["aws-url-new.json"] = 0
	if msg := failure(t, func(tb testing.TB) { fntest.SampleEvents(tb, "login", want) }); !strings.Contains(msg, "keep them in step") {
		t.Errorf("an unknown sample passed: %q", msg)
	}
	delete(want, "aws-url-new.json")
	delete(want, filepath.Base(files[0]))
	if msg := failure(t, func(tb testing.TB) { fntest.SampleEvents(tb, "login", want) }); msg == "" {
		t.Error("a sample the test does not know passed")
	}
}

func TestDeadMongoURI(t *testing.T) {
	env := fntest.Env(t, map[string]string{"MONGODB_URI": fntest.DeadMongoURI(t)})
	d := fntest.Deps(t, env)
	if _, err := d.DB(context.Background()); err == nil {
		t.Fatal("the dead database answered")
	}
}

func TestStart(t *testing.T) {
	var got *deps.Deps
	s := fntest.Start(t, func(d *deps.Deps) fn.Function { got = d; return echoFn }, map[string]string{"ECHO_SETTING": "on"})
	if got == nil || got.Lookup() == nil {
		t.Fatal("the function was not built over deps")
	}
	if v, _ := got.Lookup()("ECHO_SETTING"); v != "on" || s.Env["ECHO_SETTING"] != "on" {
		t.Fatalf("the deps do not read the stack's environment: %q", v)
	}
	if s.DB.Name() != s.Env["MONGODB_DATABASE"] || s.Fn.Spec.Name != "echo" {
		t.Fatalf("db %s, env %s, fn %s", s.DB.Name(), s.Env["MONGODB_DATABASE"], s.Fn.Spec.Name)
	}
	if r := s.Get("/ping", ""); r.Status != 200 || r.Str("path") != "/ping" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}
