package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// payHost is api.mch.weixin.qq.com, WeChat Pay APIv3. Every call must carry a valid merchant
// signature (401 SIGN_ERROR otherwise); every answer the routes write is signed with the platform
// key, the way the request's Wechatpay-Serial asks (see PayConfig.Mode); errors are
// {"code","message"} with WeChat Pay's status codes.
func (e *Emulator) payHost() *host {
	mux := http.NewServeMux()
	p := PayPrefix
	mux.HandleFunc("POST "+p+"/v3/pay/transactions/jsapi", e.payRoute(e.payPrepay))
	mux.HandleFunc("GET "+p+"/v3/pay/transactions/out-trade-no/{no}", e.payRoute(e.payQueryByOutTradeNo))
	mux.HandleFunc("GET "+p+"/v3/pay/transactions/id/{id}", e.payRoute(e.payQueryByID))
	mux.HandleFunc("POST "+p+"/v3/pay/transactions/out-trade-no/{no}/close", e.payRoute(e.payClose))
	mux.HandleFunc("POST "+p+"/v3/refund/domestic/refunds", e.payRoute(e.payRefundCreate))
	mux.HandleFunc("GET "+p+"/v3/refund/domestic/refunds/{no}", e.payRoute(e.payRefundQuery))
	mux.HandleFunc("GET "+p+"/v3/bill/tradebill", e.payRoute(e.payTradeBill))
	mux.HandleFunc("GET "+p+"/v3/billdownload/file", e.payBillDownload)
	mux.HandleFunc("GET "+p+"/v3/certificates", e.payRoute(e.payCertificates))
	notFound := func(w http.ResponseWriter, r *http.Request) {
		// Not a WeChat Pay behaviour worth imitating in detail: a 404 with the path makes a typo in a
		// client's URL obvious.
		writePayError(w, &payError{status: http.StatusNotFound, code: "NOT_FOUND",
			message: "emulator: " + r.Method + " api.mch.weixin.qq.com" + strings.TrimPrefix(r.URL.Path, PayPrefix) + " is not emulated"})
	}
	mux.HandleFunc(p+"/", notFound)
	return &host{prefix: PayPrefix, serve: mux.ServeHTTP, fault: renderPayFault, notFound: notFound}
}

// payError is a WeChat Pay error answer.
type payError struct {
	status   int
	code     string
	message  string
	detail   *payErrorDetail
	internal int // WeChat Pay's internal result code, the suffix of Request-ID (0 when unknown)
}

func (p *payError) Error() string { return p.code + ": " + p.message }

// Codes and statuses WeChat Pay answers with (reference §8.2). The emulator uses the ones its
// endpoints can produce; the rest are for faults, which take their status from here.
var payCodeStatus = map[string]int{
	"PARAM_ERROR":           400,
	"INVALID_REQUEST":       400,
	"APPID_MCHID_NOT_MATCH": 400,
	"MCH_NOT_EXISTS":        400,
	"ORDER_CLOSED":          400,
	"ORDERPAID":             400,
	"NO_STATEMENT_EXIST":    400,
	"STATEMENT_CREATING":    400,
	"SIGN_ERROR":            401,
	"NO_AUTH":               403,
	"OUT_TRADE_NO_USED":     403,
	"RULE_LIMIT":            403,
	"TRADE_ERROR":           403,
	"ACCOUNT_ERROR":         403,
	"NOT_ENOUGH":            403,
	"USER_ACCOUNT_ABNORMAL": 403,
	"ORDER_NOT_EXIST":       404,
	"RESOURCE_NOT_EXISTS":   404,
	"FREQUENCY_LIMITED":     429,
	"SYSTEM_ERROR":          500,
	"BANK_ERROR":            500,
	"OPENID_MISMATCH":       500,
}

