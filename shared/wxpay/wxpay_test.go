package wxpay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// Two emulators share one platform key and one merchant: pk is a merchant that switched to the
// WeChat Pay public key (it still serves its platform certificate) and answers bill download URLs
// on its own base; cert is a merchant on platform certificates whose download URLs name the real
// host, as WeChat Pay's do.
var (
	platformKey *rsa.PrivateKey
	merchant    emulator.Merchant
	merchantKey *rsa.PrivateKey
	pk, cert    *emu
	notified    *inbox
)

// emu is one emulator behind its own loopback server.
type emu struct {
	*emulator.Emulator
	url string // http://127.0.0.1:PORT
}

func (e *emu) base() string { return e.url + emulator.PayPrefix }

func TestMain(m *testing.M) {
	var err error
	if platformKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if merchant, merchantKey, err = emulator.GenerateMerchant(emulator.DefaultMchID); err != nil {
		panic(err)
	}
	notified = newInbox()
	var closers []func()
	start := func(mode string, ownDownloadBase bool) *emu {
		srv := httptest.NewUnstartedServer(nil)
		u := "http://" + srv.Listener.Addr().String()
		pc := emulator.PayConfig{Merchants: []emulator.Merchant{merchant}, PlatformKey: platformKey, Mode: mode}
		if ownDownloadBase {
			pc.DownloadBase = u + emulator.PayPrefix
		}
		e := emulator.New(emulator.Config{Pay: pc})
		srv.Config.Handler = e
		srv.Start()
		closers = append(closers, srv.Close)
		return &emu{Emulator: e, url: u}
	}
	pk = start(emulator.PayModePublicKey, true)
	cert = start(emulator.PayModeCert, false)
	code := m.Run()
	for _, c := range closers {
		c()
	}
	notified.close()
	os.Exit(code)
}

// inbox is the merchant's notify URL: it records every notification and acknowledges it.
type inbox struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string][]delivery // by path
}

type delivery struct {
	header http.Header
	body   []byte
}

func newInbox() *inbox {
	in := &inbox{got: map[string][]delivery{}}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		in.mu.Lock()
		in.got[r.URL.Path] = append(in.got[r.URL.Path], delivery{header: r.Header.Clone(), body: b})
		in.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return in
}

func (in *inbox) close() { in.srv.Close() }

// url is a notify URL of its own for one test.
func (in *inbox) url(t *testing.T) string {
	return in.srv.URL + "/notify/" + strings.ReplaceAll(t.Name(), "/", "_")
}

// last returns the latest notification sent to url.
func (in *inbox) last(t *testing.T, url string) delivery {
	t.Helper()
	path := strings.TrimPrefix(url, in.srv.URL)
	in.mu.Lock()
	defer in.mu.Unlock()
	d := in.got[path]
	if len(d) == 0 {
		t.Fatalf("no notification arrived at %s", path)
	}
	return d[len(d)-1]
}

