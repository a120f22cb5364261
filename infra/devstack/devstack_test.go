package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxfn/wxfn/infra/devstack"
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

func call(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// The banner's walk-through, as a developer runs it against `make dev`: every step over HTTP,
// the emulator's control API included; then a restart keeps users, secrets and sessions.
func TestWalkThroughAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, nil)

	if st, idx := call(t, "GET", s.URL+"/", "", nil); st != 200 || idx["functions"].(map[string]any)["login"] != s.URL+"/login/" {
		t.Fatalf("index: %d %v", st, idx)
	}
	_, code := call(t, "POST", s.URL+"/_emu/wx/codes", "", map[string]any{})
	st, login := call(t, "POST", s.URL+"/login/", "", map[string]any{"code": code["code"]})
	if st != 200 || login["isNew"] != true || login["openid"] != code["openid"] {
		t.Fatalf("login: %d %v", st, login)
	}
	token := login["token"].(string)
	if st, _ := call(t, "POST", s.URL+"/login", "", map[string]any{"code": code["code"]}); st != 401 {
		t.Fatalf("reused code (no trailing slash): %d", st)
	}
	_, pcode := call(t, "POST", s.URL+"/_emu/wx/phone-codes", "", map[string]any{"phoneNumber": "13800138000"})
	if st, phone := call(t, "POST", s.URL+"/login/phone", token, map[string]any{"code": pcode["code"]}); st != 200 || phone["purePhoneNumber"] != "13800138000" {
		t.Fatalf("phone: %d %v", st, phone)
	}
	_, enc := call(t, "POST", s.URL+"/_emu/wx/encrypt", "", map[string]any{"openid": code["openid"], "data": map[string]any{"nickName": "Ada"}})
	if st, plain := call(t, "POST", s.URL+"/login/decrypt", token, enc); st != 200 || plain["nickName"] != "Ada" {
		t.Fatalf("decrypt: %d %v", st, plain)
	}
	call(t, "POST", s.URL+"/_emu/faults", "", map[string]any{"path": "/sns/jscode2session", "count": 1, "errcode": -1})
	_, code2 := call(t, "POST", s.URL+"/_emu/wx/codes", "", map[string]any{})
	if st, busy := call(t, "POST", s.URL+"/login/", "", map[string]any{"code": code2["code"]}); st != 503 || busy["error"].(map[string]any)["retryable"] != true {
		t.Fatalf("busy: %d %v", st, busy)
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
	_, pcode2 := call(t, "POST", s2.URL+"/_emu/wx/phone-codes", "", map[string]any{"phoneNumber": "13900139000"})
	if st, phone := call(t, "POST", s2.URL+"/login/phone", token, map[string]any{"code": pcode2["code"]}); st != 200 {
		t.Fatalf("token after restart: %d %v", st, phone)
	}
	_, code3 := call(t, "POST", s2.URL+"/_emu/wx/codes", "", map[string]any{"openid": code["openid"]})
	if st, again := call(t, "POST", s2.URL+"/login/", "", map[string]any{"code": code3["code"]}); st != 200 || again["isNew"] != false {
		t.Fatalf("login after restart: %d %v", st, again)
	}
}

// Settings given in the environment override the sandbox defaults.
func TestEnvironmentOverrides(t *testing.T) {
	s := start(t, t.TempDir(), map[string]string{"SESSION_TTL": "1h", "LOG_LEVEL": "debug"})
	defer s.Close(context.Background())
	if s.Env["SESSION_TTL"] != "1h" || s.Env["LOG_LEVEL"] != "debug" {
		t.Fatalf("env = %v", s.Env)
	}
	_, code := call(t, "POST", s.URL+"/_emu/wx/codes", "", map[string]any{})
	_, login := call(t, "POST", s.URL+"/login/", "", map[string]any{"code": code["code"]})
	exp, err := time.Parse(time.RFC3339, login["expiresAt"].(string))
	if err != nil || time.Until(exp) > 61*time.Minute || time.Until(exp) < 59*time.Minute {
		t.Fatalf("expiresAt %v with SESSION_TTL=1h", login["expiresAt"])
	}
}
