package emulator

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// The pay tests share one emulator with two merchants behind its own server (the package's other
// tests keep theirs). Each test starts with payFresh, which resets the state and sets the clock to
// the wall clock: the SDK checks signature timestamps against time.Now, and the emulator checks
// request timestamps against its own clock, so the two must agree.
var (
	payOnce sync.Once
	pe      *payEnv
)

const (
	mchA = "1900000001"
	mchB = "1900000002"
)

type payEnv struct {
	emu   *Emulator
	srv   *httptest.Server
	clock *fakeClock
	a, b  Merchant // a is bound to appA; b to appB
	aKey  *rsa.PrivateKey
	bKey  *rsa.PrivateKey
}

func payFresh(t *testing.T) *payEnv {
	t.Helper()
	payOnce.Do(func() {
		a, aKey, err := GenerateMerchant(mchA, appA)
		if err != nil {
			t.Fatal(err)
		}
		b, bKey, err := GenerateMerchant(mchB, appB)
		if err != nil {
			t.Fatal(err)
		}
		clk := &fakeClock{}
		clk.set(time.Now())
		e := New(Config{
			Apps: []App{{AppID: appA, Secret: secretA}, {AppID: appB, Secret: secretB}},
			Now:  clk.Now,
			Pay:  PayConfig{Merchants: []Merchant{a, b}},
		})
		pe = &payEnv{emu: e, srv: httptest.NewServer(e), clock: clk, a: a, b: b, aKey: aKey, bKey: bKey}
	})
	pe.emu.Reset()
	pe.clock.set(time.Now())
	return pe
}

// toLocal sends WeChat Pay requests to the emulator: it rewrites scheme and host and puts the pay
// prefix in front of the path. The signed canonical URL (the original path) is untouched.
type toLocal struct {
	target *url.URL
	next   http.RoundTripper
}

func (t toLocal) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = t.target.Scheme, t.target.Host, t.target.Host
	r2.URL.Path = t.target.Path + r.URL.Path
	if r.URL.RawPath != "" {
		r2.URL.RawPath = t.target.Path + r.URL.RawPath
	}
	return t.next.RoundTrip(r2)
}

// redirecting is an http.Client that sends api.mch.weixin.qq.com calls to the emulator.
func (p *payEnv) redirecting() *http.Client {
	u, _ := url.Parse(p.srv.URL + PayPrefix)
	return &http.Client{Transport: toLocal{target: u, next: http.DefaultTransport}, Timeout: 10 * time.Second}
}

// client is an SDK client of merchant A in public-key mode.
func (p *payEnv) client(t *testing.T) *core.Client {
	t.Helper()
	return p.clientWith(t, p.a, p.aKey)
}