// env is the function's environment against e, in public-key mode unless overridden; values ""
// remove a variable.
func env(e *emu, notifyURL string, override map[string]string) config.Lookup {
	p8, _ := x509.MarshalPKCS8PrivateKey(merchantKey)
	pub, _ := x509.MarshalPKIXPublicKey(e.PlatformPublicKey())
	vars := map[string]string{
		"WX_APPID":            emulator.DefaultAppID,
		"WXPAY_MCHID":         merchant.MchID,
		"WXPAY_CERT_SERIAL":   merchant.CertSerial,
		"WXPAY_PRIVATE_KEY":   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		"WXPAY_APIV3_KEY":     merchant.APIv3Key,
		"WXPAY_PUBLIC_KEY_ID": e.PublicKeyID(),
		"WXPAY_PUBLIC_KEY":    string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"WXPAY_NOTIFY_URL":    notifyURL,
		"WXPAY_API_BASE":      e.base(),
	}
	for k, v := range override {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	return config.Map(vars)
}

var certMode = map[string]string{"WXPAY_PUBLIC_KEY_ID": "", "WXPAY_PUBLIC_KEY": ""}
var bothModes = map[string]string{"WXPAY_PLATFORM_CERTS": "true"}

// client builds a client from env, as deps does.
func client(t testing.TB, e *emu, notifyURL string, override map[string]string, opts ...wxpay.Option) *wxpay.Client {
	t.Helper()
	cfg, err := config.LoadPay(env(e, notifyURL, override))
	if err != nil {
		t.Fatal(err)
	}
	c, err := wxpay.New(context.Background(), cfg, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// control calls the emulator's control API and decodes its JSON answer.
func control(t *testing.T, e *emu, method, path string, body any) map[string]any {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return out
}

var seq struct {
	sync.Mutex
	n int
}

// orderNo is a fresh out_trade_no.
func orderNo() string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("T%s%04d", time.Now().Format("150405"), seq.n)
}

const openID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

// placeAndPay prepays an order with c and has the emulator pay it; it returns the order number
// and the notification that arrived.
func placeAndPay(t *testing.T, c *wxpay.Client, e *emu, notifyURL string, total int64) (string, delivery) {
	t.Helper()
	no := orderNo()
	if _, err := c.Prepay(context.Background(), wxpay.PrepayRequest{OutTradeNo: no, Description: "测试商品", Total: total, OpenID: openID, Attach: "u=42", NotifyURL: notifyURL}); err != nil {
		t.Fatal(err)
	}
	paid := control(t, e, http.MethodPost, emulator.PayPrefix+"/orders/"+no+"/pay", nil)
	if paid["delivered"] != true {
		t.Fatalf("notification not delivered: %v", paid)
	}
	return no, notified.last(t, notifyURL)
}

// resign signs body as WeChat Pay would, with the platform key under serial, at ts.
func resign(body []byte, serial string, ts time.Time) http.Header {
	h := http.Header{}
	t := strconv.FormatInt(ts.Unix(), 10)
	nonce := "0123456789ABCDEF0123456789ABCDEF"
	sum := sha256.Sum256([]byte(t + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, platformKey, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	h.Set(wxpay.HeaderTimestamp, t)
	h.Set(wxpay.HeaderNonce, nonce)
	h.Set(wxpay.HeaderSerial, serial)
	h.Set(wxpay.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	h.Set(wxpay.HeaderSignatureType, "WECHATPAY2-SHA256-RSA2048")
	return h
}

func verifyPaySign(t *testing.T, appID string, p wxpay.Payment) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(p.PaySign)
	if err != nil {
		t.Fatalf("paySign is not base64: %v", err)
	}
	sum := sha256.Sum256([]byte(appID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"))
	if err := rsa.VerifyPKCS1v15(&merchantKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign does not verify with the merchant's public key: %v", err)
	}
}

func TestPrepayReturnsVerifiableRequestPayment(t *testing.T) {
	ctx := context.Background()
	c := client(t, pk, notified.url(t), nil)
	if c.MchID() != merchant.MchID || c.AppID() != emulator.DefaultAppID {
		t.Fatalf("MchID/AppID = %s/%s", c.MchID(), c.AppID())
	}
	no := orderNo()
	expire := time.Now().Add(30 * time.Minute)
	p, err := c.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: no, Description: "测试商品A", Total: 1234, OpenID: openID, TimeExpire: expire})
	if err != nil {
		t.Fatal(err)
	}
	if p.PrepayID == "" || p.Package != "prepay_id="+p.PrepayID || p.SignType != "RSA" || len(p.NonceStr) != 32 {
		t.Fatalf("payment: %+v", p)
	}
	if ts, err := strconv.ParseInt(p.TimeStamp, 10, 64); err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Fatalf("timeStamp %q is not now in Unix seconds", p.TimeStamp)
	}
	verifyPaySign(t, emulator.DefaultAppID, p)

	// What the mini-program receives: exactly wx.requestPayment's parameters.
	j, _ := json.Marshal(p)
	var keys map[string]string
	json.Unmarshal(j, &keys)
	if len(keys) != 5 || keys["paySign"] != p.PaySign || keys["package"] != p.Package || keys["timeStamp"] != p.TimeStamp {
		t.Fatalf("JSON for wx.requestPayment: %s", j)
	}

	// The same order again (a prepay_id renewal) is accepted; other parameters are refused.
	if _, err := c.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: no, Description: "测试商品A", Total: 1234, OpenID: openID, TimeExpire: expire}); err != nil {
		t.Fatalf("identical re-entry: %v", err)
	}
	_, err = c.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: no, Description: "测试商品A", Total: 999, OpenID: openID, TimeExpire: expire})
	var ae *wxpay.APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_REQUEST" || ae.Status != 400 || wxpay.IsRetryable(err) {
		t.Fatalf("re-entry with another total: %v", err)
	}

	tx, err := c.QueryByOutTradeNo(ctx, no)
	if err != nil {
		t.Fatal(err)
	}
	if tx.OutTradeNo != no || tx.TradeState != wxpay.TradeNotPay || tx.Amount.Total != 1234 || tx.MchID != merchant.MchID || tx.AppID != emulator.DefaultAppID || tx.TransactionID != "" {
		t.Fatalf("unpaid order: %+v", tx)
	}
}

