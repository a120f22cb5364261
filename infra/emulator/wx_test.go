package emulator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/credential"
)

// credentialToken fetches an ordinary token with the SDK's fetcher (no cache), so that a test
// controls exactly when tokens are issued.
func credentialToken(appid, secret string) (string, error) {
	u := fmt.Sprintf("https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=%s&secret=%s", appid, secret)
	res, err := credential.GetTokenFromServerContext(context.Background(), u)
	return res.AccessToken, err
}

// accepted is what tokenState answers for a token the emulator accepts: checksession got past the
// token and refused the made-up openid.
const accepted = ErrcodeInvalidOpenID

// tokenState asks the emulator about tok through a token-checked API (checksession of an unknown
// user): accepted, or the token's error.
func tokenState(t *testing.T, appid, tok string) int {
	t.Helper()
	return errcodeOf(miniWithToken(appid, tok).GetAuth().CheckSession("00", "o-nobody"))
}

func TestCode2Session(t *testing.T) {
	fresh(t)
	auth := mini(appA, secretA, false).GetAuth()

	minted, err := emu.MintCode(CodeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if minted.AppID != appA {
		t.Errorf("default app = %s, want the first configured, %s", minted.AppID, appA)
	}
	if !regexp.MustCompile(`^o[A-Za-z0-9_-]{27}$`).MatchString(minted.OpenID) {
		t.Errorf("openid %q is not shaped like a real one", minted.OpenID)
	}
	if k, err := base64.StdEncoding.DecodeString(minted.SessionKey); err != nil || len(k) != 16 {
		t.Errorf("session key %q is not 16 bytes of base64", minted.SessionKey)
	}
	res, err := auth.Code2Session(minted.Code)
	if err != nil {
		t.Fatalf("Code2Session: %v", err)
	}
	if res.OpenID != minted.OpenID || res.SessionKey != minted.SessionKey || res.UnionID != minted.UnionID || res.UnionID == "" {
		t.Errorf("Code2Session = %+v, want the minted user %+v", res, minted)
	}

	// A code is single-use.
	if _, err := auth.Code2Session(minted.Code); errcodeOf(err) != ErrcodeInvalidCode {
		t.Errorf("reused code: err = %v, want errcode 40029", err)
	}

	// A code lives five minutes.
	fresh(t)
	live, _ := emu.MintCode(CodeRequest{})
	dead, _ := emu.MintCode(CodeRequest{})
	clock.advance(5*time.Minute - time.Second)
	if _, err := auth.Code2Session(live.Code); err != nil {
		t.Errorf("code 1 s before expiry: %v", err)
	}
	clock.advance(time.Second)
	if _, err := auth.Code2Session(dead.Code); errcodeOf(err) != ErrcodeInvalidCode {
		t.Errorf("expired code: err = %v, want errcode 40029", err)
	}

	if _, err := auth.Code2Session("0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"); errcodeOf(err) != ErrcodeInvalidCode {
		t.Errorf("unknown code: err = %v, want errcode 40029", err)
	}

	// A code only works for the app it was minted for, and trying it elsewhere does not burn it.
	other, _ := emu.MintCode(CodeRequest{AppID: appB})
	if _, err := auth.Code2Session(other.Code); errcodeOf(err) != ErrcodeInvalidCode {
		t.Errorf("code of another app: err = %v, want errcode 40029", err)
	}
	if _, err := mini(appB, secretB, false).GetAuth().Code2Session(other.Code); err != nil {
		t.Errorf("code in its own app after a wrong-app attempt: %v", err)
	}

	// Wrong credentials are refused before the code is looked at, and do not consume it.
	c, _ := emu.MintCode(CodeRequest{})
	if _, err := mini(appA, secretB, false).GetAuth().Code2Session(c.Code); errcodeOf(err) != ErrcodeInvalidAppSecret {
		t.Errorf("wrong secret: err = %v, want errcode 40125", err)
	}
	if _, err := mini("wx9999999999999999", secretA, false).GetAuth().Code2Session(c.Code); errcodeOf(err) != ErrcodeInvalidAppID {
		t.Errorf("unknown appid: err = %v, want errcode 40013", err)
	}
	if _, err := auth.Code2Session(c.Code); err != nil {
		t.Errorf("code after refused attempts: %v", err)
	}
}

func TestCode2SessionParameters(t *testing.T) {
	fresh(t)
	c, _ := emu.MintCode(CodeRequest{})
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return WXPrefix + "/sns/jscode2session?" + v.Encode()
	}
	cases := []struct {
		name string
		path string
		want int
	}{
		{"missing js_code", q("appid", appA, "secret", secretA, "grant_type", "authorization_code"), ErrcodeMissingCode},
		{"bad grant_type", q("appid", appA, "secret", secretA, "js_code", c.Code, "grant_type", "client_credential"), ErrcodeInvalidGrantType},
		{"missing appid", q("secret", secretA, "js_code", c.Code, "grant_type", "authorization_code"), ErrcodeMissingAppID},
		{"missing secret", q("appid", appA, "js_code", c.Code, "grant_type", "authorization_code"), ErrcodeMissingSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, m := call(t, http.MethodGet, tc.path, nil)
			if status != http.StatusOK || errcodeIn(m) != tc.want {
				t.Errorf("status %d, body %v; want 200 with errcode %d", status, m, tc.want)
			}
		})
	}
	// None of the refusals consumed the code.
	if _, err := mini(appA, secretA, false).GetAuth().Code2Session(c.Code); err != nil {
		t.Errorf("code after refused calls: %v", err)
	}
}

