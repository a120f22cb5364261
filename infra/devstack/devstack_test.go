package devstack_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxfn/wxfn/infra/devstack"
	"github.com/wxfn/wxfn/infra/fntest"
)

func start(t *testing.T, dir string, env map[string]string) *devstack.Stack {
	t.Helper()
	s, err := devstack.Start(context.Background(), devstack.Options{
		DataDir:   dir,
		Addr:      "127.0.0.1:0",
		MongoAddr: "127.0.0.1:0",
		Env: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The banner's walk-through, as a developer runs it against `make dev`: every step over HTTP,
// the emulator's control API included; then a restart keeps users, secrets and sessions.
func TestWalkThroughAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, nil)
	c := fntest.NewClient(t, s.URL)

	if idx := c.Get("/", ""); idx.Status != 200 || idx.Body["functions"].(map[string]any)["login"] != s.URL+"/login/" {
		t.Fatalf("index: %d %v", idx.Status, idx.Body)
	}
	code := c.Post("/_emu/wx/codes", "", map[string]any{})
	login := c.Post("/login/", "", map[string]any{"code": code.Body["code"]})
	if login.Status != 200 || login.Body["isNew"] != true || login.Body["openid"] != code.Body["openid"] {
		t.Fatalf("login: %d %v", login.Status, login.Body)
	}
	token := login.Str("token")
	if r := c.Post("/login", "", map[string]any{"code": code.Body["code"]}); r.Status != 401 {
		t.Fatalf("reused code (no trailing slash): %d", r.Status)
	}
	pcode := c.Post("/_emu/wx/phone-codes", "", map[string]any{"phoneNumber": "13800138000"})
	if phone := c.Post("/login/phone", token, map[string]any{"code": pcode.Body["code"]}); phone.Status != 200 || phone.Body["purePhoneNumber"] != "13800138000" {
		t.Fatalf("phone: %d %v", phone.Status, phone.Body)
	}
	enc := c.Post("/_emu/wx/encrypt", "", map[string]any{"openid": code.Body["openid"], "data": map[string]any{"nickName": "Ada"}})
	if plain := c.Post("/login/decrypt", token, enc.Body); plain.Status != 200 || plain.Body["nickName"] != "Ada" {
		t.Fatalf("decrypt: %d %v", plain.Status, plain.Body)
	}
	c.Post("/_emu/faults", "", map[string]any{"path": "/sns/jscode2session", "count": 1, "errcode": -1})
	code2 := c.Post("/_emu/wx/codes", "", map[string]any{})
	if busy := c.Post("/login/", "", map[string]any{"code": code2.Body["code"]}); busy.Status != 503 || !busy.Retryable() {
		t.Fatalf("busy: %d %v", busy.Status, busy.Body)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	secrets, err := os.ReadFile(filepath.Join(dir, "secrets.env"))
	if err != nil || !bytes.Contains(secrets, []byte("SESSION_SECRET=")) {
		t.Fatalf("secrets.env: %v %s", err, secrets)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "secrets.env")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets.env mode %v", fi.Mode())
	}

	// Restart on the same data: the session token still works and the user is not new.
	s2 := start(t, dir, nil)
	defer s2.Close(context.Background())
	c2 := fntest.NewClient(t, s2.URL)
	pcode2 := c2.Post("/_emu/wx/phone-codes", "", map[string]any{"phoneNumber": "13900139000"})
	if phone := c2.Post("/login/phone", token, map[string]any{"code": pcode2.Body["code"]}); phone.Status != 200 {
		t.Fatalf("token after restart: %d %v", phone.Status, phone.Body)
	}
	code3 := c2.Post("/_emu/wx/codes", "", map[string]any{"openid": code.Body["openid"]})
	if again := c2.Post("/login/", "", map[string]any{"code": code3.Body["code"]}); again.Status != 200 || again.Body["isNew"] != false {
		t.Fatalf("login after restart: %d %v", again.Status, again.Body)
	}
}

// Settings given in the environment override the sandbox defaults.
func TestEnvironmentOverrides(t *testing.T) {
	s := start(t, t.TempDir(), map[string]string{"SESSION_TTL": "1h", "LOG_LEVEL": "debug"})
	defer s.Close(context.Background())
	if s.Env["SESSION_TTL"] != "1h" || s.Env["LOG_LEVEL"] != "debug" {
		t.Fatalf("env = %v", s.Env)
	}
	c := fntest.NewClient(t, s.URL)
	code := c.Post("/_emu/wx/codes", "", map[string]any{})
	login := c.Post("/login/", "", map[string]any{"code": code.Body["code"]})
	exp, err := time.Parse(time.RFC3339, login.Str("expiresAt"))
	if err != nil || time.Until(exp) > 61*time.Minute || time.Until(exp) < 59*time.Minute {
		t.Fatalf("expiresAt %v with SESSION_TTL=1h", login.Body["expiresAt"])
	}
}
