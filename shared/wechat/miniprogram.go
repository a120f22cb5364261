package wechat

import (
	"context"
	"fmt"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram/auth"
	mpconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	mpcontext "github.com/silenceper/wechat/v2/miniprogram/context"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/wxtoken"
)

// MiniProgram is the mini-program API as the functions use it.
type MiniProgram struct {
	appID  string
	sdk    *mpcontext.Context
	auth   *auth.Auth
	handle *credential.StableAccessToken
	tokens *wxtoken.Cache
	key    string
}

// NewMiniProgram builds a client that shares its access token through tokens. It makes no call.
func NewMiniProgram(cfg config.MiniProgram, tokens *wxtoken.Cache) *MiniProgram {
	UseEndpoint(config.DefaultWXAPIBase, cfg.APIBase)
	// The stable token: instances calling it in normal mode get the same token and never
	// invalidate one another (reference §1.2), and the shared cache saves the calls.
	handle := credential.NewStableAccessToken(cfg.AppID, cfg.Secret, credential.CacheKeyMiniProgramPrefix, tokens).(*credential.StableAccessToken)
	// The SDK's sub-APIs share one context; building only the ones we use (rather than the
	// miniprogram root package, which links every API it has) keeps binaries small and cold
	// starts short.
	sdk := &mpcontext.Context{
		Config:                   &mpconfig.Config{AppID: cfg.AppID, AppSecret: cfg.Secret, Cache: tokens, UseStableAK: true},
		AccessTokenContextHandle: handle,
	}
	return &MiniProgram{
		appID:  cfg.AppID,
		sdk:    sdk,
		auth:   auth.NewAuth(sdk),
		handle: handle,
		tokens: tokens,
		key:    fmt.Sprintf("%s_stable_access_token_%s", credential.CacheKeyMiniProgramPrefix, cfg.AppID),
	}
}

// AppID is the mini-program's appid.
func (m *MiniProgram) AppID() string { return m.appID }

// Session is what jscode2session answers.
type Session struct {
	OpenID     string
	UnionID    string
	SessionKey string
}

// Code2Session exchanges a wx.login code. It needs no access token.
func (m *MiniProgram) Code2Session(ctx context.Context, code string) (Session, error) {
	r, err := m.auth.Code2SessionContext(ctx, code)
	if err != nil {
		return Session{}, classify("jscode2session", err)
	}
	if r.OpenID == "" || r.SessionKey == "" {
		return Session{}, &TransportError{Op: "jscode2session", Err: fmt.Errorf("answer without openid or session_key")}
	}
	return Session{OpenID: r.OpenID, UnionID: r.UnionID, SessionKey: r.SessionKey}, nil
}

// Phone is a user's phone number as getuserphonenumber answers it.
type Phone struct {
	PhoneNumber     string `json:"phoneNumber"`
	PurePhoneNumber string `json:"purePhoneNumber"`
	CountryCode     string `json:"countryCode"`
	WatermarkAppID  string `json:"-"`
}

// PhoneNumber exchanges a getPhoneNumber button code for the number.
func (m *MiniProgram) PhoneNumber(ctx context.Context, code string) (Phone, error) {
	var p Phone
	err := m.WithToken(ctx, "getuserphonenumber", func(ctx context.Context) error {
		r, err := m.auth.GetPhoneNumberContext(ctx, code)
		if err != nil {
			return err
		}
		p = Phone{PhoneNumber: r.PhoneInfo.PhoneNumber, PurePhoneNumber: r.PhoneInfo.PurePhoneNumber,
			CountryCode: r.PhoneInfo.CountryCode, WatermarkAppID: r.PhoneInfo.WaterMark.AppID}
		return nil
	})
	return p, err
}

// AccessToken returns the shared access token, fetching it if no instance has.
func (m *MiniProgram) AccessToken(ctx context.Context) (string, error) {
	t, err := m.handle.GetAccessTokenContext(ctx)
	if err != nil {
		return "", classify("stable_token", err)
	}
	return t, nil
}

// WithToken runs call, which uses the SDK's access token. When WeChat refuses the token
// (40001, 40014, 42001) it drops exactly that token from the shared cache, gets a fresh one
// and runs call once more. If stable_token's normal mode hands back the token WeChat just
// refused, it forces a refresh, which WeChat limits, so only then.
func (m *MiniProgram) WithToken(ctx context.Context, op string, call func(ctx context.Context) error) error {
	used, err := m.AccessToken(ctx)
	if err != nil {
		return err
	}
	err = classify(op, call(ctx))
	if !IsTokenRefused(err) {
		return err
	}
	if ierr := m.tokens.Invalidate(ctx, m.key, used); ierr != nil {
		return fmt.Errorf("wechat %s: %w", op, ierr)
	}
	fresh, terr := m.AccessToken(ctx)
	if terr != nil {
		return terr
	}
	if fresh == used {
		r, ferr := m.handle.GetAccessTokenDirectly(ctx, true)
		if ferr != nil {
			return classify("stable_token", ferr)
		}
		if serr := m.tokens.SetContext(ctx, m.key, r.AccessToken, ttl(r.ExpiresIn)); serr != nil {
			return fmt.Errorf("wechat %s: %w", op, serr)
		}
	}
	return classify(op, call(ctx))
}
