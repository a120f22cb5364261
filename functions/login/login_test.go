package login_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/wxfn/wxfn/functions/login"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/infra/fntest"
)

func TestMain(m *testing.M) { fntest.Main(m) }

// stack is one test's login function behind the real HTTP adapter, with its own database.
type stack struct {
	*fntest.Stack
	t *testing.T
}

func newStack(t *testing.T, override map[string]string) *stack {
	t.Helper()
	return &stack{Stack: fntest.Start(t, login.NewWithDeps, override), t: t}
}

func (s *stack) users() []bson.M { return fntest.All[bson.M](s.t, s.DB.Collection("users")) }

func (s *stack) login(code string) fntest.Reply {
	return s.Post("/", "", map[string]string{"code": code})
}

func TestLogin(t *testing.T) {
	s := newStack(t, nil)
	c := fntest.MintCode(t, emulator.CodeRequest{})
	r := s.login(c.Code)
	if r.Status != 200 {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	if r.Body["openid"] != c.OpenID || r.Body["unionid"] != c.UnionID || r.Body["isNew"] != true {
		t.Fatalf("login body = %s, want openid %s unionid %s isNew", r.Raw, c.OpenID, c.UnionID)
	}
	if r.Header.Get("x-request-id") == "" {
		t.Error("no x-request-id header")
	}
	if strings.Contains(r.Raw, c.SessionKey) {
		t.Fatal("the response carries the session_key")
	}
	// The token is an HS256 JWT: sub openid, aud appid, expiry SESSION_TTL (default 168h).
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(r.Body["token"].(string), claims, func(*jwt.Token) (any, error) { return []byte(fntest.SessionSecret), nil })
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
	if got, _ := time.Parse(time.RFC3339, r.Body["expiresAt"].(string)); !got.Equal(exp.Time) {
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
	c2 := fntest.MintCode(t, emulator.CodeRequest{OpenID: c.OpenID})
	r2 := s.login(c2.Code)
	if r2.Status != 200 || r2.Body["isNew"] != false || r2.Body["openid"] != c.OpenID {
		t.Fatalf("second login: %d %s", r2.Status, r2.Raw)
	}
	if users := s.users(); len(users) != 1 || users[0]["sessionKey"] == stored {
		t.Fatalf("after second login: %d users, key rotated: %v", len(users), users[0]["sessionKey"] != stored)
	}
}

func TestLoginWithoutUnionID(t *testing.T) {
	s := newStack(t, nil)
	none := ""
	c := fntest.MintCode(t, emulator.CodeRequest{UnionID: &none})
	r := s.login(c.Code)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if _, ok := r.Body["unionid"]; ok {
		t.Fatalf("unionid present for a user without one: %s", r.Raw)
	}
}

// Every refused login answers a clear 4xx/5xx JSON error and writes nothing.
func TestLoginRefusals(t *testing.T) {
	s := newStack(t, nil)
	used := fntest.MintCode(t, emulator.CodeRequest{})
	if r := s.login(used.Code); r.Status != 200 {
		t.Fatalf("setup login: %d %s", r.Status, r.Raw)
	}
	s.DB.Collection("users").DeleteMany(context.Background(), bson.D{})

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
			var header []string
			if c.ctype != "" {
				header = []string{"Content-Type", c.ctype}
			}
			got := fntest.NewClient(t, s.URL).Do(http.MethodPost, "/", "", c.body, header...)
			if got.Status != c.status || got.ErrCode() != c.code {
				t.Fatalf("got %d %s, want %d %s", got.Status, got.Raw, c.status, c.code)
			}
			if got.ErrMessage() == "" {
				t.Fatalf("no error message: %s", got.Raw)
			}
		})
	}
	if n := len(s.users()); n != 0 {
		t.Fatalf("refused logins wrote %d users", n)
	}
	if r := s.Post("/nope", "", `{}`); r.Status != 404 || r.ErrCode() != "not_found" {
		t.Fatalf("unknown route: %d %s", r.Status, r.Raw)
	}
	if r := s.Get("/", ""); r.Status != 405 || r.Header.Get("Allow") != "POST" {
		t.Fatalf("GET /: %d Allow=%q", r.Status, r.Header.Get("Allow"))
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
			c := fntest.MintCode(t, emulator.CodeRequest{})
			f.fault.Path, f.fault.Count = "/sns/jscode2session", 1
			if err := fntest.Emulator().InjectFault(f.fault); err != nil {
				t.Fatal(err)
			}
			r := s.login(c.Code)
			if r.Status != 503 || r.ErrCode() != f.code || !r.Retryable() {
				t.Fatalf("got %d %s, want 503 %s retryable", r.Status, r.Raw, f.code)
			}
			if n := len(s.users()); n != 0 {
				t.Fatalf("a failed login wrote %d users", n)
			}
			if r := s.login(c.Code); r.Status != 200 {
				t.Fatalf("retry after recovery: %d %s", r.Status, r.Raw)
			}
			s.DB.Collection("users").DeleteMany(context.Background(), bson.D{})
		})
	}
}

// With the database unreachable, login answers 503 before spending the code.
func TestLoginDatabaseDown(t *testing.T) {
	s := newStack(t, map[string]string{"MONGODB_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"})
	c := fntest.MintCode(t, emulator.CodeRequest{})
	r := s.login(c.Code)
	if r.Status != 503 || r.ErrCode() != "database_unavailable" {
		t.Fatalf("got %d %s", r.Status, r.Raw)
	}
	// The code was not spent: a healthy stack can still use it.
	if r := newStack(t, nil).login(c.Code); r.Status != 200 {
		t.Fatalf("code spent by the failed login: %d %s", r.Status, r.Raw)
	}
}

