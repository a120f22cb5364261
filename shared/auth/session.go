// Package auth issues and verifies the session tokens that mini-program calls carry, and checks
// the admin keys that admin calls carry. Both plug into fn.Router through Authenticator.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/fn"
)

// issuer names wxfn as the issuer of its tokens, so that a JWT minted by another system with
// the same secret by mistake is still refused.
const issuer = "wxfn"

// Sessions issues and verifies session tokens: HS256 JWTs whose subject is the user's openid
// and whose audience is the mini-program's appid.
type Sessions struct {
	secret []byte
	appID  string
	ttl    time.Duration
	now    func() time.Time
}

// NewSessions builds a token issuer/verifier from the session settings.
func NewSessions(cfg config.Session) *Sessions {
	return &Sessions{secret: cfg.Secret, appID: cfg.AppID, ttl: cfg.TTL, now: time.Now}
}

// WithClock returns a copy using now as its clock, for tests.
func (s *Sessions) WithClock(now func() time.Time) *Sessions {
	c := *s
	c.now = now
	return &c
}

type claims struct {
	UnionID string `json:"uid,omitempty"`
	jwt.RegisteredClaims
}

// Issue returns a token for the user and when it expires.
func (s *Sessions) Issue(openID, unionID string) (string, time.Time, error) {
	if openID == "" {
		return "", time.Time{}, errors.New("auth issue: empty openid")
	}
	now := s.now().Truncate(time.Second)
	exp := now.Add(s.ttl)
	jti := make([]byte, 12)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, fmt.Errorf("auth issue: %w", err)
	}
	c := claims{
		UnionID: unionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   openID,
			Audience:  jwt.ClaimStrings{s.appID},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth issue: %w", err)
	}
	return tok, exp, nil
}

// Verify checks a token's signature (HS256 only), issuer, audience and expiry and returns the
// user it names. Every failure is the same 401 so that a caller learns nothing about why.
func (s *Sessions) Verify(token string) (fn.Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(s.appID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil || c.Subject == "" {
		return fn.Principal{}, &fn.Error{Status: 401, Code: "invalid_token", Message: "the session token is invalid or expired; log in again", Cause: err}
	}
	return fn.Principal{Kind: fn.PrincipalUser, OpenID: c.Subject, UnionID: c.UnionID}, nil
}

// Authenticator satisfies fn.Authenticator with lazily loaded settings: the first request that
// needs a check loads them, so a function whose routes are all public never requires them.
type Authenticator struct {
	Sessions  func() (*Sessions, error)
	AdminKeys func() (*AdminKeys, error)
}

// User implements fn.Authenticator.
func (a Authenticator) User(_ context.Context, token string) (fn.Principal, error) {
	s, err := a.Sessions()
	if err != nil {
		return fn.Principal{}, misconfigured(err)
	}
	return s.Verify(token)
}

// Admin implements fn.Authenticator.
func (a Authenticator) Admin(_ context.Context, key string) (fn.Principal, error) {
	k, err := a.AdminKeys()
	if err != nil {
		return fn.Principal{}, misconfigured(err)
	}
	if !k.Check(key) {
		return fn.Principal{}, &fn.Error{Status: 401, Code: "invalid_admin_key", Message: "the admin key is not valid"}
	}
	return fn.Principal{Kind: fn.PrincipalAdmin}, nil
}

// misconfigured passes through an error that is already a client-safe *fn.Error and hides
// anything else behind a 500.
func misconfigured(err error) error {
	var fe *fn.Error
	if errors.As(err, &fe) {
		return err
	}
	return &fn.Error{Status: 500, Code: "misconfigured", Message: "the function is not configured; see its logs", Cause: err}
}
