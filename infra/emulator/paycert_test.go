package emulator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// withMode returns the pay test environment with another emulator in the given mode: same
// merchants, same platform key (no key generation), same clock, its own server.
func (p *payEnv) withMode(t *testing.T, mode string) *payEnv {
	t.Helper()
	e := New(Config{
		Apps: []App{{AppID: appA, Secret: secretA}, {AppID: appB, Secret: secretB}},
		Now:  p.clock.Now,
		Pay:  PayConfig{Merchants: []Merchant{p.a, p.b}, PlatformKey: p.emu.payCfg.platform().key, Mode: mode},
	})
	q := *p
	q.emu, q.srv = e, httptest.NewServer(e)
	t.Cleanup(q.srv.Close)
	return &q
}

func TestPayCertificates(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	for _, m := range []struct {
		mch Merchant
		c   *core.Client
	}{{p.a, p.client(t)}, {p.b, p.clientWith(t, p.b, p.bKey)}} {
		res, err := m.c.Get(ctx, PayHost+"/v3/certificates")
		if err != nil {
			t.Fatal(err)
		}
		var out certificatesResponse
		if err := core.UnMarshalResponse(res.Response, &out); err != nil || len(out.Data) != 1 {
			t.Fatalf("certificates: %+v, %v", out, err)
		}
		enc := out.Data[0].EncryptCertificate
		pemText, err := utils.DecryptAES256GCM(m.mch.APIv3Key, enc.AssociatedData, enc.Nonce, enc.Ciphertext)
		if err != nil || enc.AssociatedData != "certificate" || enc.Algorithm != "AEAD_AES_256_GCM" {
			t.Fatalf("decrypt the certificate with merchant %s's APIv3 key: %v (%+v)", m.mch.MchID, err, enc)
		}
		cert, err := utils.LoadCertificate(pemText)
		if err != nil {
			t.Fatal(err)
		}
		if s := utils.GetCertificateSerialNumber(*cert); s != out.Data[0].SerialNo || s != p.emu.PlatformCertSerial() || len(s) != 40 ||
			!p.emu.PlatformPublicKey().Equal(cert.PublicKey) {
			t.Errorf("certificate serial %s (listed %s, emulator %s), or its key is not the platform key", s, out.Data[0].SerialNo, p.emu.PlatformCertSerial())
		}
	}
	if _, err := utils.DecryptAES256GCM(p.b.APIv3Key, "certificate", "x", "x"); err == nil {
		t.Error("nonsense decrypted")
	}

	// Responses are signed the way the request's Wechatpay-Serial asks; without one, as the mode says.
	p.prepay(t, p.client(t), "ORD_0001", 1, "")
	for serial, want := range map[string]string{
		p.emu.PlatformCertSerial(): p.emu.PlatformCertSerial(),
		p.emu.PublicKeyID():        p.emu.PublicKeyID(),
		"":                         p.emu.PublicKeyID(),
	} {
		resp, body := p.raw(t, p.a, p.aKey, http.MethodGet, "/v3/pay/transactions/out-trade-no/ORD_0001?mchid="+mchA, nil, map[string]string{"Wechatpay-Serial": serial})
		h := resp.Header
		if h.Get("Wechatpay-Serial") != want || !verifyMessage(p.emu.PlatformPublicKey(),
			responseMessage(h.Get("Wechatpay-Timestamp"), h.Get("Wechatpay-Nonce"), body), h.Get("Wechatpay-Signature")) {
			t.Errorf("request serial %q: response serial %q (want %q) or a bad signature", serial, h.Get("Wechatpay-Serial"), want)
		}
	}
}

