package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/miniprogram/encryptor"
)

func TestFaults(t *testing.T) {
	fresh(t)
	auth := mini(appA, secretA, false).GetAuth()
	c := mintCode(t, CodeRequest{})

	// Relative path, errcode answer, two calls.
	status, m := call(t, http.MethodPost, Prefix+"/faults", Fault{Path: "/sns/jscode2session", Count: 2, Errcode: ErrcodeBusy})
	if status != http.StatusCreated {
		t.Fatalf("inject: %d %v", status, m)
	}
	for i := range 2 {
		if _, err := auth.Code2Session(c.Code); errcodeOf(err) != ErrcodeBusy {
			t.Errorf("faulted call %d: err = %v, want errcode -1", i+1, err)
		}
	}
	// The faults are used up, and they did not consume the code.
	if _, err := auth.Code2Session(c.Code); err != nil {
		t.Errorf("call after the faults: %v", err)
	}
	if n := emu.CallCount("/sns/jscode2session"); n != 3 {
		t.Errorf("jscode2session calls = %d, want 3 (faulted calls count)", n)
	}

	// Full path, bare HTTP status, one call; the SDK sees a transport-level failure.
	if err := emu.InjectFault(Fault{Path: WXPrefix + "/cgi-bin/token", HTTPStatus: http.StatusBadGateway}); err != nil {
		t.Fatal(err)
	}
	if _, err := credentialToken(appA, secretA); err == nil || !strings.Contains(err.Error(), "statusCode=502") {
		t.Errorf("token under a 502 fault: err = %v, want the SDK's status error", err)
	}
	if _, err := credentialToken(appA, secretA); err != nil {
		t.Errorf("token after the fault: %v", err)
	}

	// errcode and errmsg together, on an access-token API; the listing shows what is left.
	mustFault(t, Fault{Path: "/wxa/business/getuserphonenumber", Count: 3, Errcode: ErrcodeRateLimit, Errmsg: "slow down"})
	mustFault(t, Fault{Path: "/cgi-bin/stable_token", Errcode: ErrcodeDailyQuota})
	_, raw := callRaw(t, http.MethodPost, WXPrefix+"/wxa/business/getuserphonenumber?access_token=x", `{"code":"x"}`)
	var eb errorResponse
	if err := json.Unmarshal(raw, &eb); err != nil || eb.Errcode != ErrcodeRateLimit || !strings.HasPrefix(eb.Errmsg, "slow down rid: ") {
		t.Errorf("faulted body %s, want errcode 45011 and the given errmsg with a rid", raw)
	}
	status, m = call(t, http.MethodGet, Prefix+"/faults", nil)
	var listed FaultsResponse
	remarshal(t, m, &listed)
	if status != http.StatusOK || len(listed.Faults) != 2 || listed.Faults[0].Count != 2 ||
		listed.Faults[0].Path != WXPrefix+"/wxa/business/getuserphonenumber" || listed.Faults[1].Errcode != ErrcodeDailyQuota {
		t.Errorf("pending faults: %d %+v", status, listed)
	}
	status, _ = call(t, http.MethodDelete, Prefix+"/faults", nil)
	if status != http.StatusOK || len(emu.Faults()) != 0 {
		t.Errorf("DELETE faults: status %d, %d left", status, len(emu.Faults()))
	}
	if _, err := mini(appA, secretA, true).GetContext().GetAccessToken(); err != nil {
		t.Errorf("stable token after clearing its fault: %v", err)
	}
}

