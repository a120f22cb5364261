package login_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/functions/login"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/runtime"
)

// The sample events under events/login run through the same event decoding as on the clouds and
// get the answers their README promises, with the placeholders make invoke fills.
func TestSampleEvents(t *testing.T) {
	s := newStack(t, nil)
	d := deps.New(config.Map(s.env))
	defer d.Close(context.Background())
	f := login.NewWithDeps(d)
	token, _ := s.loggedIn(t)

	want := map[string]int{
		"aws-url-login.json": 200, "aws-url-login-reused-code.json": 401, "aws-url-login-bad-json.json": 400,
		"aws-url-phone.json": 200, "aws-url-phone-no-token.json": 401,
		"scf-url-login.json": 200, "scf-url-phone.json": 200, "scf-apigw-login.json": 200,
	}
	files, _ := filepath.Glob("../../events/login/*.json")
	if len(files) != len(want) {
		t.Fatalf("%d sample events, the test knows %d: keep them in step", len(files), len(want))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ev := string(raw)
			if strings.Contains(ev, "{{login_code}}") {
				ev = strings.ReplaceAll(ev, "{{login_code}}", mint(t, emulator.CodeRequest{}).Code)
			}
			if strings.Contains(ev, "{{phone_code}}") {
				pc, _ := emu.MintPhoneCode(emulator.PhoneCodeRequest{PhoneNumber: "13800138000"})
				ev = strings.ReplaceAll(ev, "{{phone_code}}", pc.Code)
			}
			ev = strings.ReplaceAll(ev, "{{session_token}}", token)
			out, err := runtime.Invoke(context.Background(), f, []byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				StatusCode int `json:"statusCode"`
			}
			if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != want[name] {
				t.Fatalf("status %d (%v), want %d: %s", resp.StatusCode, err, want[name], out)
			}
		})
	}
}
