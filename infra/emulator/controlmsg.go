package emulator

import "encoding/json"

// Wire formats of the control API (JSON, camelCase like the rest of wxfn's own APIs). Samples of
// each are in testdata/control/.

// CodeRequest mints a wx.login code (POST /_emu/wx/codes). Every field is optional.
type CodeRequest struct {
	// AppID defaults to the first configured app.
	AppID string `json:"appid,omitempty"`
	// OpenID picks the user; empty creates a new one.
	OpenID string `json:"openid,omitempty"`
	// UnionID sets a new user's unionid: absent generates one, "" gives none (an app not bound to
	// an Open Platform account). An existing user keeps the one it has.
	UnionID *string `json:"unionid,omitempty"`
	// SessionKey sets the user's session_key (16 bytes in standard base64); empty rotates it to a
	// new random key, which then is the only valid one.
	SessionKey string `json:"sessionKey,omitempty"`
}

// CodeResponse is the minted code and the user it logs in.
type CodeResponse struct {
	Code       string `json:"code"`
	AppID      string `json:"appid"`
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid,omitempty"`
	SessionKey string `json:"sessionKey"`
	ExpiresIn  int    `json:"expiresIn"`
}

// PhoneCodeRequest mints a getPhoneNumber code (POST /_emu/wx/phone-codes).
type PhoneCodeRequest struct {
	AppID string `json:"appid,omitempty"`
	// PhoneNumber is the number, digits only, optionally after "+" and the country code
	// ("13800138000", "+8613800138000", "+85261234567").
	PhoneNumber string `json:"phoneNumber"`
	// CountryCode defaults to the prefix of a "+86…" number or to 86; required for other "+"
	// numbers.
	CountryCode string `json:"countryCode,omitempty"`
}

// PhoneCodeResponse is the minted code and the phone info getuserphonenumber will answer.
type PhoneCodeResponse struct {
	Code            string `json:"code"`
	AppID           string `json:"appid"`
	PhoneNumber     string `json:"phoneNumber"`
	PurePhoneNumber string `json:"purePhoneNumber"`
	CountryCode     string `json:"countryCode"`
	ExpiresIn       int    `json:"expiresIn"`
}

// EncryptRequest asks for a mini-program encryptedData (POST /_emu/wx/encrypt), as wx.getUserInfo
// or the old getPhoneNumber flow would hand it to the client.
type EncryptRequest struct {
	AppID  string `json:"appid,omitempty"`
	OpenID string `json:"openid"`
	// Data is the JSON object to encrypt; the emulator adds watermark{appid, timestamp}.
	Data json.RawMessage `json:"data"`
	// WatermarkAppID overrides the watermark's appid, to produce data meant for another app.
	WatermarkAppID string `json:"watermarkAppid,omitempty"`
	// Timestamp overrides the watermark's unix time (default: now).
	Timestamp int64 `json:"timestamp,omitempty"`
}

// EncryptResponse is what the client sends to the backend.
type EncryptResponse struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
}

// FaultsResponse lists the pending faults.
type FaultsResponse struct {
	Faults []Fault `json:"faults"`
}

// CallsResponse counts the calls per path since the start, the last reset or the last DELETE.
type CallsResponse struct {
	Calls map[string]int `json:"calls"`
}

// IndexResponse describes the emulator (GET /_emu/).
type IndexResponse struct {
	Apps []string `json:"apps"`
	// Merchants are the WeChat Pay merchant ids the pay host knows (the first is the default).
	Merchants []string          `json:"merchants"`
	Hosts     map[string]string `json:"hosts"`
	Endpoints []string          `json:"endpoints"`
}

// errorBody is the control API's error, in wxfn's own error shape.
type errorBody struct {
	Error *ControlError `json:"error"`
}