func TestLoginMisconfigured(t *testing.T) {
	s := newStack(t, map[string]string{"WX_SECRET": ""})
	c := fntest.MintCode(t, emulator.CodeRequest{})
	r := s.login(c.Code)
	if r.Status != 500 || r.ErrCode() != "misconfigured" {
		t.Fatalf("got %d %s", r.Status, r.Raw)
	}
	if strings.Contains(r.Raw, "WX_SECRET") {
		t.Fatalf("the response names the missing setting to the client: %s", r.Raw)
	}
}

// The same code sent many times at once logs in exactly once.
func TestLoginConcurrentSameCode(t *testing.T) {
	s := newStack(t, nil)
	c := fntest.MintCode(t, emulator.CodeRequest{})
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.login(c.Code).Status
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
	c = fntest.MintCode(t, emulator.CodeRequest{})
	r := s.login(c.Code)
	if r.Status != 200 {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	return r.Body["token"].(string), c
}

func TestPhone(t *testing.T) {
	s := newStack(t, nil)
	token, c := s.loggedIn(t)
	pc, err := fntest.Emulator().MintPhoneCode(emulator.PhoneCodeRequest{PhoneNumber: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	restore := captureLogs(&logs)
	r := s.Post("/phone", token, map[string]string{"code": pc.Code})
	restore()
	if r.Status != 200 || r.Body["purePhoneNumber"] != "13800138000" || r.Body["countryCode"] != "86" {
		t.Fatalf("phone: %d %s", r.Status, r.Raw)
	}
	var u struct {
		ID    string `bson:"_id"`
		Phone struct {
			PurePhoneNumber string `bson:"purePhoneNumber"`
			CountryCode     string `bson:"countryCode"`
		} `bson:"phone"`
	}
	if err := s.DB.Collection("users").FindOne(context.Background(), bson.D{}).Decode(&u); err != nil {
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
	if r := s.Post("/phone", token, map[string]string{"code": pc.Code}); r.Status != 401 || r.ErrCode() != "invalid_code" {
		t.Fatalf("reused phone code: %d %s", r.Status, r.Raw)
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
		"expired":        sign(fntest.SessionSecret, claims(func(m jwt.MapClaims) { m["exp"] = now.Add(-time.Minute).Unix(); m["iat"] = now.Add(-time.Hour).Unix() })),
		"wrong audience": sign(fntest.SessionSecret, claims(func(m jwt.MapClaims) { m["aud"] = "wx-some-other-app" })),
		"truncated":      good[:len(good)-4],
	}
	pc, _ := fntest.Emulator().MintPhoneCode(emulator.PhoneCodeRequest{PhoneNumber: "13800138000"})
	for name, tok := range tokens {
		for _, path := range []string{"/phone", "/decrypt"} {
			r := s.Post(path, tok, map[string]string{"code": pc.Code})
			if r.Status != 401 {
				t.Errorf("%s token on %s: %d %s", name, path, r.Status, r.Raw)
			}
		}
	}
	if _, has := s.users()[0]["phone"]; has {
		t.Fatal("a refused call saved a phone number")
	}
	// The phone code was never spent.
	if r := s.Post("/phone", good, map[string]string{"code": pc.Code}); r.Status != 200 {
		t.Fatalf("phone with the good token afterwards: %d %s", r.Status, r.Raw)
	}
}

func TestDecrypt(t *testing.T) {
	s := newStack(t, nil)
	token, c := s.loggedIn(t)
	enc, err := fntest.Emulator().Encrypt(emulator.EncryptRequest{OpenID: c.OpenID, Data: json.RawMessage(`{"nickName":"Ada","gender":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Post("/decrypt", token, enc)
	if r.Status != 200 || r.Body["nickName"] != "Ada" {
		t.Fatalf("decrypt: %d %s", r.Status, r.Raw)
	}
	if wm, _ := r.Body["watermark"].(map[string]any); wm["appid"] != emulator.DefaultAppID {
		t.Fatalf("watermark = %v", r.Body["watermark"])
	}

	wrongApp, _ := fntest.Emulator().Encrypt(emulator.EncryptRequest{OpenID: c.OpenID, Data: json.RawMessage(`{"nickName":"Ada"}`), WatermarkAppID: "wx-other-app"})
	if r := s.Post("/decrypt", token, wrongApp); r.Status != 400 || r.ErrCode() != "watermark_mismatch" || strings.Contains(r.Raw, "Ada") {
		t.Fatalf("wrong watermark: %d %s", r.Status, r.Raw)
	}

	// The client called wx.login again (rotating the key at WeChat) without logging in with
	// that code: the data no longer decrypts with the stored key.
	fntest.MintCode(t, emulator.CodeRequest{OpenID: c.OpenID})
	rotated, _ := fntest.Emulator().Encrypt(emulator.EncryptRequest{OpenID: c.OpenID, Data: json.RawMessage(`{"nickName":"Ada"}`)})
	if r := s.Post("/decrypt", token, rotated); r.Status != 400 || r.ErrCode() != "decrypt_failed" {
		t.Fatalf("rotated key: %d %s", r.Status, r.Raw)
	}

	bad := []map[string]string{
		{"encryptedData": "not base64!", "iv": enc.IV},
		{"encryptedData": enc.EncryptedData, "iv": "c2hvcnQ="},
		{"encryptedData": enc.EncryptedData},
		{"encryptedData": base64.StdEncoding.EncodeToString([]byte("fifteen bytes..")), "iv": enc.IV},
	}
	for _, b := range bad {
		if r := s.Post("/decrypt", token, b); r.Status != 400 || r.ErrCode() != "invalid_encrypted_data" {
			t.Errorf("%v: %d %s", b, r.Status, r.Raw)
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