// payMessages are WeChat Pay's messages for its codes.
var payMessages = map[string]string{
	"PARAM_ERROR":           "参数错误",
	"INVALID_REQUEST":       "无效请求",
	"APPID_MCHID_NOT_MATCH": "AppID和mch_id不匹配",
	"MCH_NOT_EXISTS":        "商户号不存在",
	"ORDER_CLOSED":          "订单已关闭",
	"ORDERPAID":             "该订单已支付",
	"NO_STATEMENT_EXIST":    "请求的账单文件不存在",
	"STATEMENT_CREATING":    "账单生成中",
	"SIGN_ERROR":            "签名错误",
	"NO_AUTH":               "无权限",
	"OUT_TRADE_NO_USED":     "商户订单号重复",
	"RULE_LIMIT":            "业务规则限制",
	"TRADE_ERROR":           "交易错误",
	"ACCOUNT_ERROR":         "账号异常",
	"NOT_ENOUGH":            "余额不足",
	"USER_ACCOUNT_ABNORMAL": "退款请求失败",
	"ORDER_NOT_EXIST":       "订单不存在",
	"RESOURCE_NOT_EXISTS":   "资源不存在",
	"FREQUENCY_LIMITED":     "频率超限",
	"SYSTEM_ERROR":          "系统错误",
	"BANK_ERROR":            "银行系统异常",
	"OPENID_MISMATCH":       "openid和appid不匹配",
}

// payInternal are internal result codes from the official troubleshooting manual, shown as the
// Request-ID suffix so that logs look like production ones.
var payInternal = map[string]int{
	"ORDER_NOT_EXIST":   268512771,
	"FREQUENCY_LIMITED": 268447840,
	"PARAM_ERROR":       268435461,
	"ORDERPAID":         268449538,
	"SIGN_ERROR":        268443699,
}