func TestErrorsCarryRid(t *testing.T) {
	fresh(t)
	_, raw := callRaw(t, http.MethodGet, WXPrefix+"/sns/jscode2session?appid="+appA+"&secret="+secretA+"&grant_type=authorization_code&js_code=nope", nil)
	want := regexp.MustCompile(`^\{"errcode":40029,"errmsg":"invalid code rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}"\}$`)
	if !want.Match(raw) {
		t.Errorf("error body %s does not match %s", raw, want)
	}
}

func TestUserContinuity(t *testing.T) {
	fresh(t)
	first := mintCode(t, CodeRequest{})
	again := mintCode(t, CodeRequest{OpenID: first.OpenID})
	if again.UnionID != first.UnionID {
		t.Errorf("unionid changed across codes: %s then %s", first.UnionID, again.UnionID)
	}
	if again.SessionKey == first.SessionKey {
		t.Error("a new code did not rotate the session key")
	}
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	pinned := mintCode(t, CodeRequest{OpenID: first.OpenID, SessionKey: key})
	if pinned.SessionKey != key {
		t.Errorf("session key = %s, want the requested %s", pinned.SessionKey, key)
	}

	// An older code still answers the key it was minted with (which checksession no longer accepts).
	res, err := mini(appA, secretA, false).GetAuth().Code2Session(first.Code)
	if err != nil || res.SessionKey != first.SessionKey {
		t.Errorf("older code: %+v, %v; want its own session key", res, err)
	}

	// A user minted with an explicit empty unionid has none, and jscode2session omits the field.
	empty := ""
	nou := mintCode(t, CodeRequest{UnionID: &empty})
	if nou.UnionID != "" {
		t.Errorf("unionid = %q, want none", nou.UnionID)
	}
	status, raw := callRaw(t, http.MethodGet, WXPrefix+"/sns/jscode2session?appid="+appA+"&secret="+secretA+"&grant_type=authorization_code&js_code="+nou.Code, nil)
	if status != http.StatusOK || regexp.MustCompile(`unionid|errcode`).Match(raw) {
		t.Errorf("jscode2session for a user without unionid: %d %s", status, raw)
	}

	// A user keeps its unionid: asking for another one is a conflict and changes nothing.
	other := "oOtherUnionIdOtherUnionId123"
	if _, err := emu.MintCode(CodeRequest{OpenID: first.OpenID, UnionID: &other}); err == nil {
		t.Error("a different unionid for an existing user was accepted")
	}
	if c := mintCode(t, CodeRequest{OpenID: first.OpenID}); c.UnionID != first.UnionID {
		t.Errorf("unionid after refused change = %s, want %s", c.UnionID, first.UnionID)
	}
}

