package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/fn"
)

var secret = []byte("0123456789abcdef0123456789abcdef-test")

func sessions(now time.Time) *Sessions {
	return NewSessions(config.Session{Secret: secret, AppID: "wxapp1", TTL: time.Hour}).WithClock(func() time.Time { return now })
}

func TestIssueVerify(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s := sessions(now)
	tok, exp, err := s.Issue("o-user", "u-union")
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("expiresAt = %v", exp)
	}
	p, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != fn.PrincipalUser || p.OpenID != "o-user" || p.UnionID != "u-union" {
		t.Fatalf("principal = %+v", p)
	}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s := sessions(now)
	good, _, _ := s.Issue("o-user", "")
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "wxfn", "sub": "o-user", "aud": "wxapp1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims { c := valid(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := valid(); delete(c, k); return c }
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"expired":        sessions(now.Add(-2 * time.Hour)).mustIssue(t),
		"wrong audience": sign(t, jwt.SigningMethodHS256, secret, with("aud", "wxother")),
		"wrong issuer":   sign(t, jwt.SigningMethodHS256, secret, with("iss", "someone")),
		"forged":         sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid()),
		"no expiry":      sign(t, jwt.SigningMethodHS256, secret, without("exp")),
		"no subject":     sign(t, jwt.SigningMethodHS256, secret, without("sub")),
		"issued later":   sign(t, jwt.SigningMethodHS256, secret, with("iat", now.Add(time.Hour).Unix())),
		"HS384":          sign(t, jwt.SigningMethodHS384, secret, valid()),
		"alg none":       sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid()),
		"tampered":       parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2],
		"garbage":        "not-a-token",
		"empty":          "",
	}
	for name, tok := range cases {
		_, err := s.Verify(tok)
		var fe *fn.Error
		if !errors.As(err, &fe) || fe.Status != 401 || fe.Code != "invalid_token" {
			t.Errorf("%s: err = %v, want 401 invalid_token", name, err)
		}
	}
}

func (s *Sessions) mustIssue(t *testing.T) string {
	tok, _, err := s.Issue("o-user", "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAdminKeys(t *testing.T) {
	k1 := strings.Repeat("a", 32)
	k2 := strings.Repeat("b", 40)
	a := NewAdminKeys([]string{k1, k2})
	for key, want := range map[string]bool{k1: true, k2: true, k1 + "x": false, k1[:31]: false, "": false, strings.Repeat("c", 32): false} {
		if got := a.Check(key); got != want {
			t.Errorf("Check(%q) = %v, want %v", key, got, want)
		}
	}
	if NewAdminKeys(nil).Check("") {
		t.Error("empty key accepted with no keys configured")
	}
}

func TestAuthenticator(t *testing.T) {
	now := time.Now()
	s := sessions(now)
	a := Authenticator{
		Sessions:  func() (*Sessions, error) { return s, nil },
		AdminKeys: func() (*AdminKeys, error) { return nil, errors.New("config admin keys: missing setting ADMIN_KEYS") },
	}
	tok, _, _ := s.Issue("o-user", "")
	if p, err := a.User(context.Background(), tok); err != nil || p.OpenID != "o-user" {
		t.Fatalf("User = %+v, %v", p, err)
	}
	_, err := a.Admin(context.Background(), strings.Repeat("a", 32))
	var fe *fn.Error
	if !errors.As(err, &fe) || fe.Status != 500 || fe.Code != "misconfigured" || strings.Contains(fe.Message, "ADMIN_KEYS") {
		t.Fatalf("Admin with missing config = %v", err)
	}
}
