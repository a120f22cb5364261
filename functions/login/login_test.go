package login_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/functions/login"
	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/runtime"
)

var (
	emu     *emulator.Emulator
	emuBase string
)

func TestMain(m *testing.M) {
	emu = emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu)
	emuBase = srv.URL
	defer srv.Close()
	dbtest.Main(m)
}

const sessionSecret = "test-session-secret-0123456789-abcdef"

// stack is one test's login function behind the real HTTP adapter, with its own database.
type stack struct {
	t   *testing.T
	url string
	db  *mongo.Database
	env map[string]string
}

func newStack(t *testing.T, override map[string]string) *stack {
	t.Helper()
	uri, name := dbtest.New(t)
	key := make([]byte, 32)
	rand.Read(key)
	env := map[string]string{
		"MONGODB_URI":      uri,
		"MONGODB_DATABASE": name,
		"SESSION_SECRET":   sessionSecret,
		"DATA_KEY":         base64.StdEncoding.EncodeToString(key),
		"WX_APPID":         emulator.DefaultAppID,
		"WX_SECRET":        emulator.DefaultAppSecret,
		"WX_API_BASE":      emuBase + "/_emu/wx",
	}
	for k, v := range override {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	d := deps.New(config.Map(env))
	srv := httptest.NewServer(runtime.HTTPHandler(login.NewWithDeps(d)))
	t.Cleanup(func() {
		srv.Close()
		d.Close(context.Background())
	})
	return &stack{t: t, url: srv.URL, db: dbtest.Database(t).Client().Database(name), env: env}
}

type reply struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

func (s *stack) post(path, token string, body any) reply {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(http.MethodPost, s.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, raw: string(raw), header: resp.Header}
	json.Unmarshal(raw, &out.body)
	return out
}

func (r reply) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (s *stack) users() []bson.M {
	s.t.Helper()
	cur, err := s.db.Collection("users").Find(context.Background(), bson.D{})
	if err != nil {
		s.t.Fatal(err)
	}
	var out []bson.M
	if err := cur.All(context.Background(), &out); err != nil {
		s.t.Fatal(err)
	}
	return out
}

func mint(t *testing.T, req emulator.CodeRequest) emulator.CodeResponse {
	t.Helper()
	c, err := emu.MintCode(req)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *stack) login(code string) reply {
	return s.post("/", "", map[string]string{"code": code})
}

func TestLogin(t *testing.T) {
	s := newStack(t, nil)
	c := mint(t, emulator.CodeRequest{})
	r := s.login(c.Code)
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	if r.body["openid"] != c.OpenID || r.body["unionid"] != c.UnionID || r.body["isNew"] != true {
		t.Fatalf("login body = %s, want openid %s unionid %s isNew", r.raw, c.OpenID, c.UnionID)
	}
	if r.header.Get("x-request-id") == "" {
		t.Error("no x-request-id header")
	}
	if strings.Contains(r.raw, c.SessionKey) {
		t.Fatal("the response carries the session_key")
	}
	// The token is an HS256 JWT: sub openid, aud appid, expiry SESSION_TTL (default 168h).
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(r.body["token"].(string), claims, func(*jwt.Token) (any, error) { return []byte(sessionSecret), nil })
	if err != nil || tok.Method.Alg() != "HS256" {
		t.Fatalf("token: %v", err)
	}
	if claims["sub"] != c.OpenID {
		t.Errorf("sub = %v", claims["sub"])
	}
	if aud, _ := claims.GetAudience(); len(aud) != 1 || aud[0] != emulator.DefaultAppID {
		t.Errorf("aud = %v", aud)
	}
	exp, _ := claims.GetExpirationTime()
	if d := time.Until(exp.Time); d < 167*time.Hour || d > 169*time.Hour {
		t.Errorf("token lives %v, want ~168h", d)
	}
	if got, _ := time.Parse(time.RFC3339, r.body["expiresAt"].(string)); !got.Equal(exp.Time) {
		t.Errorf("expiresAt %v != token exp %v", got, exp.Time)
	}

	// The session_key is stored sealed, never in clear.
	users := s.users()
	if len(users) != 1 || users[0]["_id"] != c.OpenID {
		t.Fatalf("users = %v", users)
	}
	stored, _ := users[0]["sessionKey"].(string)
	if stored == "" || strings.Contains(stored, c.SessionKey) || !strings.HasPrefix(stored, "v1:") {
		t.Fatalf("stored sessionKey = %q", stored)
	}

	// A second login of the same user is not new, and rotates the stored key.
	c2 := mint(t, emulator.CodeRequest{OpenID: c.OpenID})
	r2 := s.login(c2.Code)
	if r2.status != 200 || r2.body["isNew"] != false || r2.body["openid"] != c.OpenID {
		t.Fatalf("second login: %d %s", r2.status, r2.raw)
	}
	if users := s.users(); len(users) != 1 || users[0]["sessionKey"] == stored {
		t.Fatalf("after second login: %d users, key rotated: %v", len(users), users[0]["sessionKey"] != stored)
	}
}

func TestLoginWithoutUnionID(t *testing.T) {
	s := newStack(t, nil)
	none := ""
	c := mint(t, emulator.CodeRequest{UnionID: &none})
	r := s.login(c.Code)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if _, ok := r.body["unionid"]; ok {
		t.Fatalf("unionid present for a user without one: %s", r.raw)
	}
}

// Every refused login answers a clear 4xx/5xx JSON error and writes nothing.
func TestLoginRefusals(t *testing.T) {
	s := newStack(t, nil)
	used := mint(t, emulator.CodeRequest{})
	if r := s.login(used.Code); r.status != 200 {
		t.Fatalf("setup login: %d %s", r.status, r.raw)
	}
	s.db.Collection("users").DeleteMany(context.Background(), bson.D{})

	cases := []struct {
		name   string
		body   any
		ctype  string
		status int
		code   string
	}{
		{"bad JSON", `{"code":`, "", 400, "invalid_json"},
		{"not an object", `["x"]`, "", 400, "invalid_json"},
		{"two values", `{"code":"a"}{"code":"b"}`, "", 400, "invalid_json"},
		{"wrong type", `{"code":42}`, "", 400, "invalid_json"},
		{"empty body", ``, "", 400, "invalid_json"},
		{"missing code", `{}`, "", 400, "missing_code"},
		{"malformed code", `{"code":"../../etc"}`, "", 400, "invalid_code"},
		{"form body", `code=abc`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"oversize body", `{"code":"` + strings.Repeat("a", 70<<10) + `"}`, "", 413, "body_too_large"},
		{"unknown code", map[string]string{"code": "0a1b2c3d4e5f0a1b2c3d4e5f0a1b2c3d"}, "", 401, "invalid_code"},
		{"reused code", map[string]string{"code": used.Code}, "", 401, "invalid_code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			if str, ok := c.body.(string); ok {
				body = []byte(str)
			} else {
				body, _ = json.Marshal(c.body)
			}
			req, _ := http.NewRequest(http.MethodPost, s.url+"/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got reply
			json.Unmarshal(raw, &got.body)
			if resp.StatusCode != c.status || got.errCode() != c.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, raw, c.status, c.code)
			}
			if msg, _ := got.body["error"].(map[string]any)["message"].(string); msg == "" {
				t.Fatalf("no error message: %s", raw)
			}
		})
	}
	if n := len(s.users()); n != 0 {
		t.Fatalf("refused logins wrote %d users", n)
	}
	if r := s.post("/nope", "", `{}`); r.status != 404 || r.errCode() != "not_found" {
		t.Fatalf("unknown route: %d %s", r.status, r.raw)
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/", nil)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Fatalf("GET /: %d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// WeChat busy, rate-limited or down: a retryable 503, nothing written, and the code still works
// once WeChat recovers (a faulted call does not spend it).
func TestLoginWeChatTrouble(t *testing.T) {
	s := newStack(t, nil)
	faults := []struct {
		name  string
		fault emulator.Fault
		code  string
	}{
		{"busy", emulator.Fault{Errcode: -1}, "wechat_unavailable"},
		{"rate limited", emulator.Fault{Errcode: 45011}, "rate_limited"},
		{"HTTP 502", emulator.Fault{HTTPStatus: 502}, "wechat_unavailable"},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			c := mint(t, emulator.CodeRequest{})
			f.fault.Path, f.fault.Count = "/sns/jscode2session", 1
			if err := emu.InjectFault(f.fault); err != nil {
				t.Fatal(err)
			}
			r := s.login(c.Code)
			if r.status != 503 || r.errCode() != f.code || r.body["error"].(map[string]any)["retryable"] != true {
				t.Fatalf("got %d %s, want 503 %s retryable", r.status, r.raw, f.code)
			}
			if n := len(s.users()); n != 0 {
				t.Fatalf("a failed login wrote %d users", n)
			}
			if r := s.login(c.Code); r.status != 200 {
				t.Fatalf("retry after recovery: %d %s", r.status, r.raw)
			}
			s.db.Collection("users").DeleteMany(context.Background(), bson.D{})
		})
	}
}