func TestPayCertMode(t *testing.T) {
	p := payFresh(t).withMode(t, PayModeCert)
	ctx := context.Background()
	// Reference §10.1 (b): the downloader manager fed through a redirecting client.
	dl, err := core.NewClient(ctx, option.WithMerchantCredential(mchA, p.a.CertSerial, p.aKey), option.WithoutValidator(),
		option.WithHTTPClient(p.redirecting()))
	if err != nil {
		t.Fatal(err)
	}
	mgr := downloader.NewCertificateDownloaderMgr(ctx)
	defer mgr.Stop()
	if err := mgr.RegisterDownloaderWithClient(ctx, dl, mchA, p.a.APIv3Key); err != nil {
		t.Fatalf("certificate download: %v", err)
	}
	// The refresh goes through the validating client now: the emulator signs it with the certificate.
	mgr.DownloadCertificates(ctx)
	if _, ok := mgr.GetCertificate(ctx, mchA, p.emu.PlatformCertSerial()); !ok {
		t.Fatal("the downloader has no platform certificate")
	}
	c, err := core.NewClient(ctx, option.WithWechatPayAutoAuthCipherUsingDownloaderMgr(mchA, p.a.CertSerial, p.aKey, mgr),
		option.WithHTTPClient(p.redirecting()))
	if err != nil {
		t.Fatal(err)
	}
	svc := jsapi.JsapiApiService{Client: c}
	certs := mgr.GetCertificateVisitor(mchA)
	certRC := newReceiver(t, p.a.APIv3Key, verifiers.NewSHA256WithRSAVerifier(certs))
	pubRC := newReceiver(t, p.a.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(p.emu.PublicKeyID(), *p.emu.PlatformPublicKey()))
	if _, _, err := svc.Prepay(ctx, prepayReq("ORD_0001", 100, certRC.url())); err != nil {
		t.Fatalf("prepay in certificate mode: %v", err)
	}
	_, res, err := svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("ORD_0001"), Mchid: core.String(mchA)})
	if err != nil || res.Response.Header.Get("Wechatpay-Serial") != p.emu.PlatformCertSerial() {
		t.Fatalf("query in certificate mode: %v", err)
	}
	if res.Request.Header.Get("Wechatpay-Serial") != p.emu.PlatformCertSerial() {
		t.Errorf("the SDK asked for %q", res.Request.Header.Get("Wechatpay-Serial"))
	}
	// Notifications are signed with the certificate: a certificate merchant verifies them, a
	// public-key-only verifier does not.
	paid, err := p.emu.PayOrder(ctx, "ORD_0001", PayRequest{})
	if err != nil || !paid.Delivered {
		t.Fatalf("certificate-signed notification: %+v, %v", paid, err)
	}
	if d, _ := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{URL: pubRC.url()}); d.Delivered {
		t.Error("a public-key verifier accepted a certificate-signed notification")
	}
	if d, _ := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{Mode: PayModePublicKey, URL: pubRC.url()}); !d.Delivered {
		t.Error("a public-key-signed notification (migration) was refused by the public-key verifier")
	}
}

func TestPayPublicKeyOnlyMode(t *testing.T) {
	p := payFresh(t).withMode(t, PayModePublicKeyOnly)
	ctx := context.Background()
	res, err := p.client(t).Get(ctx, PayHost+"/v3/certificates")
	if err != nil {
		t.Fatal(err)
	}
	var out certificatesResponse
	if err := core.UnMarshalResponse(res.Response, &out); err != nil || out.Data == nil || len(out.Data) != 0 {
		t.Errorf("certificates of a public-key-only merchant: %+v, %v", out, err)
	}
	dl, _ := core.NewClient(ctx, option.WithMerchantCredential(mchA, p.a.CertSerial, p.aKey), option.WithoutValidator(),
		option.WithHTTPClient(p.redirecting()))
	mgr := downloader.NewCertificateDownloaderMgr(ctx)
	defer mgr.Stop()
	if err := mgr.RegisterDownloaderWithClient(ctx, dl, mchA, p.a.APIv3Key); err == nil || !strings.Contains(err.Error(), "no certificate downloaded") {
		t.Errorf("downloader for a public-key-only merchant: %v, want issue #238's error", err)
	}
	// Asking for the certificate's signature still gets the public key's.
	p.prepay(t, p.client(t), "ORD_0001", 1, "")
	resp, _ := p.raw(t, p.a, p.aKey, http.MethodGet, "/v3/pay/transactions/out-trade-no/ORD_0001?mchid="+mchA, nil,
		map[string]string{"Wechatpay-Serial": p.emu.PlatformCertSerial()})
	if got := resp.Header.Get("Wechatpay-Serial"); got != p.emu.PublicKeyID() {
		t.Errorf("public-key-only merchant got a response signed by %s", got)
	}
	keys, _ := p.emu.PayKeys("")
	if keys.Mode != PayModePublicKeyOnly || !strings.HasPrefix(keys.PublicKeyID, "PUB_KEY_ID_") || len(keys.PublicKeyID) != 45 {
		t.Errorf("keys: mode %s, id %s", keys.Mode, keys.PublicKeyID)
	}
}