func TestFaultValidation(t *testing.T) {
	fresh(t)
	cases := []struct {
		name string
		body any
	}{
		{"not JSON", "{path:"},
		{"empty", ""},
		{"unknown field", `{"path":"/cgi-bin/token","errcode":-1,"status":500}`},
		{"no path", Fault{Errcode: -1}},
		{"relative path without slash", Fault{Path: "cgi-bin/token", Errcode: -1}},
		{"not a host path", Fault{Path: Prefix + "/faults", Errcode: -1}},
		{"no effect", Fault{Path: "/cgi-bin/token"}},
		{"negative count", Fault{Path: "/cgi-bin/token", Count: -1, Errcode: -1}},
		{"success status", Fault{Path: "/cgi-bin/token", HTTPStatus: 200}},
		{"two values", `{"path":"/cgi-bin/token","errcode":-1} {}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, m := call(t, http.MethodPost, Prefix+"/faults", tc.body)
			assertControlError(t, status, m, http.StatusBadRequest, "bad_request")
			if n := len(emu.Faults()); n != 0 {
				t.Errorf("a refused fault left %d pending", n)
			}
		})
	}
}

func TestCalls(t *testing.T) {
	fresh(t)
	m := mini(appA, secretA, false)
	for range 2 {
		pc, _ := emu.MintPhoneCode(PhoneCodeRequest{PhoneNumber: "13800138000"})
		if _, err := m.GetAuth().GetPhoneNumber(pc.Code); err != nil {
			t.Fatal(err)
		}
	}
	status, body := call(t, http.MethodGet, WXPrefix+"/calls", nil)
	var got CallsResponse
	remarshal(t, body, &got)
	want := map[string]int{"/cgi-bin/token": 1, "/wxa/business/getuserphonenumber": 2}
	if status != http.StatusOK || len(got.Calls) != len(want) {
		t.Fatalf("calls: %d %v, want %v", status, got.Calls, want)
	}
	for k, v := range want {
		if got.Calls[k] != v {
			t.Errorf("calls[%s] = %d, want %d", k, got.Calls[k], v)
		}
	}
	// Control calls are not WeChat calls.
	if _, ok := emu.Calls()[WXPrefix+"/codes"]; ok {
		t.Error("a control call was counted as an API call")
	}
	if status, _ := call(t, http.MethodDelete, WXPrefix+"/calls", nil); status != http.StatusOK || len(emu.Calls()) != 0 {
		t.Errorf("DELETE calls: status %d, counts %v", status, emu.Calls())
	}
}

func TestEncrypt(t *testing.T) {
	fresh(t)
	u := mintCode(t, CodeRequest{})
	data := `{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","openId":"` + u.OpenID + `"}`
	status, raw := callRaw(t, http.MethodPost, WXPrefix+"/encrypt", `{"openid":"`+u.OpenID+`","data":`+data+`}`)
	if status != http.StatusCreated {
		t.Fatalf("encrypt: %d %s", status, raw)
	}
	var enc EncryptResponse
	if err := json.Unmarshal(raw, &enc); err != nil {
		t.Fatal(err)
	}
	dec := mini(appA, secretA, false).GetEncryptor()
	plain, err := dec.Decrypt(u.SessionKey, enc.EncryptedData, enc.IV)
	if err != nil {
		t.Fatalf("SDK decrypt: %v", err)
	}
	if plain.PhoneNumber != "13800138000" || plain.OpenID != u.OpenID || plain.CountryCode != "86" {
		t.Errorf("decrypted %+v, want the encrypted data", plain)
	}
	if plain.Watermark.AppID != appA || plain.Watermark.Timestamp != start.Unix() {
		t.Errorf("watermark %+v, want %s at %d", plain.Watermark, appA, start.Unix())
	}

	// A watermark for another app is caught by the SDK's check.
	wrong, err := emu.Encrypt(EncryptRequest{OpenID: u.OpenID, Data: json.RawMessage(data), WatermarkAppID: appB, Timestamp: 1700000000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decrypt(u.SessionKey, wrong.EncryptedData, wrong.IV); !errors.Is(err, encryptor.ErrAppIDNotMatch) {
		t.Errorf("decrypt of data watermarked for another app: err = %v, want ErrAppIDNotMatch", err)
	}
	cipherText, err := encryptor.GetCipherText(u.SessionKey, wrong.EncryptedData, wrong.IV)
	if err != nil || !strings.Contains(string(cipherText), `"watermark":{"timestamp":1700000000,"appid":"`+appB+`"}`) {
		t.Errorf("plaintext %s, %v; want the overridden watermark", cipherText, err)
	}

	// After a new login the data is encrypted with the new key; the old one fails, as in production.
	next := mintCode(t, CodeRequest{OpenID: u.OpenID})
	rotated, _ := emu.Encrypt(EncryptRequest{OpenID: u.OpenID, Data: json.RawMessage(data)})
	if _, err := dec.Decrypt(u.SessionKey, rotated.EncryptedData, rotated.IV); err == nil {
		t.Error("data encrypted after a key rotation decrypted with the old key")
	}
	if _, err := dec.Decrypt(next.SessionKey, rotated.EncryptedData, rotated.IV); err != nil {
		t.Errorf("decrypt with the newest key: %v", err)
	}
}

func TestControlBadInput(t *testing.T) {
	fresh(t)
	u := mintCode(t, CodeRequest{})
	cases := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"codes: not JSON", http.MethodPost, WXPrefix + "/codes", "{", 400, "bad_request"},
		{"codes: unknown field", http.MethodPost, WXPrefix + "/codes", `{"session_key":"x"}`, 400, "bad_request"},
		{"codes: bad session key", http.MethodPost, WXPrefix + "/codes", CodeRequest{SessionKey: "c2hvcnQ="}, 400, "bad_request"},
		{"codes: bad openid", http.MethodPost, WXPrefix + "/codes", CodeRequest{OpenID: "o/../x"}, 400, "bad_request"},
		{"codes: unknown app", http.MethodPost, WXPrefix + "/codes", CodeRequest{AppID: "wx0"}, 404, "unknown_app"},
		{"codes: GET", http.MethodGet, WXPrefix + "/codes", nil, 405, "method_not_allowed"},
		{"phone: empty", http.MethodPost, WXPrefix + "/phone-codes", "", 400, "bad_request"},
		{"phone: letters", http.MethodPost, WXPrefix + "/phone-codes", PhoneCodeRequest{PhoneNumber: "138abc"}, 400, "bad_request"},
		{"phone: short mainland", http.MethodPost, WXPrefix + "/phone-codes", PhoneCodeRequest{PhoneNumber: "1380013800"}, 400, "bad_request"},
		{"phone: + without country", http.MethodPost, WXPrefix + "/phone-codes", PhoneCodeRequest{PhoneNumber: "+85261234567"}, 400, "bad_request"},
		{"phone: prefix mismatch", http.MethodPost, WXPrefix + "/phone-codes", PhoneCodeRequest{PhoneNumber: "+85261234567", CountryCode: "853"}, 400, "bad_request"},
		{"encrypt: not an object", http.MethodPost, WXPrefix + "/encrypt", `{"openid":"` + u.OpenID + `","data":[1]}`, 400, "bad_request"},
		{"encrypt: no data", http.MethodPost, WXPrefix + "/encrypt", `{"openid":"` + u.OpenID + `"}`, 400, "bad_request"},
		{"encrypt: unknown user", http.MethodPost, WXPrefix + "/encrypt", `{"openid":"oNobody","data":{}}`, 404, "unknown_user"},
		{"reset: GET", http.MethodGet, Prefix + "/reset", nil, 405, "method_not_allowed"},
		{"unknown endpoint", http.MethodGet, Prefix + "/nothing", nil, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot()
			status, m := call(t, tc.method, tc.path, tc.body)
			assertControlError(t, status, m, tc.wantStatus, tc.wantCode)
			if after := snapshot(); after != before {
				t.Errorf("refused request changed the state: %+v → %+v", before, after)
			}
		})
	}
}

func TestIndexAndReset(t *testing.T) {
	fresh(t)
	status, m := call(t, http.MethodGet, Prefix+"/", nil)
	var idx IndexResponse
	remarshal(t, m, &idx)
	if status != http.StatusOK || len(idx.Apps) != 2 || idx.Apps[0] != appA || idx.Hosts["api.weixin.qq.com"] != WXPrefix {
		t.Errorf("index: %d %+v", status, idx)
	}
	if strings.Contains(mustJSON(t, m), secretA) {
		t.Error("the index exposes an app secret")
	}

	c := mintCode(t, CodeRequest{})
	token(t, appA, secretA)
	mustFault(t, Fault{Path: "/cgi-bin/token", Errcode: -1})
	if status, _ := callRaw(t, http.MethodPost, Prefix+"/reset", nil); status != http.StatusNoContent {
		t.Fatalf("reset: status %d", status)
	}
	if s := snapshot(); s != (stateSize{}) {
		t.Errorf("state after reset: %+v, want empty", s)
	}
	if _, err := mini(appA, secretA, false).GetAuth().Code2Session(c.Code); errcodeOf(err) != ErrcodeInvalidCode {
		t.Errorf("code minted before reset: err = %v, want 40029", err)
	}
}

func TestNewDefaultsAndPanics(t *testing.T) {
	e := New(Config{})
	c, err := e.MintCode(CodeRequest{})
	if err != nil || c.AppID != DefaultAppID {
		t.Errorf("default app: %+v, %v; want %s", c, err, DefaultAppID)
	}
	for _, cfg := range []Config{
		{Apps: []App{{AppID: "wx1"}}},
		{Apps: []App{{AppID: "wx1", Secret: "s"}, {AppID: "wx1", Secret: "t"}}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", cfg)
				}
			}()
			New(cfg)
		}()
	}
}

