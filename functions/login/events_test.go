package login_test

import (
	"path/filepath"
	"testing"

	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/infra/fntest"
)

// The sample events under events/login run through the same event decoding as on the clouds and
// get the answers their README promises, with the placeholders make invoke fills.
func TestSampleEvents(t *testing.T) {
	s := newStack(t, nil)
	token, _ := s.loggedIn(t)

	want := map[string]int{
		"aws-url-login.json": 200, "aws-url-login-reused-code.json": 401, "aws-url-login-bad-json.json": 400,
		"aws-url-phone.json": 200, "aws-url-phone-no-token.json": 401,
		"scf-url-login.json": 200, "scf-url-phone.json": 200, "scf-apigw-login.json": 200,
	}
	fill := fntest.Fill{
		"login_code": func(t testing.TB) string { return fntest.MintCode(t, emulator.CodeRequest{}).Code },
		"phone_code": func(testing.TB) string {
			pc, _ := fntest.Emulator().MintPhoneCode(emulator.PhoneCodeRequest{PhoneNumber: "13800138000"})
			return pc.Code
		},
		"session_token": func(testing.TB) string { return token },
	}
	for _, path := range fntest.SampleEvents(t, "login", want) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			if o := fntest.Invoke(t, s.Fn, path, fill); o.Status != want[name] {
				t.Fatalf("status %d, want %d: %s", o.Status, want[name], o.Out)
			}
		})
	}
}
