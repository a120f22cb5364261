// Package login is the mini-program login function: it exchanges a wx.login code for the user's
// openid and session_key, keeps the session_key server-side (sealed with DATA_KEY), and issues
// the session token every other function verifies. It also exchanges getPhoneNumber codes and
// decrypts the mini-program's encryptedData with the user's stored session_key.
package login

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/wechat"
)

// New builds the login function over an environment. Nothing is read or connected until the
// first request.
func New(lookup config.Lookup) fn.Function {
	return NewWithDeps(deps.New(lookup))
}

// NewWithDeps builds the login function over existing dependencies (tests share them).
func NewWithDeps(d *deps.Deps) fn.Function {
	h := &handler{deps: d, now: time.Now}
	return fn.Function{
		Spec: Spec,
		HTTP: fn.NewRouter(d.Authenticator(),
			fn.Route{Method: http.MethodPost, Pattern: "/", Access: fn.Public, Handle: h.login},
			fn.Route{Method: http.MethodPost, Pattern: "/phone", Access: fn.User, Handle: h.phone},
			fn.Route{Method: http.MethodPost, Pattern: "/decrypt", Access: fn.User, Handle: h.decrypt},
		),
	}
}

type handler struct {
	deps *deps.Deps
	now  func() time.Time
}

// wechatError maps a WeChat failure to what the mini-program should do about it.
func wechatError(err error) error {
	code, isAPI := wechat.Code(err)
	switch {
	case isAPI && (code == wechat.CodeInvalidCode || code == wechat.CodeCodeUsed):
		return &fn.Error{Status: http.StatusUnauthorized, Code: "invalid_code", Message: "the code is invalid, expired or already used; call wx.login again", Cause: err}
	case isAPI && code == wechat.CodeHighRiskUser:
		return &fn.Error{Status: http.StatusForbidden, Code: "login_blocked", Message: "WeChat blocked this login as high-risk", Cause: err}
	case isAPI && code == wechat.CodeRateLimited:
		return &fn.Error{Status: http.StatusServiceUnavailable, Code: "rate_limited", Message: "too many attempts; try again shortly", Retryable: true, Cause: err}
	case wechat.IsTemporary(err):
		return fn.Unavailable("wechat_unavailable", "WeChat is busy; try again", err)
	}
	var fe *fn.Error
	if errors.As(err, &fe) {
		return err
	}
	// Anything else (a configuration problem such as a wrong secret) is ours, not the user's.
	slog.Error("wechat call failed", "err", err)
	return &fn.Error{Status: http.StatusBadGateway, Code: "wechat_error", Message: "WeChat refused the request", Cause: err}
}

// validCode accepts the codes WeChat issues (32 characters today) with room to grow, and
// refuses anything that could not be one before spending a WeChat call on it.
func validCode(code string) bool {
	if len(code) == 0 || len(code) > 128 {
		return false
	}
	for _, c := range code {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// codeRequest is the body of POST / and POST /phone.
type codeRequest struct {
	Code string `json:"code"`
}

func decodeCode(req *fn.Request) (string, error) {
	var body codeRequest
	if err := fn.DecodeJSON(req, &body); err != nil {
		return "", err
	}
	if body.Code == "" {
		return "", fn.BadRequest("missing_code", "the body must carry the code from wx.login")
	}
	if !validCode(body.Code) {
		return "", fn.BadRequest("invalid_code", "the code is malformed")
	}
	return body.Code, nil
}

// loginResponse is the answer of POST /.
type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	OpenID    string    `json:"openid"`
	UnionID   string    `json:"unionid,omitempty"`
	IsNew     bool      `json:"isNew"`
}

func (h *handler) login(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	code, err := decodeCode(req)
	if err != nil {
		return nil, err
	}
	// Load everything that can fail for configuration reasons before spending the code.
	sessions, err := h.deps.Sessions()
	if err != nil {
		return nil, err
	}
	box, err := h.deps.Seal()
	if err != nil {
		return nil, err
	}
	mp, err := h.deps.MiniProgram()
	if err != nil {
		return nil, err
	}
	users, err := h.users(ctx)
	if err != nil {
		return nil, err
	}
	s, err := mp.Code2Session(ctx, code)
	if err != nil {
		return nil, wechatError(err)
	}
	// Sign before writing, so that once the user is written nothing can fail.
	token, exp, err := sessions.Issue(s.OpenID, s.UnionID)
	if err != nil {
		return nil, err
	}
	sealed, err := box.Seal([]byte(s.SessionKey), s.OpenID)
	if err != nil {
		return nil, err
	}
	isNew, err := users.upsertLogin(ctx, s.OpenID, s.UnionID, sealed, h.now())
	if err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "user logged in", "openid", s.OpenID, "isNew", isNew)
	return fn.OK(loginResponse{Token: token, ExpiresAt: exp.UTC(), OpenID: s.OpenID, UnionID: s.UnionID, IsNew: isNew})
}

func (h *handler) users(ctx context.Context) (*users, error) {
	db, err := h.deps.DB(ctx)
	if err != nil {
		return nil, err
	}
	return newUsers(ctx, db)
}