// stateSize counts what the emulator holds, to check that refused requests change nothing.
type stateSize struct {
	tokens, codes, phoneCodes, users, faults int
	sessionKeys                              string
}

func snapshot() stateSize {
	emu.mu.Lock()
	defer emu.mu.Unlock()
	s := stateSize{tokens: len(emu.wx.tokens), codes: len(emu.wx.codes), phoneCodes: len(emu.wx.phoneCodes),
		users: len(emu.wx.users), faults: len(emu.faults.pending)}
	keys := make([]string, 0, len(emu.wx.users))
	for _, u := range emu.wx.users {
		keys = append(keys, u.sessionKey)
	}
	slices.Sort(keys)
	s.sessionKeys = strings.Join(keys, ",")
	return s
}

func assertControlError(t *testing.T, status int, m map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	e, _ := m["error"].(map[string]any)
	if status != wantStatus || e == nil || e["code"] != wantCode || e["message"] == "" {
		t.Errorf("%d %v, want %d with error code %q and a message", status, m, wantStatus, wantCode)
	}
}

// remarshal converts a decoded JSON map into a typed value.
func remarshal(t *testing.T, m map[string]any, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(mustJSON(t, m)), v); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustFault(t *testing.T, f Fault) {
	t.Helper()
	if err := emu.InjectFault(f); err != nil {
		t.Fatal(err)
	}
}
