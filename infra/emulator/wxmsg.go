package emulator

// Wire formats of api.weixin.qq.com as the emulator speaks them. Samples of each are in
// testdata/wx/.

// errorResponse is every failed call's body (HTTP 200): errmsg ends with " rid: <id>".
type errorResponse struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// okResponse is the body of calls that succeed without data, such as /wxa/checksession.
type okResponse struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// tokenResponse answers GET /cgi-bin/token and POST /cgi-bin/stable_token. Success carries no
// errcode at all.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// stableTokenRequest is the body of POST /cgi-bin/stable_token.
type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// code2SessionResponse answers GET /sns/jscode2session. Success carries no errcode; unionid is
// present only for users of an app bound to an Open Platform account.
type code2SessionResponse struct {
	SessionKey string `json:"session_key"`
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid,omitempty"`
}

// phoneNumberRequest is the body of POST /wxa/business/getuserphonenumber.
type phoneNumberRequest struct {
	Code   string `json:"code"`
	OpenID string `json:"openid,omitempty"`
}

// phoneNumberResponse answers POST /wxa/business/getuserphonenumber.
type phoneNumberResponse struct {
	Errcode   int       `json:"errcode"`
	Errmsg    string    `json:"errmsg"`
	PhoneInfo phoneInfo `json:"phone_info"`
}

// phoneInfo is the user's phone number. countryCode is a string, as the SDK decodes it.
type phoneInfo struct {
	PhoneNumber     string    `json:"phoneNumber"`
	PurePhoneNumber string    `json:"purePhoneNumber"`
	CountryCode     string    `json:"countryCode"`
	Watermark       watermark `json:"watermark"`
}

// watermark stamps phone info and encryptedData with the app and the time they were produced.
type watermark struct {
	Timestamp int64  `json:"timestamp"`
	AppID     string `json:"appid"`
}