func TestOrdinaryTokenRotation(t *testing.T) {
	fresh(t)
	_, raw := callRaw(t, http.MethodGet, WXPrefix+"/cgi-bin/token?grant_type=client_credential&appid="+appA+"&secret="+secretA, nil)
	if !regexp.MustCompile(`^\{"access_token":"[A-Za-z0-9_-]{100,}","expires_in":7200\}$`).Match(raw) {
		t.Errorf("token body %s is not WeChat's shape", raw)
	}
	fresh(t)
	t1 := token(t, appA, secretA)
	clock.advance(time.Minute)
	t2 := token(t, appA, secretA)
	if t2 == t1 {
		t.Fatal("a second token call returned the same token")
	}
	if got := tokenState(t, appA, t1); got != accepted {
		t.Errorf("superseded token within the grace period: errcode %d, want it accepted", got)
	}
	clock.advance(5*time.Minute - time.Second)
	if got := tokenState(t, appA, t1); got != accepted {
		t.Errorf("superseded token 1 s before the end of its grace: errcode %d, want it accepted", got)
	}
	clock.advance(time.Second)
	if got := tokenState(t, appA, t1); got != ErrcodeInvalidCredential {
		t.Errorf("superseded token after its grace: errcode %d, want 40001", got)
	}
	if got := tokenState(t, appA, t2); got != accepted {
		t.Errorf("newest token: errcode %d, want it accepted", got)
	}
	clock.advance(7200 * time.Second)
	if got := tokenState(t, appA, t2); got != ErrcodeTokenExpired {
		t.Errorf("token past expires_in: errcode %d, want 42001", got)
	}

	// Tokens are per app: a new token of app B leaves app A's alone.
	fresh(t)
	a := token(t, appA, secretA)
	token(t, appB, secretB)
	clock.advance(5 * time.Minute)
	if got := tokenState(t, appA, a); got != accepted {
		t.Errorf("app A's token after app B rotated: errcode %d, want it accepted", got)
	}
}

func TestTokenErrors(t *testing.T) {
	fresh(t)
	cases := []struct {
		name   string
		appid  string
		secret string
		want   int
	}{
		{"unknown appid", "wx9999999999999999", secretA, ErrcodeInvalidAppID},
		{"wrong secret", appA, secretB, ErrcodeInvalidAppSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := credentialToken(tc.appid, tc.secret); errcodeOf(err) != tc.want {
				t.Errorf("err = %v, want errcode %d", err, tc.want)
			}
		})
	}
	status, m := call(t, http.MethodGet, WXPrefix+"/cgi-bin/token?grant_type=password&appid="+appA+"&secret="+secretA, nil)
	if status != http.StatusOK || errcodeIn(m) != ErrcodeInvalidGrantType {
		t.Errorf("bad grant_type: %d %v, want 200 with errcode 40002", status, m)
	}
	if n := emu.CallCount("/cgi-bin/token"); n != 3 {
		t.Errorf("token calls = %d, want 3", n)
	}
	emu.mu.Lock()
	issued := len(emu.wx.tokens)
	emu.mu.Unlock()
	if issued != 0 {
		t.Errorf("refused token calls issued %d tokens", issued)
	}
}