func (p *payEnv) clientWith(t *testing.T, m Merchant, key *rsa.PrivateKey) *core.Client {
	t.Helper()
	c, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(m.MchID, m.CertSerial, key, p.emu.PublicKeyID(), p.emu.PlatformPublicKey()),
		option.WithHTTPClient(p.redirecting()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw sends a request signed by hand with key as merchant m, at the emulator's time: for requests
// the SDK cannot make (invalid bodies, wrong timestamps). path is the real one (/v3/…).
func (p *payEnv) raw(t *testing.T, m Merchant, key *rsa.PrivateKey, method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	ts := strconv.FormatInt(p.clock.Now().Unix(), 10)
	nonce := randomString(alnum, 32)
	sig := signMessage(key, requestMessage(method, path, ts, nonce, body))
	req, err := http.NewRequest(method, p.srv.URL+PayPrefix+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", authScheme+`mchid="`+m.MchID+`",nonce_str="`+nonce+`",timestamp="`+ts+`",serial_no="`+m.CertSerial+`",signature="`+sig+`"`)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// apiError asserts err is the SDK's *core.APIError with status and code.
func apiError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ae *core.APIError
	if !errors.As(err, &ae) || ae.StatusCode != status || ae.Code != code || ae.Message == "" {
		t.Errorf("err = %v, want *core.APIError %d %s with a message", err, status, code)
	}
}

// payError asserts a raw answer is a WeChat Pay error.
func assertPayError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var e payErrorBody
	if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != status || e.Code != code || e.Message == "" {
		t.Errorf("answer %d %s, want %d with code %s and a message", resp.StatusCode, body, status, code)
	}
	if rid := resp.Header.Get("Request-ID"); rid == "" {
		t.Error("error answer without Request-ID")
	}
}

// prepay creates an order of merchant A through the SDK.
func (p *payEnv) prepay(t *testing.T, c *core.Client, outTradeNo string, total int64, notifyURL string) string {
	t.Helper()
	resp, _, err := (&jsapi.JsapiApiService{Client: c}).Prepay(context.Background(), prepayReq(outTradeNo, total, notifyURL))
	if err != nil {
		t.Fatalf("prepay %s: %v", outTradeNo, err)
	}
	return *resp.PrepayId
}

func prepayReq(outTradeNo string, total int64, notifyURL string) jsapi.PrepayRequest {
	if notifyURL == "" {
		notifyURL = "https://merchant.example.com/paynotify"
	}
	return jsapi.PrepayRequest{
		Appid: core.String(appA), Mchid: core.String(mchA), Description: core.String("测试商品 <1>"),
		OutTradeNo: core.String(outTradeNo), NotifyUrl: core.String(notifyURL), Attach: core.String("u=42"),
		Amount: &jsapi.Amount{Total: core.Int64(total)}, Payer: &jsapi.Payer{Openid: core.String("oUser0000000000000000000001")},
	}
}

func TestPayPrepayQueryClose(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	c := p.client(t)
	svc := jsapi.JsapiApiService{Client: c}

	// Prepay, and the mini-program's payment parameters signed with the merchant key.
	pay, res, err := svc.PrepayWithRequestPayment(ctx, prepayReq("ORD_0001", 1234, ""))
	if err != nil {
		t.Fatalf("prepay: %v", err)
	}
	if res.Response.StatusCode != 200 || !strings.HasPrefix(*pay.PrepayId, "wx") || len(*pay.PrepayId) != 36 {
		t.Errorf("prepay: status %d, prepay_id %q", res.Response.StatusCode, *pay.PrepayId)
	}
	keys, err := p.emu.PayKeys("")
	if err != nil {
		t.Fatal(err)
	}
	mpub, err := utils.LoadPublicKey(keys.MerchantPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	msg := appA + "\n" + *pay.TimeStamp + "\n" + *pay.NonceStr + "\n" + *pay.Package + "\n"
	if !verifyMessage(mpub, []byte(msg), *pay.PaySign) || *pay.Package != "prepay_id="+*pay.PrepayId {
		t.Errorf("paySign %q does not verify with the merchant public key from /keys", *pay.PaySign)
	}

	// Re-entry with the same parameters answers the same prepay_id; other parameters are refused.
	if again := p.prepay(t, c, "ORD_0001", 1234, ""); again != *pay.PrepayId {
		t.Errorf("re-entry prepay_id %s, want %s", again, *pay.PrepayId)
	}
	_, _, err = svc.Prepay(ctx, prepayReq("ORD_0001", 999, ""))
	apiError(t, err, 400, "INVALID_REQUEST")

	// Query: unpaid, then paid (without notification), by both ids.
	txn, res, err := svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("ORD_0001"), Mchid: core.String(mchA)})
	if err != nil || *txn.TradeState != "NOTPAY" || txn.TransactionId != nil || *txn.Amount.Total != 1234 || txn.Attach != nil {
		t.Fatalf("query unpaid: %+v, %v", txn, err)
	}
	if res.Response.Header.Get("Wechatpay-Serial") != p.emu.PublicKeyID() {
		t.Errorf("public-key client got a response signed by %q", res.Response.Header.Get("Wechatpay-Serial"))
	}
	_, _, err = svc.QueryOrderById(ctx, jsapi.QueryOrderByIdRequest{TransactionId: core.String("4200000000000000000000000000"), Mchid: core.String(mchA)})
	apiError(t, err, 404, "ORDER_NOT_EXIST")

	paid, err := p.emu.PayOrder(ctx, "ORD_0001", PayRequest{Deliver: core.Bool(false), PayerTotal: core.Int64(1200), BankType: "CMB_CREDIT"})
	if err != nil || len(paid.TransactionID) != 28 || !strings.HasPrefix(paid.TransactionID, "4200") || paid.Delivered || paid.Status != 0 {
		t.Fatalf("pay: %+v, %v", paid, err)
	}
	for _, q := range []func() (*payments.Transaction, error){
		func() (*payments.Transaction, error) {
			t, _, err := svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("ORD_0001"), Mchid: core.String(mchA)})
			return t, err
		},
		func() (*payments.Transaction, error) {
			t, _, err := svc.QueryOrderById(ctx, jsapi.QueryOrderByIdRequest{TransactionId: core.String(paid.TransactionID), Mchid: core.String(mchA)})
			return t, err
		},
	} {
		txn, err := q()
		if err != nil {
			t.Fatalf("query paid: %v", err)
		}
		if *txn.TradeState != "SUCCESS" || *txn.TransactionId != paid.TransactionID || *txn.Amount.PayerTotal != 1200 ||
			*txn.BankType != "CMB_CREDIT" || *txn.Attach != "u=42" || *txn.Payer.Openid != "oUser0000000000000000000001" ||
			*txn.TradeType != "JSAPI" || *txn.Appid != appA || *txn.Mchid != mchA || !strings.HasSuffix(*txn.SuccessTime, "+08:00") {
			t.Errorf("query paid: %s", mustJSON(t, txn))
		}
	}
	// Another merchant sees neither the order nor the transaction.
	cb := p.clientWith(t, p.b, p.bKey)
	_, _, err = (&jsapi.JsapiApiService{Client: cb}).QueryOrderById(ctx, jsapi.QueryOrderByIdRequest{TransactionId: core.String(paid.TransactionID), Mchid: core.String(mchB)})
	apiError(t, err, 404, "ORDER_NOT_EXIST")

	// A paid order cannot be closed nor prepaid again.
	_, err = svc.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String("ORD_0001"), Mchid: core.String(mchA)})
	apiError(t, err, 400, "ORDERPAID")
	_, _, err = svc.Prepay(ctx, prepayReq("ORD_0001", 1234, ""))
	apiError(t, err, 400, "ORDERPAID")

	// Close: 204, signed over the empty body (the SDK verified it), idempotent; then the order is
	// CLOSED for queries and prepay, and cannot be paid.
	p.prepay(t, c, "ORD_0002", 100, "")
	for i := range 2 {
		res, err := svc.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String("ORD_0002"), Mchid: core.String(mchA)})
		if err != nil || res.Response.StatusCode != http.StatusNoContent || res.Response.Header.Get("Wechatpay-Signature") == "" {
			t.Fatalf("close #%d: %v", i+1, err)
		}
	}
	txn, _, err = svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("ORD_0002"), Mchid: core.String(mchA)})
	if err != nil || *txn.TradeState != "CLOSED" {
		t.Errorf("query closed: %+v, %v", txn, err)
	}
	_, _, err = svc.Prepay(ctx, prepayReq("ORD_0002", 100, ""))
	apiError(t, err, 400, "ORDER_CLOSED")
	if _, err := p.emu.PayOrder(ctx, "ORD_0002", PayRequest{}); !isControl(err, 409, "order_closed") {
		t.Errorf("paying a closed order: %v", err)
	}
	_, err = svc.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String("NOPE_0001"), Mchid: core.String(mchA)})
	apiError(t, err, 404, "ORDER_NOT_EXIST")
}

