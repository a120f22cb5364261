package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// ControlError is a refused control request. It is sent as {"error":{"code","message"}} with
// Status, and returned by the Go helpers (MintCode, …) so tests can inspect it.
type ControlError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *ControlError) Error() string { return "emulator: " + e.Code + ": " + e.Message }

func badRequest(msg string) *ControlError {
	return &ControlError{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
}

// control registers a control endpoint.
func (e *Emulator) control(pattern string, h http.HandlerFunc) {
	e.mux.HandleFunc(pattern, h)
}

func writeControl(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "emulator: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeControlError answers err; anything but a *ControlError is an internal error.
func writeControlError(w http.ResponseWriter, err error) {
	var ce *ControlError
	if !errors.As(err, &ce) {
		ce = &ControlError{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
	}
	writeControl(w, ce.Status, errorBody{Error: ce})
}

func methodNotAllowed(w http.ResponseWriter, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeControlError(w, &ControlError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
		Message: "use " + strings.Join(allowed, " or ")})
}

// decodeControl decodes a JSON control body strictly: unknown fields are refused, so a misspelt
// option fails loudly instead of being ignored. An empty body leaves v zero when emptyOK.
func decodeControl(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) error {
	b, err := readBody(w, r)
	if err != nil {
		return &ControlError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: err.Error()}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if emptyOK {
			return nil
		}
		return badRequest("a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: " + err.Error())
	}
	if dec.More() {
		return badRequest("invalid JSON body: more than one value")
	}
	return nil
}

// post serves a POST-only control endpoint whose request decodes into Req.
func post[Req, Resp any](emptyOK bool, f func(Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		var req Req
		if err := decodeControl(w, r, &req, emptyOK); err != nil {
			writeControlError(w, err)
			return
		}
		resp, err := f(req)
		if err != nil {
			writeControlError(w, err)
			return
		}
		writeControl(w, http.StatusCreated, resp)
	}
}

func (e *Emulator) postCodes(w http.ResponseWriter, r *http.Request) {
	post(true, e.MintCode)(w, r)
}

func (e *Emulator) postPhoneCodes(w http.ResponseWriter, r *http.Request) {
	post(false, e.MintPhoneCode)(w, r)
}

func (e *Emulator) postEncrypt(w http.ResponseWriter, r *http.Request) {
	post(false, e.Encrypt)(w, r)
}

// idPattern bounds caller-chosen openids and unionids to the characters real ones use.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// MintCode mints a wx.login code, as the mini-program's wx.login would obtain one (see
// CodeRequest). It fails with a *ControlError, changing nothing, on an unknown app, a malformed id
// or session key, or a unionid that contradicts the user's.
func (e *Emulator) MintCode(req CodeRequest) (CodeResponse, error) {
	a, ok := e.app(req.AppID)
	if !ok {
		return CodeResponse{}, unknownApp(req.AppID)
	}
	if req.OpenID != "" && !idPattern.MatchString(req.OpenID) {
		return CodeResponse{}, badRequest("openid must be 1–64 characters of A-Z a-z 0-9 - _")
	}
	if req.UnionID != nil && *req.UnionID != "" && !idPattern.MatchString(*req.UnionID) {
		return CodeResponse{}, badRequest("unionid must be 1–64 characters of A-Z a-z 0-9 - _")
	}
	if req.SessionKey != "" {
		if k, err := base64.StdEncoding.DecodeString(req.SessionKey); err != nil || len(k) != 16 {
			return CodeResponse{}, badRequest("sessionKey must be 16 bytes in standard base64")
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if u := e.wx.users[userKey{a.AppID, req.OpenID}]; u != nil && req.UnionID != nil && *req.UnionID != u.unionid {
		return CodeResponse{}, &ControlError{Status: http.StatusConflict, Code: "unionid_conflict",
			Message: "user " + req.OpenID + " already has another unionid; a user keeps its unionid"}
	}
	resp := e.wx.mintCode(a.AppID, req, e.now())
	e.log.Info("emulator: login code minted", "appid", a.AppID, "openid", resp.OpenID)
	return resp, nil
}

// MintPhoneCode mints a getPhoneNumber code for the number (see PhoneCodeRequest). It fails with a
// *ControlError, changing nothing, on an unknown app or a malformed number.
func (e *Emulator) MintPhoneCode(req PhoneCodeRequest) (PhoneCodeResponse, error) {
	a, ok := e.app(req.AppID)
	if !ok {
		return PhoneCodeResponse{}, unknownApp(req.AppID)
	}
	full, pure, cc, err := parsePhone(req.PhoneNumber, req.CountryCode)
	if err != nil {
		return PhoneCodeResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.wx.sweep(now)
	code := newPhoneCode()
	e.wx.phoneCodes[code] = &phoneCode{appid: a.AppID, phoneNumber: full, purePhoneNumber: pure, country: cc, expiresAt: now.Add(codeTTL)}
	e.log.Info("emulator: phone code minted", "appid", a.AppID)
	return PhoneCodeResponse{Code: code, AppID: a.AppID, PhoneNumber: full, PurePhoneNumber: pure, CountryCode: cc,
		ExpiresIn: int(codeTTL.Seconds())}, nil
}

var (
	digits      = regexp.MustCompile(`^[0-9]{4,15}$`)
	countryCode = regexp.MustCompile(`^[1-9][0-9]{0,3}$`)
)

// parsePhone splits a number into WeChat's phoneNumber (with "+country" for numbers outside
// mainland China), purePhoneNumber and countryCode.
func parsePhone(number, cc string) (full, pure, country string, err error) {
	if cc != "" && !countryCode.MatchString(cc) {
		return "", "", "", badRequest("countryCode must be 1–4 digits, such as 86 or 852")
	}
	n := strings.ReplaceAll(number, " ", "")
	if rest, ok := strings.CutPrefix(n, "+"); ok {
		switch {
		case cc != "":
			p, ok := strings.CutPrefix(rest, cc)
			if !ok {
				return "", "", "", badRequest("phoneNumber " + number + " does not start with +" + cc)
			}
			pure = p
		case strings.HasPrefix(rest, "86"):
			cc, pure = "86", rest[2:]
		default:
			return "", "", "", badRequest("countryCode is required for a +number outside +86")
		}
	} else {
		pure = n
	}
	if cc == "" {
		cc = "86"
	}
	if !digits.MatchString(pure) {
		return "", "", "", badRequest("phoneNumber must be 4–15 digits, optionally after +countrycode")
	}
	if cc == "86" {
		if len(pure) != 11 || pure[0] != '1' {
			return "", "", "", badRequest("a mainland (+86) phoneNumber has 11 digits starting with 1")
		}
		return pure, pure, cc, nil
	}
	return "+" + cc + pure, pure, cc, nil
}

func unknownApp(appid string) *ControlError {
	return &ControlError{Status: http.StatusNotFound, Code: "unknown_app", Message: fmt.Sprintf("appid %q is not registered with the emulator", appid)}
}

// Calls returns the number of calls per emulated path (full paths, such as
// "/_emu/wx/cgi-bin/token") since the start or the last Reset/ResetCalls. Faulted calls count.
func (e *Emulator) Calls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.calls))
	for k, v := range e.calls {
		out[k] = v
	}
	return out
}

// CallCount returns the calls to one path, named as for Fault ("/cgi-bin/token",
// "/v3/pay/transactions/jsapi" or the full path).
func (e *Emulator) CallCount(path string) int {
	path = hostPath(path)
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[path]
}

// ResetCalls zeroes the call counts.
func (e *Emulator) ResetCalls() {
	e.mu.Lock()
	e.calls = map[string]int{}
	e.mu.Unlock()
}

// hostCalls is /_emu/<host>/calls: GET counts the host's calls by path relative to the host,
// DELETE zeroes every count.
func (e *Emulator) hostCalls(prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			out := map[string]int{}
			for k, v := range e.Calls() {
				if rel, ok := strings.CutPrefix(k, prefix); ok && strings.HasPrefix(rel, "/") {
					out[rel] = v
				}
			}
			writeControl(w, http.StatusOK, CallsResponse{Calls: out})
		case http.MethodDelete:
			e.ResetCalls()
			writeControl(w, http.StatusOK, CallsResponse{Calls: map[string]int{}})
		default:
			methodNotAllowed(w, http.MethodGet, http.MethodDelete)
		}
	}
}

