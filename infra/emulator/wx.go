package emulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// wxHost is api.weixin.qq.com. Like the real host, it answers business errors with HTTP 200 and an
// errcode body, and reads GET parameters from the query whatever the method.
func (e *Emulator) wxHost() *host {
	return &host{
		prefix: WXPrefix,
		routes: map[string]http.HandlerFunc{
			"/cgi-bin/token":                      e.wxRoute(e.wxToken),
			"/cgi-bin/stable_token":               e.wxRoute(e.wxStableToken),
			"/sns/jscode2session":                 e.wxRoute(e.wxCode2Session),
			"/wxa/business/getuserphonenumber":    e.wxRoute(e.wxPhoneNumber),
			"/wxa/checksession":                   e.wxRoute(e.wxCheckSession),
			"/wxa/sec/order/upload_shipping_info": e.wxRoute(e.wxUploadShipping),
		},
		fault: renderWXFault,
		notFound: func(w http.ResponseWriter, r *http.Request) {
			// Not a WeChat behaviour (it has no such API either way): a 404 makes a typo in a
			// function's URL obvious instead of looking like a business error.
			writeWXError(w, http.StatusNotFound, &wxError{code: 404, msg: "emulator: api.weixin.qq.com" +
				r.URL.Path[len(WXPrefix):] + " is not emulated"}, e.now())
		},
	}
}

// renderWXFault answers an injected fault: the errcode body (HTTP 200 unless a status is given),
// or a bare HTTP status such as a gateway error.
func renderWXFault(w http.ResponseWriter, f Fault, now time.Time) {
	status := f.HTTPStatus
	if status == 0 {
		status = http.StatusOK
	}
	if f.Errcode == 0 {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(status) + " " + http.StatusText(status) + "</h1></body></html>\n"))
		return
	}
	writeWXError(w, status, &wxError{code: f.Errcode, msg: f.Errmsg}, now)
}

// wxFunc is one api.weixin.qq.com endpoint: it returns the success body or a business error.
// Handlers hold no lock; they take Emulator.mu around state access.
type wxFunc func(r *http.Request, body []byte, now time.Time) (any, *wxError)

// wxRoute adapts a wxFunc: it reads the bounded body and writes the answer with WeChat's conventions.
func (e *Emulator) wxRoute(f wxFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := e.now()
		body, err := readBody(w, r)
		if err != nil {
			writeWXError(w, http.StatusOK, &wxError{code: ErrcodeBadJSON, msg: "data format error, body too large or unreadable"}, now)
			return
		}
		v, werr := f(r, body, now)
		if werr != nil {
			e.log.Debug("emulator: wx error", "path", r.URL.Path, "errcode", werr.code)
			writeWXError(w, http.StatusOK, werr, now)
			return
		}
		writeWX(w, http.StatusOK, v)
	}
}

// decodeWXBody decodes a JSON POST body the way WeChat rejects bad ones: 44002 when empty, 47001
// when not JSON.
func decodeWXBody(body []byte, v any) *wxError {
	if len(bytes.TrimSpace(body)) == 0 {
		return wxErr(ErrcodeEmptyPostData)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return wxErr(ErrcodeBadJSON)
	}
	return nil
}

// checkApp authenticates appid and secret as the token and login calls do. The secret comparison
// is constant-time: the emulator is a model for code that handles real secrets.
func (e *Emulator) checkApp(appid, secret string) *wxError {
	if appid == "" {
		return wxErr(ErrcodeMissingAppID)
	}
	a, ok := e.apps[appid]
	if !ok {
		return wxErr(ErrcodeInvalidAppID)
	}
	if secret == "" {
		return wxErr(ErrcodeMissingSecret)
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(a.Secret)) != 1 {
		return wxErr(ErrcodeInvalidAppSecret)
	}
	return nil
}

// wxToken is GET /cgi-bin/token: every call issues a new token.
func (e *Emulator) wxToken(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	if err := e.checkApp(q.Get("appid"), q.Get("secret")); err != nil {
		return nil, err
	}
	if q.Get("grant_type") != "client_credential" {
		return nil, wxErr(ErrcodeInvalidGrantType)
	}
	e.mu.Lock()
	tok := e.wx.issueToken(q.Get("appid"), now)
	e.mu.Unlock()
	return tokenResponse{AccessToken: tok, ExpiresIn: int64(tokenTTL / time.Second)}, nil
}