func isControl(err error, status int, code string) bool {
	var ce *ControlError
	return errors.As(err, &ce) && ce.Status == status && ce.Code == code
}

func TestPayAuthentication(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	body := []byte(`{"mchid":"` + mchA + `"}`)
	path := "/v3/pay/transactions/out-trade-no/ORD_0001/close"

	// The SDK with a key the emulator does not know for that serial: 401 SIGN_ERROR with the
	// message the emulator built.
	other, otherKey, err := GenerateMerchant(mchA)
	if err != nil {
		t.Fatal(err)
	}
	wrong := p.a
	_, _, err = (&jsapi.JsapiApiService{Client: p.clientWith(t, wrong, otherKey)}).Prepay(ctx, prepayReq("ORD_0001", 1, ""))
	apiError(t, err, 401, "SIGN_ERROR")
	var ae *core.APIError
	if errors.As(err, &ae) && !strings.Contains(ae.Body, "sign_information") {
		t.Errorf("SIGN_ERROR without sign_information: %s", ae.Body)
	}

	p.prepay(t, p.client(t), "ORD_0001", 100, "")
	cases := []struct {
		name   string
		m      Merchant
		key    *rsa.PrivateKey
		body   []byte
		hdr    map[string]string
		status int
		code   string
	}{
		{"unknown serial", other, p.aKey, body, nil, 401, "SIGN_ERROR"},
		{"body mchid differs from the header's", p.a, p.aKey, []byte(`{"mchid":"` + mchB + `"}`), nil, 401, "SIGN_ERROR"},
		{"unknown merchant", Merchant{MchID: "1999999999", CertSerial: p.a.CertSerial}, p.aKey, body, nil, 400, "MCH_NOT_EXISTS"},
		{"no Authorization", p.a, p.aKey, body, map[string]string{"Authorization": ""}, 401, "SIGN_ERROR"},
		{"other scheme", p.a, p.aKey, body, map[string]string{"Authorization": "Bearer x"}, 401, "SIGN_ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := p.raw(t, tc.m, tc.key, http.MethodPost, path, tc.body, tc.hdr)
			assertPayError(t, resp, b, tc.status, tc.code)
		})
	}

	// A body changed after signing, and timestamps off by more than five minutes either way.
	t.Run("tampered body", func(t *testing.T) {
		ts := strconv.FormatInt(p.clock.Now().Unix(), 10)
		sig := signMessage(p.aKey, requestMessage("POST", path, ts, "n", body))
		req, _ := http.NewRequest("POST", p.srv.URL+PayPrefix+path, strings.NewReader(`{"mchid":"`+mchA+`" }`))
		req.Header.Set("Authorization", authScheme+`mchid="`+mchA+`",nonce_str="n",timestamp="`+ts+`",serial_no="`+p.a.CertSerial+`",signature="`+sig+`"`)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assertPayError(t, resp, b, 401, "SIGN_ERROR")
	})
	stale := func(skew time.Duration) (*http.Response, []byte) {
		ts := strconv.FormatInt(p.clock.Now().Add(skew).Unix(), 10)
		sig := signMessage(p.aKey, requestMessage("POST", path, ts, "n", body))
		req, _ := http.NewRequest("POST", p.srv.URL+PayPrefix+path, bytes.NewReader(body))
		req.Header.Set("Authorization", authScheme+`mchid="`+mchA+`",nonce_str="n",timestamp="`+ts+`",serial_no="`+p.a.CertSerial+`",signature="`+sig+`"`)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, skew := range []time.Duration{-301 * time.Second, 301 * time.Second} {
		resp, b := stale(skew)
		assertPayError(t, resp, b, 401, "SIGN_ERROR")
	}
	if o, _ := p.emu.Order(mchA, "ORD_0001"); o.TradeState != "NOTPAY" {
		t.Errorf("refused closes changed the order: %s", o.TradeState)
	}
	if resp, _ := stale(-290 * time.Second); resp.StatusCode != http.StatusNoContent {
		t.Errorf("a request 290 s old: status %d, want 204", resp.StatusCode)
	}
}