// allCalls is /_emu/calls: the counts of every host by full path.
func (e *Emulator) allCalls(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeControl(w, http.StatusOK, CallsResponse{Calls: e.Calls()})
	case http.MethodDelete:
		e.ResetCalls()
		writeControl(w, http.StatusOK, CallsResponse{Calls: map[string]int{}})
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodDelete)
	}
}

func (e *Emulator) postReset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	e.Reset()
	e.log.Info("emulator: reset")
	w.WriteHeader(http.StatusNoContent)
}

// index is GET /_emu/: what the emulator serves, for a developer with curl.
func (e *Emulator) index(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	writeControl(w, http.StatusOK, IndexResponse{
		Apps:      e.appOrder,
		Hosts:     map[string]string{"api.weixin.qq.com": WXPrefix, "api.mch.weixin.qq.com": PayPrefix},
		Merchants: append([]string{}, e.payCfg.order...),
		Endpoints: append([]string{
			"POST " + WXPrefix + "/codes {appid?, openid?, unionid?, sessionKey?}",
			"POST " + WXPrefix + "/phone-codes {phoneNumber, countryCode?, appid?}",
			"POST " + WXPrefix + "/encrypt {openid, data, appid?, watermarkAppid?, timestamp?}",
			"GET|DELETE " + WXPrefix + "/calls",
			"GET|POST|DELETE " + Prefix + "/faults {path, count?, errcode?, code?, httpStatus?, errmsg?}",
			"GET|DELETE " + Prefix + "/calls",
			"POST " + Prefix + "/reset",
		}, payEndpoints...),
	})
}