func payErr(code, message string) *payError {
	if message == "" {
		message = payMessages[code]
	}
	status, ok := payCodeStatus[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return &payError{status: status, code: code, message: message, internal: payInternal[code]}
}

// paramError is a PARAM_ERROR naming the offending input.
func paramError(location, field, issue string) *payError {
	p := payErr("PARAM_ERROR", "输入源“/"+location+field+"”映射到值字段“"+strings.TrimPrefix(field, "/")+"”字符串规则校验失败，"+issue)
	p.detail = &payErrorDetail{Field: field, Issue: issue, Location: location}
	return p
}

// renderPayFault answers an injected fault with WeChat Pay's error body. Faults are not signed:
// the emulator has not looked at the request, and clients do not verify error answers.
func renderPayFault(w http.ResponseWriter, f Fault, _ time.Time) {
	code, status := f.Code, f.HTTPStatus
	switch {
	case code == "" && status >= 500:
		code = "SYSTEM_ERROR"
	case code == "":
		code = map[int]string{400: "PARAM_ERROR", 401: "SIGN_ERROR", 403: "NO_AUTH", 404: "RESOURCE_NOT_EXISTS", 429: "FREQUENCY_LIMITED"}[status]
		if code == "" {
			code = "INVALID_REQUEST"
		}
	}
	p := payErr(code, f.Errmsg)
	if status != 0 {
		p.status = status
	}
	writePayError(w, p)
}

// writePayError answers an error, unsigned (see renderPayFault).
func writePayError(w http.ResponseWriter, p *payError) {
	b := marshalPay(payErrorBody{Code: p.code, Message: p.message, Detail: p.detail})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Request-ID", newRequestID(p.internal))
	w.WriteHeader(p.status)
	_, _ = w.Write(b)
}

// marshalPay encodes v compactly without Go's HTML escaping, as WeChat Pay's servers write JSON.
func marshalPay(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Every value written is one of the emulator's own plain structs.
		panic("emulator: encode pay response: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// payCall is one authenticated call to the pay host.
type payCall struct {
	r    *http.Request
	body []byte
	mch  *Merchant
	now  time.Time
}

// payFunc is one WeChat Pay endpoint: the success status and body (nil for 204), or an error.
// Handlers hold no lock; they take Emulator.mu around state access.
type payFunc func(c *payCall) (int, any, *payError)

// payRoute adapts a payFunc: it reads the bounded body, authenticates the merchant and writes the
// signed answer.
func (e *Emulator) payRoute(f payFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, perr := e.payCallFor(w, r)
		if perr == nil {
			var status int
			var v any
			status, v, perr = f(c)
			if perr == nil {
				var body []byte
				if status != http.StatusNoContent {
					body = marshalPay(v)
				}
				e.writePaySigned(w, r, status, body, "application/json; charset=utf-8", c.now)
				return
			}
		}
		e.log.Debug("emulator: pay error", "path", r.URL.Path, "status", perr.status, "code", perr.code)
		e.writePaySigned(w, r, perr.status, marshalPay(payErrorBody{Code: perr.code, Message: perr.message, Detail: perr.detail}),
			"application/json; charset=utf-8", e.now(), perr.internal)
	}
}

// payCallFor reads the body and authenticates the call.
func (e *Emulator) payCallFor(w http.ResponseWriter, r *http.Request) (*payCall, *payError) {
	now := e.now()
	body, err := readBody(w, r)
	if err != nil {
		return nil, payErr("PARAM_ERROR", "请求体过大或无法读取")
	}
	mch, perr := e.payAuthenticate(r, body, now)
	if perr != nil {
		return nil, perr
	}
	return &payCall{r: r, body: body, mch: mch, now: now}, nil
}

// writePaySigned writes body with WeChat Pay's signature headers over exactly those bytes (an
// empty body for 204). internal is the Request-ID suffix.
func (e *Emulator) writePaySigned(w http.ResponseWriter, r *http.Request, status int, body []byte, contentType string, now time.Time, internal ...int) {
	h := w.Header()
	e.signHeaders(h, body, e.responseSigner(r), now)
	code := 0
	if len(internal) > 0 {
		code = internal[0]
	}
	h.Set("Request-ID", newRequestID(code))
	if status != http.StatusNoContent {
		h.Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// responseSigner picks the key a response is signed with: the one the request's Wechatpay-Serial
// names, as WeChat Pay does, and otherwise the mode's (a public-key-only merchant has no
// certificate to sign with).
func (e *Emulator) responseSigner(r *http.Request) signWith {
	p := e.payCfg.platform()
	switch serial := r.Header.Get("Wechatpay-Serial"); {
	case e.payCfg.mode == PayModePublicKeyOnly || serial == p.keyID:
		return signPublicKey
	case serial == p.certSerial:
		return signCert
	default:
		return e.payCfg.defaultSigner()
	}
}

// defaultSigner is how notifications are signed in the configured mode.
func (pc *payConfig) defaultSigner() signWith {
	if pc.mode == PayModeCert {
		return signCert
	}
	return signPublicKey
}

// signHeaders sets Wechatpay-Timestamp/-Nonce/-Serial/-Signature/-Signature-Type for body.
func (e *Emulator) signHeaders(h http.Header, body []byte, how signWith, now time.Time) {
	p := e.payCfg.platform()
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := randomString("0123456789ABCDEF", 32)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", p.serial(how))
	h.Set("Wechatpay-Signature", signMessage(p.key, responseMessage(ts, nonce, body)))
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
}

// responseMessage is what WeChat Pay signs in a response or notification: TS\nNONCE\nBODY\n.
func responseMessage(ts, nonce string, body []byte) []byte {
	m := make([]byte, 0, len(ts)+len(nonce)+len(body)+3)
	m = append(m, ts...)
	m = append(m, '\n')
	m = append(m, nonce...)
	m = append(m, '\n')
	m = append(m, body...)
	return append(m, '\n')
}

// authScheme starts every merchant Authorization header.
const authScheme = "WECHATPAY2-SHA256-RSA2048 "

// maxSkew is how far a request timestamp may be from the server's clock.
const maxSkew = 5 * time.Minute

// payAuthenticate checks the merchant's request signature (reference §1, §10.2): the
// Authorization header, a known merchant and certificate serial, a timestamp within five minutes,
// SHA256withRSA over METHOD\nURI\nTS\nNONCE\nBODY\n with the raw body bytes, and the body's mchid
// equal to the header's.
func (e *Emulator) payAuthenticate(r *http.Request, body []byte, now time.Time) (*Merchant, *payError) {
	signErr := func(msg string) *payError { return payErr("SIGN_ERROR", msg) }
	params, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, signErr("Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》: " + err.Error())
	}
	m := e.payCfg.merchants[params["mchid"]]
	if m == nil {
		return nil, payErr("MCH_NOT_EXISTS", "商户号"+params["mchid"]+"不存在")
	}
	if !strings.EqualFold(params["serial_no"], m.CertSerial) {
		return nil, signErr("商户证书序列号有误。请使用签名私钥匹配的证书序列号")
	}
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil {
		return nil, signErr("Http头Authorization中的timestamp不是Unix秒")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return nil, signErr("Http头Authorization中的timestamp与发起请求的时间不得超过5分钟")
	}
	// The SDK signs the URL it requested: /v3/… when a transport redirected it to the emulator,
	// the full emulator path when it was pointed here directly. Both name the same resource.
	uri := r.RequestURI
	candidates := []string{strings.TrimPrefix(uri, PayPrefix), uri}
	var message []byte
	ok := false
	for i, u := range candidates {
		if i > 0 && u == candidates[0] {
			break
		}
		message = requestMessage(r.Method, u, params["timestamp"], params["nonce_str"], body)
		if verifyMessage(m.PublicKey, message, params["signature"]) {
			ok = true
			break
		}
	}
	if !ok {
		message = requestMessage(r.Method, candidates[0], params["timestamp"], params["nonce_str"], body)
		p := signErr("签名错误，请检查后再试")
		shown := string(message)
		if len(shown) > 256 {
			shown = shown[:256]
		}
		p.detail = &payErrorDetail{Field: "signature", Location: "authorization", Issue: "sign not match",
			SignInformation: &signInformation{Method: r.Method, URL: candidates[0], SignMessageLength: len(message), TruncatedSignMessage: shown}}
		return nil, p
	}
	if r.Method == http.MethodPost && len(bytes.TrimSpace(body)) > 0 {
		var probe struct {
			MchID *string `json:"mchid"`
		}
		if json.Unmarshal(body, &probe) == nil && probe.MchID != nil && *probe.MchID != m.MchID {
			return nil, signErr("Http头Authorization中的mchid与post payload中的mchid不匹配")
		}
	}
	return m, nil
}

// requestMessage is what a merchant signs: METHOD\nURI\nTS\nNONCE\nBODY\n.
func requestMessage(method, uri, ts, nonce string, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(method) + len(uri) + len(ts) + len(nonce) + len(body) + 5)
	for _, s := range []string{method, uri, ts, nonce} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	b.Write(body)
	b.WriteByte('\n')
	return b.Bytes()
}

// parseAuthorization splits `WECHATPAY2-SHA256-RSA2048 k="v",…` and requires the five parameters.
func parseAuthorization(h string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(h, authScheme)
	if !ok {
		return nil, errors.New("scheme must be WECHATPAY2-SHA256-RSA2048")
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, errors.New(`parameters must be key="value"`)
		}
		params[k] = v[1 : len(v)-1]
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if params[k] == "" {
			return nil, errors.New("missing " + k)
		}
	}
	return params, nil
}

var (
	outTradeNoPattern  = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)
	outRefundNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)
)