func TestPayFaults(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	c := p.client(t)
	svc := jsapi.JsapiApiService{Client: c}

	mustPayFault(t, p, Fault{Path: "/v3/pay/transactions/jsapi", Code: "SYSTEM_ERROR", Count: 2})
	for range 2 {
		_, _, err := svc.Prepay(ctx, prepayReq("ORD_0001", 1, ""))
		apiError(t, err, 500, "SYSTEM_ERROR")
	}
	if n := len(p.emu.Orders()); n != 0 {
		t.Errorf("faulted prepays created %d orders", n)
	}
	p.prepay(t, c, "ORD_0001", 1, "")
	if n := p.emu.CallCount("/v3/pay/transactions/jsapi"); n != 3 {
		t.Errorf("prepay calls = %d, want 3", n)
	}

	// Status only, on a path with a parameter; code with its own status and message; over HTTP.
	mustPayFault(t, p, Fault{Path: PayPrefix + "/v3/pay/transactions/out-trade-no/ORD_0001", HTTPStatus: 429})
	_, _, err := svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("ORD_0001"), Mchid: core.String(mchA)})
	apiError(t, err, 429, "FREQUENCY_LIMITED")
	status, raw := controlCall(t, p, http.MethodPost, Prefix+"/faults", `{"path":"/v3/bill/tradebill","code":"STATEMENT_CREATING","errmsg":"账单生成中"}`)
	if status != http.StatusCreated {
		t.Fatalf("fault over HTTP: %d %s", status, raw)
	}
	_, err = c.Get(ctx, PayHost+"/v3/bill/tradebill?bill_date=2024-05-01&bill_type=ALL")
	apiError(t, err, 400, "STATEMENT_CREATING")
	mustPayFault(t, p, Fault{Path: "/v3/pay/transactions/out-trade-no/ORD_0001/close", Code: "SYSTEM_ERROR", HTTPStatus: 503})
	_, err = svc.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String("ORD_0001"), Mchid: core.String(mchA)})
	apiError(t, err, 503, "SYSTEM_ERROR")
	if o, _ := p.emu.Order("", "ORD_0001"); o.TradeState != "NOTPAY" {
		t.Errorf("a faulted close closed the order")
	}

	// Pay faults take codes, wx faults errcodes.
	for _, f := range []Fault{
		{Path: "/v3/pay/transactions/jsapi", Errcode: -1},
		{Path: "/v3/pay/transactions/jsapi"},
		{Path: "/cgi-bin/token", Code: "SYSTEM_ERROR"},
	} {
		if err := p.emu.InjectFault(f); !isControl(err, 400, "bad_request") {
			t.Errorf("fault %+v: %v", f, err)
		}
	}
	if n := len(p.emu.Faults()); n != 0 {
		t.Errorf("%d faults left", n)
	}
	status, raw = controlCall(t, p, http.MethodGet, PayPrefix+"/calls", "")
	if status != 200 || !strings.Contains(string(raw), `"/v3/pay/transactions/jsapi":3`) {
		t.Errorf("pay calls: %d %s", status, raw)
	}
}