// wxStableToken is POST /cgi-bin/stable_token.
func (e *Emulator) wxStableToken(_ *http.Request, body []byte, now time.Time) (any, *wxError) {
	var req stableTokenRequest
	if err := decodeWXBody(body, &req); err != nil {
		return nil, err
	}
	if err := e.checkApp(req.AppID, req.Secret); err != nil {
		return nil, err
	}
	if req.GrantType != "client_credential" {
		return nil, wxErr(ErrcodeInvalidGrantType)
	}
	e.mu.Lock()
	tok, ttl, werr := e.wx.stableToken(req.AppID, req.ForceRefresh, now)
	e.mu.Unlock()
	if werr != nil {
		return nil, werr
	}
	return tokenResponse{AccessToken: tok, ExpiresIn: int64(ttl / time.Second)}, nil
}

// wxCode2Session is GET /sns/jscode2session: a wx.login code is single-use, valid codeTTL, and
// only for the app it was minted for.
func (e *Emulator) wxCode2Session(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	appid := q.Get("appid")
	if err := e.checkApp(appid, q.Get("secret")); err != nil {
		return nil, err
	}
	if q.Get("grant_type") != "authorization_code" {
		return nil, wxErr(ErrcodeInvalidGrantType)
	}
	code := q.Get("js_code")
	if code == "" {
		return nil, wxErr(ErrcodeMissingCode)
	}
	e.mu.Lock()
	c, werr := e.wx.exchangeCode(appid, code, now)
	e.mu.Unlock()
	if werr != nil {
		return nil, werr
	}
	return code2SessionResponse{OpenID: c.openid, SessionKey: c.sessionKey, UnionID: c.unionid}, nil
}

// tokenApp validates the access_token query parameter and returns its app.
func (e *Emulator) tokenApp(q url.Values, now time.Time) (string, *wxError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.wx.checkToken(q.Get("access_token"), now)
}

// wxPhoneNumber is POST /wxa/business/getuserphonenumber?access_token=…
func (e *Emulator) wxPhoneNumber(r *http.Request, body []byte, now time.Time) (any, *wxError) {
	appid, werr := e.tokenApp(r.URL.Query(), now)
	if werr != nil {
		return nil, werr
	}
	var req phoneNumberRequest
	if err := decodeWXBody(body, &req); err != nil {
		return nil, err
	}
	if req.Code == "" {
		return nil, wxErr(ErrcodeMissingCode)
	}
	e.mu.Lock()
	c, werr := e.wx.exchangePhoneCode(appid, req.Code, now)
	e.mu.Unlock()
	if werr != nil {
		return nil, werr
	}
	return phoneNumberResponse{Errcode: 0, Errmsg: "ok", PhoneInfo: phoneInfo{
		PhoneNumber:     c.phoneNumber,
		PurePhoneNumber: c.purePhoneNumber,
		CountryCode:     c.country,
		Watermark:       watermark{Timestamp: now.Unix(), AppID: appid},
	}}, nil
}

// wxCheckSession is GET /wxa/checksession: the signature must be hex(HMAC-SHA256(key = the user's
// newest session_key string, message = "")).
func (e *Emulator) wxCheckSession(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	appid, werr := e.tokenApp(q, now)
	if werr != nil {
		return nil, werr
	}
	openid := q.Get("openid")
	e.mu.Lock()
	u := e.wx.users[userKey{appid, openid}]
	var key string
	if u != nil {
		key = u.sessionKey
	}
	e.mu.Unlock()
	if u == nil {
		return nil, wxErr(ErrcodeInvalidOpenID)
	}
	if q.Get("sig_method") != "hmac_sha256" {
		return nil, wxErr(ErrcodeInvalidSignature)
	}
	want := sessionSignature(key)
	got := q.Get("signature")
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, wxErr(ErrcodeInvalidSignature)
	}
	return okResponse{Errcode: 0, Errmsg: "ok"}, nil
}

// sessionSignature is the user-state signature of an empty message under sessionKey (the key's
// text, not its decoded bytes).
func sessionSignature(sessionKey string) string {
	m := hmac.New(sha256.New, []byte(sessionKey))
	return hex.EncodeToString(m.Sum(nil))
}