func TestPrepayRefusesBadInputBeforeCalling(t *testing.T) {
	c := client(t, pk, "", map[string]string{"WXPAY_NOTIFY_URL": ""})
	pk.ResetCalls()
	good := wxpay.PrepayRequest{OutTradeNo: orderNo(), Description: "d", Total: 1, OpenID: openID, NotifyURL: "https://example.com/n"}
	for name, mut := range map[string]func(*wxpay.PrepayRequest){
		"short out_trade_no":   func(r *wxpay.PrepayRequest) { r.OutTradeNo = "12345" },
		"bad character":        func(r *wxpay.PrepayRequest) { r.OutTradeNo = "ORDER#0001" },
		"zero total":           func(r *wxpay.PrepayRequest) { r.Total = 0 },
		"no openid":            func(r *wxpay.PrepayRequest) { r.OpenID = "" },
		"no description":       func(r *wxpay.PrepayRequest) { r.Description = "" },
		"long description":     func(r *wxpay.PrepayRequest) { r.Description = strings.Repeat("商", 128) },
		"no notify URL at all": func(r *wxpay.PrepayRequest) { r.NotifyURL = "" },
	} {
		r := good
		mut(&r)
		if _, err := c.Prepay(context.Background(), r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := pk.CallCount(emulator.PayPrefix + "/v3/pay/transactions/jsapi"); n != 0 {
		t.Fatalf("bad input reached WeChat Pay %d times", n)
	}
}

func TestQueryAndClose(t *testing.T) {
	ctx := context.Background()
	c := client(t, pk, notified.url(t), nil)

	_, err := c.QueryByOutTradeNo(ctx, "NEVER000PLACED")
	var ae *wxpay.APIError
	if !errors.Is(err, wxpay.ErrNotFound) || !errors.As(err, &ae) || ae.Status != 404 || ae.Code != "ORDER_NOT_EXIST" || wxpay.Code(err) != "ORDER_NOT_EXIST" {
		t.Fatalf("unknown order: %v", err)
	}
	if _, err := c.QueryByTransactionID(ctx, "4200000000000000000000000000"); !errors.Is(err, wxpay.ErrNotFound) {
		t.Fatalf("unknown transaction: %v", err)
	}

	// Close an unpaid order (twice: closing is re-entrant); it cannot be paid any more.
	no := orderNo()
	if _, err := c.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: no, Description: "d", Total: 100, OpenID: openID}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := c.CloseOrder(ctx, no); err != nil {
			t.Fatalf("close #%d: %v", i+1, err)
		}
	}
	tx, err := c.QueryByOutTradeNo(ctx, no)
	if err != nil || tx.TradeState != wxpay.TradeClosed {
		t.Fatalf("closed order: %+v, %v", tx, err)
	}
	if _, err := c.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: no, Description: "d", Total: 100, OpenID: openID}); wxpay.Code(err) != "ORDER_CLOSED" {
		t.Fatalf("prepay of a closed order: %v", err)
	}

	// A paid order: queried by either number; closing it is refused.
	paidNo, _ := placeAndPay(t, c, pk, notified.url(t), 2500)
	byNo, err := c.QueryByOutTradeNo(ctx, paidNo)
	if err != nil {
		t.Fatal(err)
	}
	if byNo.TradeState != wxpay.TradeSuccess || byNo.TransactionID == "" || byNo.Payer.OpenID != openID || byNo.Amount.Total != 2500 || byNo.Attach != "u=42" || byNo.SuccessTime == "" || byNo.TradeType != "JSAPI" {
		t.Fatalf("paid order: %+v", byNo)
	}
	byID, err := c.QueryByTransactionID(ctx, byNo.TransactionID)
	if err != nil || *byID != *byNo {
		t.Fatalf("by transaction id: %+v, %v; by out_trade_no: %+v", byID, err, byNo)
	}
	if err := c.CloseOrder(ctx, paidNo); err == nil || wxpay.IsRetryable(err) {
		t.Fatalf("closing a paid order: %v", err)
	}
}