// decodePayBody decodes a JSON body, answering PARAM_ERROR as WeChat Pay does for bad JSON.
func decodePayBody(body []byte, v any) *payError {
	if len(bytes.TrimSpace(body)) == 0 {
		return paramError("body", "", "请求体为空")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return paramError("body", "/"+strings.ReplaceAll(te.Field, ".", "/"), "类型错误: "+te.Value)
		}
		return paramError("body", "", "JSON格式错误")
	}
	return nil
}

// checkNotifyURL applies WeChat Pay's notify_url rules: an absolute http(s) URL of at most 255
// characters without a query string. Unlike the real service, loopback and http are accepted, so
// that a local stack can receive notifications.
func checkNotifyURL(field, raw string) *payError {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return paramError("body", field, "须为绝对的http(s) URL")
	case u.RawQuery != "" || strings.Contains(raw, "?"):
		return paramError("body", field, "不能携带参数")
	case u.Fragment != "":
		return paramError("body", field, "不能携带片段")
	case len(raw) > 255:
		return paramError("body", field, "长度不能超过255")
	}
	return nil
}

// payPrepay is POST /v3/pay/transactions/jsapi.
func (e *Emulator) payPrepay(c *payCall) (int, any, *payError) {
	var req prepayRequest
	if perr := decodePayBody(c.body, &req); perr != nil {
		return 0, nil, perr
	}
	var expire time.Time
	switch {
	case req.AppID == "":
		return 0, nil, paramError("body", "/appid", "不能为空")
	case req.MchID == "":
		return 0, nil, paramError("body", "/mchid", "不能为空")
	case req.Description == "":
		return 0, nil, paramError("body", "/description", "不能为空")
	case utf8.RuneCountInString(req.Description) > 127:
		return 0, nil, paramError("body", "/description", "长度不能超过127")
	case !outTradeNoPattern.MatchString(req.OutTradeNo):
		return 0, nil, paramError("body", "/out_trade_no", "须为6-32位数字、大小写字母_-|*")
	case utf8.RuneCountInString(req.Attach) > 128:
		return 0, nil, paramError("body", "/attach", "长度不能超过128")
	case req.Amount == nil || req.Amount.Total == nil:
		return 0, nil, paramError("body", "/amount/total", "不能为空")
	case *req.Amount.Total <= 0:
		return 0, nil, paramError("body", "/amount/total", "须大于0")
	case req.Amount.Currency != "" && req.Amount.Currency != "CNY":
		return 0, nil, paramError("body", "/amount/currency", "Currency code is invalid")
	case req.Payer == nil || req.Payer.OpenID == "":
		return 0, nil, payErr("PARAM_ERROR", "JSAPI支付必须传openid")
	case utf8.RuneCountInString(req.Payer.OpenID) > 128:
		return 0, nil, paramError("body", "/payer/openid", "长度不能超过128")
	}
	if perr := checkNotifyURL("/notify_url", req.NotifyURL); perr != nil {
		return 0, nil, perr
	}
	if req.TimeExpire != "" {
		t, err := time.Parse(time.RFC3339, req.TimeExpire)
		if err != nil {
			return 0, nil, paramError("body", "/time_expire", "须为RFC3339格式，如2024-05-01T12:30:00+08:00")
		}
		expire = t
	}
	if !bound(c.mch, req.AppID) {
		return 0, nil, payErr("APPID_MCHID_NOT_MATCH", "")
	}
	params, err := prepayParams(req, expire)
	if err != nil {
		return 0, nil, paramError("body", "", err.Error())
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	k := payKey{c.mch.MchID, req.OutTradeNo}
	if o := e.pay.orders[k]; o != nil {
		switch o.state(c.now) {
		case tradeClosed:
			return 0, nil, payErr("ORDER_CLOSED", "")
		case tradeSuccess, tradeRefund:
			return 0, nil, payErr("ORDERPAID", "")
		}
		if o.params != params {
			p := payErr("INVALID_REQUEST", "请求重入时，参数与首次请求时不一致")
			p.internal = 268498688
			return 0, nil, p
		}
		if c.now.Sub(o.prepayAt) >= prepayTTL {
			o.prepayID, o.prepayAt = newPrepayID(c.now), c.now
		}
		return http.StatusOK, prepayResponse{PrepayID: o.prepayID}, nil
	}
	o := &payOrder{
		mchid: c.mch.MchID, appid: req.AppID, outTradeNo: req.OutTradeNo, description: req.Description,
		attach: req.Attach, notifyURL: req.NotifyURL, openid: req.Payer.OpenID, total: *req.Amount.Total,
		params: params, prepayID: newPrepayID(c.now), prepayAt: c.now, createdAt: c.now,
		expireAt: c.now.Add(orderTTL),
	}
	if !expire.IsZero() {
		o.expireAt = expire
		if lo := c.now.Add(minTimeExpire); o.expireAt.Before(lo) {
			o.expireAt = lo
		}
		if hi := c.now.Add(maxTimeExpire); o.expireAt.After(hi) {
			o.expireAt = hi
		}
	}
	e.pay.orders[k] = o
	e.log.Info("emulator: pay order created", "mchid", o.mchid, "out_trade_no", o.outTradeNo, "total", o.total)
	return http.StatusOK, prepayResponse{PrepayID: o.prepayID}, nil
}

// bound reports whether appid is bound to the merchant.
func bound(m *Merchant, appid string) bool {
	for _, a := range m.AppIDs {
		if a == appid {
			return true
		}
	}
	return false
}

// prepayParams normalises a prepay request for the re-entry comparison: the same order sent
// again with the same meaning compares equal whatever its key order or spacing.
func prepayParams(req prepayRequest, expire time.Time) (string, error) {
	n := req
	if n.Amount.Currency == "" {
		n.Amount = &prepayAmount{Total: req.Amount.Total, Currency: "CNY"}
	}
	if !expire.IsZero() {
		n.TimeExpire = strconv.FormatInt(expire.Unix(), 10)
	}
	for _, raw := range []*json.RawMessage{&n.Detail, &n.SceneInfo, &n.SettleInfo} {
		if len(*raw) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(*raw, &v); err != nil {
			return "", err
		}
		b, err := json.Marshal(v) // maps marshal with sorted keys
		if err != nil {
			return "", err
		}
		*raw = b
	}
	b, err := json.Marshal(n)
	return string(b), err
}

// queryMchID checks the mchid query parameter the query endpoints require.
func queryMchID(c *payCall) *payError {
	q := c.r.URL.Query().Get("mchid")
	switch {
	case q == "":
		return paramError("query", "mchid", "不能为空")
	case q != c.mch.MchID:
		return paramError("query", "mchid", "与请求头中的商户号不一致")
	}
	return nil
}

// payQueryByOutTradeNo is GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=.
func (e *Emulator) payQueryByOutTradeNo(c *payCall) (int, any, *payError) {
	if perr := queryMchID(c); perr != nil {
		return 0, nil, perr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.pay.orders[payKey{c.mch.MchID, c.r.PathValue("no")}]
	if o == nil {
		return 0, nil, payErr("ORDER_NOT_EXIST", "")
	}
	return http.StatusOK, o.transaction(c.now), nil
}

// payQueryByID is GET /v3/pay/transactions/id/{transaction_id}?mchid=.
func (e *Emulator) payQueryByID(c *payCall) (int, any, *payError) {
	if perr := queryMchID(c); perr != nil {
		return 0, nil, perr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.pay.byTxn[c.r.PathValue("id")]
	if o == nil || o.mchid != c.mch.MchID {
		return 0, nil, payErr("ORDER_NOT_EXIST", "")
	}
	return http.StatusOK, o.transaction(c.now), nil
}

// payClose is POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close: 204, also for an order
// already closed; a paid order cannot be closed.
func (e *Emulator) payClose(c *payCall) (int, any, *payError) {
	var req closeRequest
	if perr := decodePayBody(c.body, &req); perr != nil {
		return 0, nil, perr
	}
	if req.MchID == "" {
		return 0, nil, paramError("body", "/mchid", "不能为空")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.pay.orders[payKey{c.mch.MchID, c.r.PathValue("no")}]
	if o == nil {
		return 0, nil, payErr("ORDER_NOT_EXIST", "")
	}
	if o.paid() {
		return 0, nil, payErr("ORDERPAID", "订单已支付")
	}
	if !o.closed {
		o.closed = true
		e.log.Info("emulator: pay order closed", "mchid", o.mchid, "out_trade_no", o.outTradeNo)
	}
	return http.StatusNoContent, nil, nil
}

// payRefundCreate is POST /v3/refund/domestic/refunds. The refund starts PROCESSING; the control
// API settles it. Checks, in order: the request's shape, the order (paid, within a year), re-entry
// of the same out_refund_no (the same refund back when the parameters match), then the amounts.
func (e *Emulator) payRefundCreate(c *payCall) (int, any, *payError) {
	var req refundRequest
	if perr := decodePayBody(c.body, &req); perr != nil {
		return 0, nil, perr
	}
	switch {
	case (req.TransactionID == "") == (req.OutTradeNo == ""):
		return 0, nil, paramError("body", "/out_trade_no", "transaction_id和out_trade_no须且只须填写一个")
	case !outRefundNoPattern.MatchString(req.OutRefundNo):
		return 0, nil, paramError("body", "/out_refund_no", "须为1-64位数字、大小写字母_-|*@")
	case utf8.RuneCountInString(req.Reason) > 80:
		return 0, nil, paramError("body", "/reason", "长度不能超过80")
	case req.Amount == nil || req.Amount.Refund == nil:
		return 0, nil, paramError("body", "/amount/refund", "不能为空")
	case req.Amount.Total == nil:
		return 0, nil, paramError("body", "/amount/total", "不能为空")
	case req.Amount.Currency == "":
		return 0, nil, paramError("body", "/amount/currency", "不能为空")
	case req.Amount.Currency != "CNY":
		return 0, nil, paramError("body", "/amount/currency", "Currency code is invalid")
	case *req.Amount.Refund <= 0:
		return 0, nil, paramError("body", "/amount/refund", "须大于0")
	case *req.Amount.Total <= 0:
		return 0, nil, paramError("body", "/amount/total", "须大于0")
	case req.FundsAccount != "" && req.FundsAccount != "AVAILABLE" && req.FundsAccount != "UNSETTLED":
		return 0, nil, paramError("body", "/funds_account", "取值错误")
	}
	if req.NotifyURL != "" {
		if perr := checkNotifyURL("/notify_url", req.NotifyURL); perr != nil {
			return 0, nil, perr
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	var o *payOrder
	if req.OutTradeNo != "" {
		o = e.pay.orders[payKey{c.mch.MchID, req.OutTradeNo}]
	} else if o = e.pay.byTxn[req.TransactionID]; o != nil && o.mchid != c.mch.MchID {
		o = nil
	}
	if o == nil || !o.paid() {
		return 0, nil, payErr("RESOURCE_NOT_EXISTS", "订单不存在或未支付")
	}
	params := strings.Join([]string{o.outTradeNo, strconv.FormatInt(*req.Amount.Refund, 10),
		strconv.FormatInt(*req.Amount.Total, 10), req.Reason, req.NotifyURL, req.FundsAccount}, "\x00")
	if r := e.pay.refunds[payKey{c.mch.MchID, req.OutRefundNo}]; r != nil {
		if r.params != params {
			return 0, nil, payErr("INVALID_REQUEST", "请求重入时，参数与首次请求时不一致")
		}
		return http.StatusOK, r.render(), nil
	}
	switch refund := *req.Amount.Refund; {
	case c.now.Sub(o.successTime) > refundWindow:
		return 0, nil, payErr("INVALID_REQUEST", "订单已超过退款期限")
	case *req.Amount.Total != o.total:
		return 0, nil, payErr("INVALID_REQUEST", "订单金额与原订单不一致")
	case len(o.refunds) >= maxRefunds:
		return 0, nil, payErr("INVALID_REQUEST", "订单退款次数超过限制")
	case refund > o.total-o.committed():
		return 0, nil, payErr("INVALID_REQUEST", "申请退款金额超过订单可退金额")
	}
	funds := req.FundsAccount
	if funds == "" {
		funds = "UNSETTLED"
	}
	r := &payRefund{
		mchid: c.mch.MchID, order: o, outRefundNo: req.OutRefundNo, refundID: newRefundID(c.now),
		reason: req.Reason, notifyURL: req.NotifyURL, funds: funds, amount: *req.Amount.Refund,
		params: params, status: refundProcessing, account: "支付用户零钱", createdAt: c.now,
	}
	o.refunds = append(o.refunds, r)
	e.pay.refunds[payKey{c.mch.MchID, r.outRefundNo}] = r
	e.log.Info("emulator: refund accepted", "mchid", r.mchid, "out_refund_no", r.outRefundNo, "refund", r.amount)
	return http.StatusOK, r.render(), nil
}

// payRefundQuery is GET /v3/refund/domestic/refunds/{out_refund_no}.
func (e *Emulator) payRefundQuery(c *payCall) (int, any, *payError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.pay.refunds[payKey{c.mch.MchID, c.r.PathValue("no")}]
	if r == nil {
		return 0, nil, payErr("RESOURCE_NOT_EXISTS", "退款单不存在")
	}
	return http.StatusOK, r.render(), nil
}