func TestPayPrepayValidation(t *testing.T) {
	p := payFresh(t)
	good := func() map[string]any {
		return map[string]any{"appid": appA, "mchid": mchA, "description": "d", "out_trade_no": "ORD_0001",
			"notify_url": "https://merchant.example.com/n", "amount": map[string]any{"total": 1}, "payer": map[string]any{"openid": "oU"}}
	}
	cases := []struct {
		name   string
		edit   func(m map[string]any)
		status int
		code   string
	}{
		{"out_trade_no too short", func(m map[string]any) { m["out_trade_no"] = "ORD1" }, 400, "PARAM_ERROR"},
		{"out_trade_no with a dot", func(m map[string]any) { m["out_trade_no"] = "ORD.0001" }, 400, "PARAM_ERROR"},
		{"out_trade_no too long", func(m map[string]any) { m["out_trade_no"] = strings.Repeat("A", 33) }, 400, "PARAM_ERROR"},
		{"amount 0", func(m map[string]any) { m["amount"] = map[string]any{"total": 0} }, 400, "PARAM_ERROR"},
		{"amount missing", func(m map[string]any) { delete(m, "amount") }, 400, "PARAM_ERROR"},
		{"amount a string", func(m map[string]any) { m["amount"] = map[string]any{"total": "1"} }, 400, "PARAM_ERROR"},
		{"currency", func(m map[string]any) { m["amount"] = map[string]any{"total": 1, "currency": "USD"} }, 400, "PARAM_ERROR"},
		{"no openid", func(m map[string]any) { delete(m, "payer") }, 400, "PARAM_ERROR"},
		{"appid of another merchant", func(m map[string]any) { m["appid"] = appB }, 400, "APPID_MCHID_NOT_MATCH"},
		{"no description", func(m map[string]any) { m["description"] = "" }, 400, "PARAM_ERROR"},
		{"description of 128 characters", func(m map[string]any) { m["description"] = strings.Repeat("商", 128) }, 400, "PARAM_ERROR"},
		{"notify_url with a query", func(m map[string]any) { m["notify_url"] = "https://m.example.com/n?x=1" }, 400, "PARAM_ERROR"},
		{"notify_url relative", func(m map[string]any) { m["notify_url"] = "/n" }, 400, "PARAM_ERROR"},
		{"notify_url ftp", func(m map[string]any) { m["notify_url"] = "ftp://m.example.com/n" }, 400, "PARAM_ERROR"},
		{"time_expire not RFC 3339", func(m map[string]any) { m["time_expire"] = "2024-05-01 12:00:00" }, 400, "PARAM_ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.edit(m)
			b, _ := json.Marshal(m)
			resp, body := p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/pay/transactions/jsapi", b, nil)
			assertPayError(t, resp, body, tc.status, tc.code)
			if n := len(p.emu.Orders()); n != 0 {
				t.Errorf("a refused prepay left %d orders", n)
			}
		})
	}
	resp, body := p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/pay/transactions/jsapi", []byte("{"), nil)
	assertPayError(t, resp, body, 400, "PARAM_ERROR")

	// The good one passes, loopback http included; the same order with reordered keys and
	// explicit CNY is the same request.
	m := good()
	m["notify_url"] = "http://127.0.0.1:8080/paynotify"
	m["time_expire"] = p.clock.Now().Add(time.Hour).In(cst).Format(time.RFC3339)
	b, _ := json.Marshal(m)
	resp, body = p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/pay/transactions/jsapi", b, nil)
	var pr prepayResponse
	if resp.StatusCode != 200 || json.Unmarshal(body, &pr) != nil || pr.PrepayID == "" {
		t.Fatalf("good prepay: %d %s", resp.StatusCode, body)
	}
	m["amount"] = map[string]any{"currency": "CNY", "total": 1}
	t2, _ := time.Parse(time.RFC3339, m["time_expire"].(string))
	m["time_expire"] = t2.UTC().Format(time.RFC3339) // the same instant, another zone
	b, _ = json.Marshal(m)
	resp, body = p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/pay/transactions/jsapi", b, nil)
	var again prepayResponse
	if resp.StatusCode != 200 || json.Unmarshal(body, &again) != nil || again.PrepayID != pr.PrepayID {
		t.Errorf("equivalent re-entry: %d %s, want prepay_id %s", resp.StatusCode, body, pr.PrepayID)
	}
	m["time_expire"] = p.clock.Now().Add(2 * time.Hour).In(cst).Format(time.RFC3339)
	b, _ = json.Marshal(m)
	resp, body = p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/pay/transactions/jsapi", b, nil)
	assertPayError(t, resp, body, 400, "INVALID_REQUEST")

	// After two hours the prepay_id is renewed; after time_expire the order is closed.
	p.clock.advance(59 * time.Minute)
	m["time_expire"] = t2.UTC().Format(time.RFC3339)
	b, _ = json.Marshal(m)
	resp, body = p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/pay/transactions/jsapi", b, nil)
	if resp.StatusCode != 200 || json.Unmarshal(body, &again) != nil || again.PrepayID != pr.PrepayID {
		t.Errorf("re-entry within 2 h: %d %s", resp.StatusCode, body)
	}
	p.clock.advance(2 * time.Minute)
	resp, body = p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/pay/transactions/jsapi", b, nil)
	assertPayError(t, resp, body, 400, "ORDER_CLOSED")
	if o, _ := p.emu.Order("", "ORD_0001"); o.TradeState != "CLOSED" {
		t.Errorf("expired order: %s", o.TradeState)
	}

	delete(m, "time_expire")
	m["out_trade_no"] = "ORD_0002"
	b, _ = json.Marshal(m)
	p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/pay/transactions/jsapi", b, nil)
	first, _ := p.emu.Order("", "ORD_0002")
	p.clock.advance(2 * time.Hour)
	p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/pay/transactions/jsapi", b, nil)
	renewed, _ := p.emu.Order("", "ORD_0002")
	if renewed.PrepayID == first.PrepayID || renewed.TradeState != "NOTPAY" {
		t.Errorf("re-entry after 2 h: prepay_id %s (was %s), state %s", renewed.PrepayID, first.PrepayID, renewed.TradeState)
	}
}

// controlCall makes a control API request to the pay tests' emulator.
func controlCall(t *testing.T, p *payEnv, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, p.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func jsonReader(b []byte) io.Reader { return bytes.NewReader(b) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