func TestErrorsAndRetryability(t *testing.T) {
	ctx := context.Background()
	c := client(t, pk, notified.url(t), nil)
	tests := []struct {
		code      string
		status    int
		retryable bool
	}{
		{"SYSTEM_ERROR", 500, true},
		{"FREQUENCY_LIMITED", 429, true},
		{"BANK_ERROR", 500, true},
		{"PARAM_ERROR", 400, false},
		{"NO_AUTH", 403, false},
		{"APPID_MCHID_NOT_MATCH", 400, false},
	}
	for _, tt := range tests {
		if err := pk.InjectFault(emulator.Fault{Path: "/v3/pay/transactions/jsapi", Code: tt.code, Count: 1}); err != nil {
			t.Fatal(err)
		}
		_, err := c.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: orderNo(), Description: "d", Total: 1, OpenID: openID})
		var ae *wxpay.APIError
		if !errors.As(err, &ae) || ae.Code != tt.code || ae.Status != tt.status || ae.RequestID == "" {
			t.Errorf("%s: %v", tt.code, err)
		}
		if wxpay.IsRetryable(err) != tt.retryable {
			t.Errorf("%s: IsRetryable = %v", tt.code, !tt.retryable)
		}
		// Our text, not the SDK's header dump.
		if strings.Contains(err.Error(), "Header:") || !strings.HasPrefix(err.Error(), "wxpay prepay: ") {
			t.Errorf("%s: error text %q", tt.code, err)
		}
	}

	// Nobody listening: retryable, and the error does not carry the request.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String() + "/_emu/pay"
	l.Close()
	down := client(t, pk, "", map[string]string{"WXPAY_API_BASE": dead})
	_, err := down.QueryByOutTradeNo(ctx, "ANY0000001")
	if err == nil || !wxpay.IsRetryable(err) || strings.Contains(err.Error(), "mchid=") {
		t.Fatalf("unreachable: %v", err)
	}
	if wxpay.IsRetryable(nil) || wxpay.IsRetryable(errors.New("other")) {
		t.Fatal("IsRetryable of nil or a foreign error")
	}
}

// A response signed with another key than the configured public key is not believed.
func TestForgedResponseIsRefused(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	c := client(t, pk, notified.url(t), map[string]string{"WXPAY_PUBLIC_KEY": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))})
	_, err = c.Prepay(context.Background(), wxpay.PrepayRequest{OutTradeNo: orderNo(), Description: "d", Total: 1, OpenID: openID})
	if !errors.Is(err, wxpay.ErrInvalidSignature) || wxpay.IsRetryable(err) {
		t.Fatalf("response signed with another key: %v", err)
	}
}

func TestRefunds(t *testing.T) {
	ctx := context.Background()
	url := notified.url(t)
	c := client(t, pk, url, nil)
	no, _ := placeAndPay(t, c, pk, url, 1000)

	rf, err := c.CreateRefund(ctx, wxpay.RefundRequest{OutTradeNo: no, OutRefundNo: "R" + no, Reason: "不想要了", Refund: 400, Total: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if rf.Status != wxpay.RefundProcessing || rf.RefundID == "" || rf.OutRefundNo != "R"+no || rf.OutTradeNo != no || rf.Amount.Refund != 400 || rf.Amount.Total != 1000 || !strings.HasSuffix(rf.CreateTime, "+08:00") {
		t.Fatalf("created refund: %+v", rf)
	}
	// Retrying with the same out_refund_no gives the same refund, not a second one.
	again, err := c.CreateRefund(ctx, wxpay.RefundRequest{OutTradeNo: no, OutRefundNo: "R" + no, Reason: "不想要了", Refund: 400, Total: 1000})
	if err != nil || again.RefundID != rf.RefundID {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	// More than what is left: refused, not retryable.
	_, err = c.CreateRefund(ctx, wxpay.RefundRequest{OutTradeNo: no, OutRefundNo: "R2" + no, Refund: 700, Total: 1000})
	if wxpay.Code(err) != "INVALID_REQUEST" || wxpay.IsRetryable(err) {
		t.Fatalf("over-refund: %v", err)
	}
	// An order never paid cannot be refunded.
	unpaid := orderNo()
	if _, err := c.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: unpaid, Description: "d", Total: 100, OpenID: openID}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRefund(ctx, wxpay.RefundRequest{OutTradeNo: unpaid, OutRefundNo: "R" + unpaid, Refund: 100, Total: 100}); !errors.Is(err, wxpay.ErrNotFound) {
		t.Fatalf("refund of an unpaid order: %v", err)
	}
	if _, err := c.QueryRefund(ctx, "NOSUCHREFUND"); !errors.Is(err, wxpay.ErrNotFound) {
		t.Fatalf("unknown refund: %v", err)
	}

	// WeChat settles it: the query says so and a REFUND.SUCCESS notification arrives.
	control(t, pk, http.MethodPost, emulator.PayPrefix+"/refunds/R"+no+"/settle", map[string]string{"status": "SUCCESS"})
	q, err := c.QueryRefund(ctx, "R"+no)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != wxpay.RefundSuccess || q.RefundID != rf.RefundID || !strings.HasSuffix(q.SuccessTime, "+08:00") || q.UserReceivedAccount == "" || q.Channel == "" {
		t.Fatalf("settled refund: %+v", q)
	}
	d := notified.last(t, url)
	n, err := c.ParseNotification(ctx, d.header, d.body)
	if err != nil {
		t.Fatal(err)
	}
	if n.EventType != wxpay.EventRefundSuccess || n.Refund == nil || n.Transaction != nil {
		t.Fatalf("refund notification: %+v", n)
	}
	if r := n.Refund; r.OutRefundNo != "R"+no || r.RefundID != rf.RefundID || r.RefundStatus != wxpay.RefundSuccess || r.OutTradeNo != no || r.MchID != merchant.MchID || r.Amount.Refund != 400 || r.Amount.Total != 1000 {
		t.Fatalf("refund notice: %+v", r)
	}
}

// recorder is a transport that keeps what goes on the wire.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, url string
	header      http.Header
	body        []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.String(), req.Header.Clone(), body})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// What the client sends: the SDK's request redirected under the configured base path through the