func TestPayControlAPI(t *testing.T) {
	p := payFresh(t)
	status, raw := controlCall(t, p, http.MethodGet, PayPrefix+"/keys", "")
	var k PayKeysResponse
	if status != 200 || jsonUnmarshal(raw, &k) != nil {
		t.Fatalf("keys: %d %s", status, raw)
	}
	priv, err1 := utils.LoadPrivateKey(k.PlatformPrivateKey)
	pub, err2 := utils.LoadPublicKey(k.PlatformPublicKey)
	cert, err3 := utils.LoadCertificate(k.PlatformCertificate)
	mpub, err4 := utils.LoadPublicKey(k.MerchantPublicKey)
	if err := firstErr(err1, err2, err3, err4); err != nil {
		t.Fatalf("keys do not load with the SDK: %v", err)
	}
	switch {
	case !priv.PublicKey.Equal(pub) || !pub.Equal(p.emu.PlatformPublicKey()) || !pub.Equal(cert.PublicKey):
		t.Error("the platform private key, public key and certificate do not match")
	case fmt.Sprintf("%X", cert.SerialNumber.Bytes()) != k.PlatformCertSerial || k.PublicKeyID != p.emu.PublicKeyID():
		t.Error("serial or key id")
	case !mpub.Equal(p.a.PublicKey) || k.MchID != mchA || k.APIv3Key != p.a.APIv3Key || k.MerchantCertSerial != p.a.CertSerial || k.AppIDs[0] != appA:
		t.Errorf("merchant part: %+v", k)
	}
	if status, raw := controlCall(t, p, http.MethodGet, PayPrefix+"/keys?mchid="+mchB, ""); status != 200 || !strings.Contains(string(raw), p.b.APIv3Key) {
		t.Errorf("keys of B: %d", status)
	}
	if status, _ := controlCall(t, p, http.MethodGet, PayPrefix+"/keys?mchid=1", ""); status != 404 {
		t.Errorf("keys of an unknown merchant: %d", status)
	}

	p.prepay(t, p.client(t), "ORD_0001", 1, "")
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{http.MethodGet, PayPrefix + "/orders", "", 200},
		{http.MethodGet, PayPrefix + "/orders/ORD_0001", "", 200},
		{http.MethodGet, PayPrefix + "/orders/NOPE_0001", "", 404},
		{http.MethodPost, PayPrefix + "/orders/NOPE_0001/pay", "", 404},
		{http.MethodGet, PayPrefix + "/orders/ORD_0001/pay", "", 405},
		{http.MethodPost, PayPrefix + "/orders/ORD_0001/pay", `{"payerTotal":2}`, 400},
		{http.MethodPost, PayPrefix + "/orders/ORD_0001/pay", `{"bankType":"cmb"}`, 400},
		{http.MethodPost, PayPrefix + "/orders/ORD_0001/pay", `{"deliver":"no"}`, 400},
		{http.MethodPost, PayPrefix + "/refunds/RF_NOPE/settle", `{"status":"SUCCESS"}`, 404},
		{http.MethodGet, PayPrefix + "/bills/2024-05-01", "", 400}, // more than three months ago
		{http.MethodGet, PayPrefix + "/bills/" + p.clock.Now().In(cst).Format("2006-01-02"), "", 404},
		{http.MethodPost, PayPrefix + "/bills/2024-05-01/plant", `{"kind":"missing"}`, 404},
		{http.MethodPut, PayPrefix + "/bills/2024-05-01/plant", "", 405},
	} {
		if status, raw := controlCall(t, p, tc.method, tc.path, tc.body); status != tc.status {
			t.Errorf("%s %s %s: %d %s, want %d", tc.method, tc.path, tc.body, status, raw, tc.status)
		}
	}
	if o, _ := p.emu.Order("", "ORD_0001"); o.TradeState != "NOTPAY" {
		t.Error("refused control calls paid the order")
	}

	// The index names the pay host and its merchants; unknown /v3/ paths answer WeChat Pay's way.
	status, raw = controlCall(t, p, http.MethodGet, Prefix+"/", "")
	var idx IndexResponse
	if status != 200 || jsonUnmarshal(raw, &idx) != nil || idx.Hosts["api.mch.weixin.qq.com"] != PayPrefix || len(idx.Merchants) != 2 ||
		strings.Contains(string(raw), p.a.APIv3Key) {
		t.Errorf("index: %d %s", status, raw)
	}
	resp, body := p.raw(t, p.a, p.aKey, http.MethodGet, "/v3/pay/nothing", nil, nil)
	assertPayError(t, resp, body, 404, "NOT_FOUND")
}

func TestNewPayPanics(t *testing.T) {
	a, _, err := GenerateMerchant(mchA)
	if err != nil {
		t.Fatal(err)
	}
	bad := func(edit func(m *Merchant)) Merchant { m := a; edit(&m); return m }
	for name, cfg := range map[string]PayConfig{
		"mode":          {Mode: "rsa"},
		"key id":        {PublicKeyID: "KEY_1"},
		"mchid":         {Merchants: []Merchant{bad(func(m *Merchant) { m.MchID = "19x" })}},
		"twice":         {Merchants: []Merchant{a, a}},
		"serial":        {Merchants: []Merchant{bad(func(m *Merchant) { m.CertSerial = "" })}},
		"no public key": {Merchants: []Merchant{bad(func(m *Merchant) { m.PublicKey = nil })}},
		"APIv3 key":     {Merchants: []Merchant{bad(func(m *Merchant) { m.APIv3Key = "short" })}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: New did not panic", name)
				}
			}()
			New(Config{Pay: cfg})
		}()
	}
	// No merchant: the pay host refuses everyone, the control API says so.
	e := New(Config{})
	if _, err := e.PayKeys(""); !isControl(err, 404, "no_merchant") {
		t.Errorf("keys without a merchant: %v", err)
	}
	if m := New(Config{Pay: PayConfig{Merchants: []Merchant{a}}}).payCfg.merchants[mchA]; len(m.AppIDs) != 1 || m.AppIDs[0] != DefaultAppID {
		t.Errorf("a merchant without appids is bound to %v, want the default app", m.AppIDs)
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