func TestStableToken(t *testing.T) {
	fresh(t)
	m := mini(appA, secretA, true)
	ak := m.GetContext().AccessTokenContextHandle.(*credential.StableAccessToken)
	ctx := context.Background()

	r1, err := ak.GetAccessTokenDirectly(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(10 * time.Minute)
	r2, err := ak.GetAccessTokenDirectly(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if r1.AccessToken != r2.AccessToken {
		t.Error("normal mode returned a different token while the first was valid")
	}
	if r1.ExpiresIn != 7200 || r2.ExpiresIn != 7200-600 {
		t.Errorf("expires_in = %d then %d, want 7200 then the remaining 6600", r1.ExpiresIn, r2.ExpiresIn)
	}

	// Stable and ordinary tokens are separate: issuing ordinary ones never touches the stable one.
	token(t, appA, secretA)
	token(t, appA, secretA)
	clock.advance(5 * time.Minute)
	if got := tokenState(t, appA, r1.AccessToken); got != accepted {
		t.Errorf("stable token after ordinary rotations: errcode %d, want it accepted", got)
	}

	// force_refresh issues a new token and kills the previous one at once.
	r3, err := ak.GetAccessTokenDirectly(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if r3.AccessToken == r1.AccessToken {
		t.Fatal("force_refresh returned the same token")
	}
	if got := tokenState(t, appA, r1.AccessToken); got != ErrcodeInvalidCredential {
		t.Errorf("stable token after force_refresh: errcode %d, want 40001", got)
	}
	if got := tokenState(t, appA, r3.AccessToken); got != accepted {
		t.Errorf("force-refreshed token: errcode %d, want it accepted", got)
	}
	// Normal mode now answers the new one.
	if r, err := ak.GetAccessTokenDirectly(ctx, false); err != nil || r.AccessToken != r3.AccessToken {
		t.Errorf("normal mode after force_refresh: %v, %v; want the new token", r.AccessToken, err)
	}
	// At most one force_refresh per 30 s.
	clock.advance(30*time.Second - time.Second)
	if _, err := ak.GetAccessTokenDirectly(ctx, true); errcodeOf(err) != ErrcodeRateLimit {
		t.Errorf("force_refresh within 30 s: err = %v, want errcode 45011", err)
	}
	clock.advance(time.Second)
	if _, err := ak.GetAccessTokenDirectly(ctx, true); err != nil {
		t.Errorf("force_refresh after 30 s: %v", err)
	}

	// Within five minutes of expiry, normal mode renews; the old token lives out its own lifetime.
	fresh(t)
	old, _ := ak.GetAccessTokenDirectly(ctx, false)
	clock.advance(7200*time.Second - 5*time.Minute)
	renewed, err := ak.GetAccessTokenDirectly(ctx, false)
	if err != nil || renewed.AccessToken == old.AccessToken || renewed.ExpiresIn != 7200 {
		t.Errorf("normal mode near expiry: %+v, %v; want a fresh token", renewed, err)
	}
	if got := tokenState(t, appA, old.AccessToken); got != accepted {
		t.Errorf("old stable token before its expiry: errcode %d, want it accepted", got)
	}
	clock.advance(5 * time.Minute)
	if got := tokenState(t, appA, old.AccessToken); got != ErrcodeTokenExpired {
		t.Errorf("old stable token after its expiry: errcode %d, want 42001", got)
	}

	// The SDK's cached path works unchanged and calls once.
	fresh(t)
	for range 3 {
		if _, err := m.GetContext().GetAccessToken(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mini(appA, secretB, true).GetContext().GetAccessToken(); errcodeOf(err) != ErrcodeInvalidAppSecret {
		t.Errorf("stable token with a wrong secret: err = %v, want errcode 40125", err)
	}
	if n := emu.CallCount("/cgi-bin/stable_token"); n != 2 {
		t.Errorf("stable_token calls = %d, want 2 (one per SDK cache)", n)
	}
}

func TestStableTokenBody(t *testing.T) {
	fresh(t)
	cases := []struct {
		name string
		body any
		want int
	}{
		{"empty body", "", ErrcodeEmptyPostData},
		{"not JSON", "grant_type=client_credential", ErrcodeBadJSON},
		{"bad grant_type", stableTokenRequest{GrantType: "x", AppID: appA, Secret: secretA}, ErrcodeInvalidGrantType},
		{"missing appid", stableTokenRequest{GrantType: "client_credential", Secret: secretA}, ErrcodeMissingAppID},
		{"wrong secret", stableTokenRequest{GrantType: "client_credential", AppID: appA, Secret: "x"}, ErrcodeInvalidAppSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, m := call(t, http.MethodPost, WXPrefix+"/cgi-bin/stable_token", tc.body)
			if status != http.StatusOK || errcodeIn(m) != tc.want {
				t.Errorf("%d %v, want 200 with errcode %d", status, m, tc.want)
			}
		})
	}
}

func TestGetPhoneNumber(t *testing.T) {
	fresh(t)
	m := mini(appA, secretA, false)
	cases := []struct {
		req                    PhoneCodeRequest
		phone, pure, countryCC string
	}{
		{PhoneCodeRequest{PhoneNumber: "13800138000"}, "13800138000", "13800138000", "86"},
		{PhoneCodeRequest{PhoneNumber: "+8613900139000"}, "13900139000", "13900139000", "86"},
		{PhoneCodeRequest{PhoneNumber: "+85261234567", CountryCode: "852"}, "+85261234567", "61234567", "852"},
		{PhoneCodeRequest{PhoneNumber: "2025550123", CountryCode: "1"}, "+12025550123", "2025550123", "1"},
	}
	for _, tc := range cases {
		pc, err := emu.MintPhoneCode(tc.req)
		if err != nil {
			t.Fatalf("mint %+v: %v", tc.req, err)
		}
		clock.advance(time.Second)
		res, err := m.GetAuth().GetPhoneNumber(pc.Code)
		if err != nil {
			t.Fatalf("GetPhoneNumber(%+v): %v", tc.req, err)
		}
		pi := res.PhoneInfo
		if pi.PhoneNumber != tc.phone || pi.PurePhoneNumber != tc.pure || pi.CountryCode != tc.countryCC {
			t.Errorf("%+v: phone info %+v, want %s/%s/%s", tc.req, pi, tc.phone, tc.pure, tc.countryCC)
		}
		if pi.WaterMark.AppID != appA || pi.WaterMark.Timestamp != clock.Now().Unix() {
			t.Errorf("watermark %+v, want %s at %d", pi.WaterMark, appA, clock.Now().Unix())
		}
		if res.ErrCode != 0 || res.ErrMsg != "ok" {
			t.Errorf("errcode/errmsg = %d/%q, want 0/ok", res.ErrCode, res.ErrMsg)
		}
		// Single use.
		if _, err := m.GetAuth().GetPhoneNumber(pc.Code); errcodeOf(err) != ErrcodeInvalidCode {
			t.Errorf("reused phone code: err = %v, want errcode 40029", err)
		}
	}
	// The SDK fetched one token for all of the above.
	if n := emu.CallCount("/cgi-bin/token"); n != 1 {
		t.Errorf("token calls = %d, want exactly 1", n)
	}

	expired, _ := emu.MintPhoneCode(PhoneCodeRequest{PhoneNumber: "13800138000"})
	foreign, _ := emu.MintPhoneCode(PhoneCodeRequest{PhoneNumber: "13800138000", AppID: appB})
	clock.advance(5 * time.Minute)
	if _, err := m.GetAuth().GetPhoneNumber(expired.Code); errcodeOf(err) != ErrcodeInvalidCode {
		t.Errorf("expired phone code: err = %v, want errcode 40029", err)
	}
	clock.advance(-5 * time.Minute)
	if _, err := m.GetAuth().GetPhoneNumber(foreign.Code); errcodeOf(err) != ErrcodeInvalidCode {
		t.Errorf("phone code of another app: err = %v, want errcode 40029", err)
	}
	if _, err := m.GetAuth().GetPhoneNumber("not-a-code"); errcodeOf(err) != ErrcodeInvalidCode {
		t.Errorf("unknown phone code: err = %v, want errcode 40029", err)
	}
}

func TestAccessTokenChecks(t *testing.T) {
	fresh(t)
	pc, _ := emu.MintPhoneCode(PhoneCodeRequest{PhoneNumber: "13800138000"})
	tok := token(t, appA, secretA)
	path := WXPrefix + "/wxa/business/getuserphonenumber"
	body := phoneNumberRequest{Code: pc.Code}

	cases := []struct {
		name  string
		query string
		body  any
		want  int
	}{
		{"missing token", "", body, ErrcodeMissingToken},
		{"unknown token", "?access_token=86_forged", body, ErrcodeInvalidCredential},
		{"empty body", "?access_token=" + tok, "", ErrcodeEmptyPostData},
		{"not JSON", "?access_token=" + tok, "code=" + pc.Code, ErrcodeBadJSON},
		{"missing code", "?access_token=" + tok, map[string]string{}, ErrcodeMissingCode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, m := call(t, http.MethodPost, path+tc.query, tc.body)
			if status != http.StatusOK || errcodeIn(m) != tc.want {
				t.Errorf("%d %v, want 200 with errcode %d", status, m, tc.want)
			}
		})
	}
	clock.advance(7200 * time.Second)
	if _, err := miniWithToken(appA, tok).GetAuth().GetPhoneNumber(pc.Code); errcodeOf(err) != ErrcodeTokenExpired {
		t.Errorf("expired token: err = %v, want errcode 42001", err)
	}
	// None of the refused calls consumed the phone code.
	clock.set(start)
	if _, err := miniWithToken(appA, tok).GetAuth().GetPhoneNumber(pc.Code); err != nil {
		t.Errorf("phone code after refused calls: %v", err)
	}
	// A token only opens its own app: app B's phone codes are not app A's.
	pcB, _ := emu.MintPhoneCode(PhoneCodeRequest{PhoneNumber: "13800138000", AppID: appB})
	tokB := token(t, appB, secretB)
	if res, err := miniWithToken(appB, tokB).GetAuth().GetPhoneNumber(pcB.Code); err != nil || res.PhoneInfo.WaterMark.AppID != appB {
		t.Errorf("app B's phone code with app B's token: %+v, %v", res, err)
	}
}

func TestCheckSession(t *testing.T) {
	fresh(t)
	m := mini(appA, secretA, false)
	u := mintCode(t, CodeRequest{})
	sig := func(key string) string {
		h := hmac.New(sha256.New, []byte(key))
		return hex.EncodeToString(h.Sum(nil))
	}
	if err := m.GetAuth().CheckSession(sig(u.SessionKey), u.OpenID); err != nil {
		t.Errorf("CheckSession with the right signature: %v", err)
	}
	// The key is the base64 text, not its bytes (a classic mistake, which must fail).
	raw, _ := base64.StdEncoding.DecodeString(u.SessionKey)
	if err := m.GetAuth().CheckSession(sig(string(raw)), u.OpenID); errcodeOf(err) != ErrcodeInvalidSignature {
		t.Errorf("signature keyed by the decoded bytes: err = %v, want 87009", err)
	}
	// A new login rotates the key: the old signature no longer checks.
	next := mintCode(t, CodeRequest{OpenID: u.OpenID})
	if err := m.GetAuth().CheckSession(sig(u.SessionKey), u.OpenID); errcodeOf(err) != ErrcodeInvalidSignature {
		t.Errorf("signature of a rotated key: err = %v, want 87009", err)
	}
	if err := m.GetAuth().CheckSession(sig(next.SessionKey), u.OpenID); err != nil {
		t.Errorf("signature of the newest key: %v", err)
	}
	if err := m.GetAuth().CheckSession(sig(next.SessionKey), "oUnknownUnknownUnknownUnknown"); errcodeOf(err) != ErrcodeInvalidOpenID {
		t.Errorf("unknown openid: err = %v, want 40003", err)
	}
	// Users are per app: app B does not know app A's openid.
	if err := mini(appB, secretB, false).GetAuth().CheckSession(sig(next.SessionKey), u.OpenID); errcodeOf(err) != ErrcodeInvalidOpenID {
		t.Errorf("openid of another app: err = %v, want 40003", err)
	}
	status, body := call(t, http.MethodGet, WXPrefix+"/wxa/checksession?openid="+u.OpenID+"&signature="+sig(next.SessionKey)+"&sig_method=hmac_sha256", nil)
	if status != http.StatusOK || errcodeIn(body) != ErrcodeMissingToken {
		t.Errorf("without access_token: %d %v, want errcode 41001", status, body)
	}
}

func TestUnknownWXPath(t *testing.T) {
	fresh(t)
	status, m := call(t, http.MethodGet, WXPrefix+"/cgi-bin/no_such_api", nil)
	if status != http.StatusNotFound || errcodeIn(m) == 0 {
		t.Errorf("unknown API: %d %v, want 404 with an errcode body", status, m)
	}
}

// TestCodeSingleUseUnderConcurrency races many exchanges of one code: exactly one may win, as
// with a double-submitting client against real WeChat.
func TestCodeSingleUseUnderConcurrency(t *testing.T) {
	fresh(t)
	c, _ := emu.MintCode(CodeRequest{})
	auth := mini(appA, secretA, false).GetAuth()
	const n = 16
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := auth.Code2Session(c.Code)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch errcodeOf(err) {
		case 0:
			wins++
		case ErrcodeInvalidCode:
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d exchanges of one code succeeded, want exactly 1", wins)
	}
}