// With the database unreachable, login answers 503 before spending the code.
func TestLoginDatabaseDown(t *testing.T) {
	s := newStack(t, map[string]string{"MONGODB_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"})
	c := mint(t, emulator.CodeRequest{})
	r := s.login(c.Code)
	if r.status != 503 || r.errCode() != "database_unavailable" {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	// The code was not spent: a healthy stack can still use it.
	if r := newStack(t, nil).login(c.Code); r.status != 200 {
		t.Fatalf("code spent by the failed login: %d %s", r.status, r.raw)
	}
}

func TestLoginMisconfigured(t *testing.T) {
	s := newStack(t, map[string]string{"WX_SECRET": ""})
	c := mint(t, emulator.CodeRequest{})
	r := s.login(c.Code)
	if r.status != 500 || r.errCode() != "misconfigured" {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	if strings.Contains(r.raw, "WX_SECRET") {
		t.Fatalf("the response names the missing setting to the client: %s", r.raw)
	}
}

// The same code sent many times at once logs in exactly once.
func TestLoginConcurrentSameCode(t *testing.T) {
	s := newStack(t, nil)
	c := mint(t, emulator.CodeRequest{})
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.login(c.Code).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		switch st {
		case 200:
			ok++
		case 401:
		default:
			t.Fatalf("status %d among %v", st, statuses)
		}
	}
	if ok != 1 || len(s.users()) != 1 {
		t.Fatalf("statuses %v, %d users; want exactly one login", statuses, len(s.users()))
	}
}

func (s *stack) loggedIn(t *testing.T) (token string, c emulator.CodeResponse) {
	t.Helper()
	c = mint(t, emulator.CodeRequest{})
	r := s.login(c.Code)
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	return r.body["token"].(string), c
}

func TestPhone(t *testing.T) {
	s := newStack(t, nil)
	token, c := s.loggedIn(t)
	pc, err := emu.MintPhoneCode(emulator.PhoneCodeRequest{PhoneNumber: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	restore := captureLogs(&logs)
	r := s.post("/phone", token, map[string]string{"code": pc.Code})
	restore()
	if r.status != 200 || r.body["purePhoneNumber"] != "13800138000" || r.body["countryCode"] != "86" {
		t.Fatalf("phone: %d %s", r.status, r.raw)
	}
	var u struct {
		ID    string `bson:"_id"`
		Phone struct {
			PurePhoneNumber string `bson:"purePhoneNumber"`
			CountryCode     string `bson:"countryCode"`
		} `bson:"phone"`
	}
	if err := s.db.Collection("users").FindOne(context.Background(), bson.D{}).Decode(&u); err != nil {
		t.Fatal(err)
	}
	if u.ID != c.OpenID || u.Phone.PurePhoneNumber != "13800138000" || u.Phone.CountryCode != "86" {
		t.Fatalf("stored user = %+v", u)
	}
	if strings.Contains(logs.String(), "13800138000") {
		t.Fatalf("the phone number is logged in clear:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "138****8000") {
		t.Fatalf("the masked phone number is not logged:\n%s", logs.String())
	}
	// The code is single-use.
	if r := s.post("/phone", token, map[string]string{"code": pc.Code}); r.status != 401 || r.errCode() != "invalid_code" {
		t.Fatalf("reused phone code: %d %s", r.status, r.raw)
	}
}

// Tokens that must not open /phone or /decrypt, and that change nothing.
func TestBadTokens(t *testing.T) {
	s := newStack(t, nil)
	good, c := s.loggedIn(t)
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		m := jwt.MapClaims{"iss": "wxfn", "sub": c.OpenID, "aud": emulator.DefaultAppID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		mod(m)
		return m
	}
	sign := func(key string, m jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, m).SignedString([]byte(key))
		return s
	}
	tokens := map[string]string{
		"none":           "",
		"forged":         sign("another-secret-another-secret-12345", claims(func(jwt.MapClaims) {})),
		"expired":        sign(sessionSecret, claims(func(m jwt.MapClaims) { m["exp"] = now.Add(-time.Minute).Unix(); m["iat"] = now.Add(-time.Hour).Unix() })),
		"wrong audience": sign(sessionSecret, claims(func(m jwt.MapClaims) { m["aud"] = "wx-some-other-app" })),
		"truncated":      good[:len(good)-4],
	}
	pc, _ := emu.MintPhoneCode(emulator.PhoneCodeRequest{PhoneNumber: "13800138000"})
	for name, tok := range tokens {
		for _, path := range []string{"/phone", "/decrypt"} {
			r := s.post(path, tok, map[string]string{"code": pc.Code})
			if r.status != 401 {
				t.Errorf("%s token on %s: %d %s", name, path, r.status, r.raw)
			}
		}
	}
	if _, has := s.users()[0]["phone"]; has {
		t.Fatal("a refused call saved a phone number")
	}
	// The phone code was never spent.
	if r := s.post("/phone", good, map[string]string{"code": pc.Code}); r.status != 200 {
		t.Fatalf("phone with the good token afterwards: %d %s", r.status, r.raw)
	}
}

func TestDecrypt(t *testing.T) {
	s := newStack(t, nil)
	token, c := s.loggedIn(t)
	enc, err := emu.Encrypt(emulator.EncryptRequest{OpenID: c.OpenID, Data: json.RawMessage(`{"nickName":"Ada","gender":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	r := s.post("/decrypt", token, enc)
	if r.status != 200 || r.body["nickName"] != "Ada" {
		t.Fatalf("decrypt: %d %s", r.status, r.raw)
	}
	if wm, _ := r.body["watermark"].(map[string]any); wm["appid"] != emulator.DefaultAppID {
		t.Fatalf("watermark = %v", r.body["watermark"])
	}

	wrongApp, _ := emu.Encrypt(emulator.EncryptRequest{OpenID: c.OpenID, Data: json.RawMessage(`{"nickName":"Ada"}`), WatermarkAppID: "wx-other-app"})
	if r := s.post("/decrypt", token, wrongApp); r.status != 400 || r.errCode() != "watermark_mismatch" || strings.Contains(r.raw, "Ada") {
		t.Fatalf("wrong watermark: %d %s", r.status, r.raw)
	}

	// The client called wx.login again (rotating the key at WeChat) without logging in with
	// that code: the data no longer decrypts with the stored key.
	mint(t, emulator.CodeRequest{OpenID: c.OpenID})
	rotated, _ := emu.Encrypt(emulator.EncryptRequest{OpenID: c.OpenID, Data: json.RawMessage(`{"nickName":"Ada"}`)})
	if r := s.post("/decrypt", token, rotated); r.status != 400 || r.errCode() != "decrypt_failed" {
		t.Fatalf("rotated key: %d %s", r.status, r.raw)
	}

	bad := []map[string]string{
		{"encryptedData": "not base64!", "iv": enc.IV},
		{"encryptedData": enc.EncryptedData, "iv": "c2hvcnQ="},
		{"encryptedData": enc.EncryptedData},
		{"encryptedData": base64.StdEncoding.EncodeToString([]byte("fifteen bytes..")), "iv": enc.IV},
	}
	for _, b := range bad {
		if r := s.post("/decrypt", token, b); r.status != 400 || r.errCode() != "invalid_encrypted_data" {
			t.Errorf("%v: %d %s", b, r.status, r.raw)
		}
	}
}

// captureLogs sends the default logger to buf until restore is called. Tests using it must not
// run in parallel.
func captureLogs(buf *bytes.Buffer) (restore func()) {
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(buf, nil)))
	return func() { slog.SetDefault(old) }
}