// caller's own http.Client, naming the public key, with time_expire in +08:00.
func TestRequestsOnTheWire(t *testing.T) {
	rec := &recorder{}
	cfg, err := config.LoadPay(env(pk, notified.url(t), nil))
	if err != nil {
		t.Fatal(err)
	}
	c, err := wxpay.New(context.Background(), cfg, &http.Client{Transport: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	no := orderNo()
	expire := time.Now().Add(2 * time.Hour).Truncate(time.Second).UTC() // given in UTC, sent in +08:00
	want := expire.Add(8*time.Hour).Format("2006-01-02T15:04:05") + "+08:00"
	if _, err := c.Prepay(context.Background(), wxpay.PrepayRequest{OutTradeNo: no, Description: "d", Total: 1, OpenID: openID, TimeExpire: expire}); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 1 {
		t.Fatalf("%d requests", len(rec.reqs))
	}
	r := rec.reqs[0]
	if r.method != http.MethodPost || r.url != pk.base()+"/v3/pay/transactions/jsapi" {
		t.Fatalf("sent %s %s", r.method, r.url)
	}
	if !strings.HasPrefix(r.header.Get("Authorization"), `WECHATPAY2-SHA256-RSA2048 mchid="`+merchant.MchID+`"`) || r.header.Get("Wechatpay-Serial") != pk.PublicKeyID() {
		t.Fatalf("headers: %v", r.header)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body["time_expire"] != want || body["notify_url"] != notified.url(t) || body["appid"] != emulator.DefaultAppID || body["mchid"] != merchant.MchID {
		t.Fatalf("body: %s", r.body)
	}
	o, err := pk.Order(merchant.MchID, no)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := time.Parse(time.RFC3339, o.ExpireTime); err != nil || !got.Equal(expire) {
		t.Fatalf("WeChat Pay understood time_expire as %q", o.ExpireTime)
	}
}

// The wire samples in testdata decode into the package's structs with their fields in place.
func TestWireSamples(t *testing.T) {
	load := func(file string, v any) {
		t.Helper()
		raw, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	var tx wxpay.Transaction
	load("transaction-notpay.json", &tx)
	if tx.TradeState != wxpay.TradeNotPay || tx.TransactionID != "" || tx.Amount.Total != 1234 || tx.Payer.OpenID != "" {
		t.Fatalf("unpaid transaction: %+v", tx)
	}
	var rf wxpay.Refund
	load("refund.json", &rf)
	if rf.Status != wxpay.RefundSuccess || rf.Amount.Refund != 500 || rf.Amount.PayerRefund != 500 || rf.Channel != "ORIGINAL" || rf.CreateTime == "" {
		t.Fatalf("refund: %+v", rf)
	}
	var ref wxpay.BillRef
	load("bill-ref.json", &ref)
	if ref.HashType != "SHA1" || len(ref.HashValue) != 40 || !strings.HasPrefix(ref.DownloadURL, "https://api.mch.weixin.qq.com/v3/billdownload/file?token=") {
		t.Fatalf("bill ref: %+v", ref)
	}
	var p wxpay.Payment
	load("payment.json", &p)
	if p.Package != "prepay_id=wx201410272009395522657a690389285100" || p.SignType != "RSA" || p.TimeStamp == "" || p.NonceStr == "" || p.PaySign == "" {
		t.Fatalf("payment: %+v", p)
	}
}
