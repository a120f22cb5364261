package emulator

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
)

// receiver is a merchant's notify_url built on the SDK's notify handler: it answers 401 with the
// FAIL body when verification or decryption fails, else status (204 by default).
type receiver struct {
	srv *httptest.Server
	nh  *notify.Handler

	mu      sync.Mutex
	status  int
	got     []received
	refused []string
}

type received struct {
	id, eventType, nonce string
	plain                []byte
	resource             notify.EncryptedResource
}

func newReceiver(t *testing.T, apiV3Key string, v auth.Verifier) *receiver {
	t.Helper()
	nh, err := notify.NewRSANotifyHandler(apiV3Key, v)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{nh: nh, status: http.StatusNoContent}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// pubkeyReceiver verifies with the WeChat Pay public key only, as a public-key merchant does.
func (p *payEnv) pubkeyReceiver(t *testing.T) *receiver {
	t.Helper()
	return newReceiver(t, p.a.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(p.emu.PublicKeyID(), *p.emu.PlatformPublicKey()))
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	var content map[string]any
	n, err := rc.nh.ParseNotifyRequest(r.Context(), r, &content)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.refused = append(rc.refused, err.Error())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"FAIL","message":"失败"}`))
		return
	}
	rc.got = append(rc.got, received{id: n.ID, eventType: n.EventType, nonce: r.Header.Get("Wechatpay-Nonce"),
		plain: []byte(n.Resource.Plaintext), resource: *n.Resource})
	w.WriteHeader(rc.status)
}

func (rc *receiver) url() string { return rc.srv.URL + "/paynotify" }

func (rc *receiver) counts() (int, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got), len(rc.refused)
}

func (rc *receiver) last(t *testing.T) received {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) == 0 {
		t.Fatal("the receiver accepted nothing")
	}
	return rc.got[len(rc.got)-1]
}

func TestPayNotification(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	rc := p.pubkeyReceiver(t)
	p.prepay(t, p.client(t), "ORD_0001", 1234, rc.url())

	paid, err := p.emu.PayOrder(ctx, "ORD_0001", PayRequest{})
	if err != nil || !paid.Delivered || paid.Status != http.StatusNoContent || paid.Error != "" {
		t.Fatalf("pay: %+v, %v", paid, err)
	}
	first := rc.last(t)
	var txn payments.Transaction
	if err := json.Unmarshal(first.plain, &txn); err != nil {
		t.Fatal(err)
	}
	if first.id != paid.NotificationID || first.eventType != "TRANSACTION.SUCCESS" || first.resource.AssociatedData != "transaction" ||
		first.resource.OriginalType != "transaction" || len(first.resource.Nonce) != 12 ||
		*txn.OutTradeNo != "ORD_0001" || *txn.TransactionId != paid.TransactionID || *txn.TradeState != "SUCCESS" ||
		*txn.Amount.Total != 1234 || *txn.Amount.PayerTotal != 1234 || *txn.Appid != appA || *txn.Mchid != mchA || *txn.BankType != "OTHERS" {
		t.Errorf("delivered notification: %+v %s", first, first.plain)
	}

	// A re-send is the same notification (same id and content) with a fresh signature.
	d, err := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{})
	if err != nil || !d.Delivered || d.NotificationID != paid.NotificationID {
		t.Fatalf("renotify: %+v, %v", d, err)
	}
	again := rc.last(t)
	if again.id != first.id || again.nonce == first.nonce || string(again.plain) != string(first.plain) {
		t.Errorf("re-send: id %s nonce %s, first %s %s", again.id, again.nonce, first.id, first.nonce)
	}
	d, _ = p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{NewID: true})
	if d.NotificationID == first.id || rc.last(t).id != d.NotificationID {
		t.Errorf("newId delivery kept id %s", d.NotificationID)
	}
	// A validly signed notification whose content does not match the order.
	d, _ = p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{Patch: json.RawMessage(`{"amount":{"total":1},"appid":"wx0"}`)})
	var patched payments.Transaction
	_ = json.Unmarshal(rc.last(t).plain, &patched)
	if !d.Delivered || *patched.Amount.Total != 1 || *patched.Appid != "wx0" || *patched.OutTradeNo != "ORD_0001" || *patched.Amount.PayerTotal != 1234 {
		t.Errorf("patched: %+v %s", d, rc.last(t).plain)
	}
	if d, _ := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{StaleSeconds: 200}); !d.Delivered {
		t.Errorf("a notification 200 s old must still verify: %+v", d)
	}

	// Every bad variant fails the SDK's verification: the receiver answers 401 and accepts nothing.
	accepted, _ := rc.counts()
	for _, opts := range []NotifyOptions{
		{Probe: true},
		{StaleSeconds: 301},
		{StaleSeconds: -301},
		{Tamper: true},
		{Tamper: true, Patch: json.RawMessage(`{"amount":{"total":1}}`)},
		{SerialOverride: "PUB_KEY_ID_0000000000000000000000000000000099"},
		{Mode: PayModeCert}, // signed with the certificate: a public-key-only verifier refuses it
	} {
		d, err := p.emu.Renotify(ctx, "ORD_0001", opts)
		if err != nil || d.Delivered || d.Status != http.StatusUnauthorized || d.Variant == "" {
			t.Errorf("variant %+v: %+v, %v; want refused with 401", opts, d, err)
		}
	}
	if n, refused := rc.counts(); n != accepted || refused != 7 {
		t.Errorf("after the bad variants: %d accepted (was %d), %d refused", n, accepted, refused)
	}

	// The merchant's answer decides: a 500 is not delivered; an unreachable URL neither.
	rc.mu.Lock()
	rc.status = http.StatusInternalServerError
	rc.mu.Unlock()
	if d, _ := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{}); d.Delivered || d.Status != 500 {
		t.Errorf("merchant answering 500: %+v", d)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if d, _ := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{URL: dead.URL + "/n"}); d.Delivered || d.Status != 0 || d.Error == "" {
		t.Errorf("unreachable merchant: %+v", d)
	}
	o, _ := p.emu.Order("", "ORD_0001")
	if len(o.Deliveries) != 14 || o.Deliveries[0].Status != 204 || o.Deliveries[13].Error == "" || o.NotificationID != paid.NotificationID {
		t.Errorf("delivery log: %s", mustJSON(t, o.Deliveries))
	}

	// Unpaid and unknown orders have no notification.
	p.prepay(t, p.client(t), "ORD_0002", 1, rc.url())
	if _, err := p.emu.Renotify(ctx, "ORD_0002", NotifyOptions{}); !isControl(err, 409, "not_paid") {
		t.Errorf("renotify unpaid: %v", err)
	}
	if _, err := p.emu.NotificationFor("NOPE_0001", NotifyOptions{}); !isControl(err, 404, "unknown_order") {
		t.Errorf("notification for an unknown order: %v", err)
	}
	if _, err := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{Mode: "rsa"}); !isControl(err, 400, "bad_request") {
		t.Errorf("bad mode: %v", err)
	}
}

func TestPayNotificationNotDelivered(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	rc := p.pubkeyReceiver(t)
	p.prepay(t, p.client(t), "ORD_0001", 500, rc.url())

	// Over the control API: pay without delivering; nothing reaches the merchant until /notify.
	resp, body := controlCall(t, p, http.MethodPost, PayPrefix+"/orders/ORD_0001/pay", `{"deliver":false}`)
	var paid PayResponse
	if resp != http.StatusOK || json.Unmarshal(body, &paid) != nil || paid.Delivered || paid.TransactionID == "" {
		t.Fatalf("pay without delivery: %d %s", resp, body)
	}
	if n, _ := rc.counts(); n != 0 {
		t.Fatal("deliver:false delivered")
	}
	resp, body = controlCall(t, p, http.MethodPost, PayPrefix+"/orders/ORD_0001/notify", `{"staleSeconds":10}`)
	var d Delivery
	if resp != http.StatusOK || json.Unmarshal(body, &d) != nil || !d.Delivered || d.NotificationID != paid.NotificationID || d.Variant != "stale=10s" {
		t.Errorf("notify: %d %s", resp, body)
	}
	if resp, body := controlCall(t, p, http.MethodPost, PayPrefix+"/orders/ORD_0001/notify", `{"stale":10}`); resp != 400 || !strings.Contains(string(body), "bad_request") {
		t.Errorf("misspelt option: %d %s", resp, body)
	}
	if resp, _ := controlCall(t, p, http.MethodPost, PayPrefix+"/orders/ORD_0001/pay", ``); resp != http.StatusConflict {
		t.Errorf("paying twice: %d", resp)
	}

	// One notification delivered many times at once: every copy verifies and carries the same id.
	n, err := p.emu.NotificationFor("ORD_0001", NotifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	statuses := make([]int, 16)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := n.NewRequest(ctx)
			if err != nil {
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusNoContent {
			t.Errorf("copy %d: status %d", i, s)
		}
	}
	rc.mu.Lock()
	for _, g := range rc.got {
		if g.id != paid.NotificationID {
			t.Errorf("a copy carried id %s, want %s", g.id, paid.NotificationID)
		}
	}
	rc.mu.Unlock()
	if got, _ := rc.counts(); got != 17 {
		t.Errorf("accepted %d, want 17", got)
	}

	// A late payment of a closed order (evenIfClosed), for the merchant's "closed but paid" path.
	p.prepay(t, p.client(t), "ORD_0002", 300, rc.url())
	if _, err := (&jsapi.JsapiApiService{Client: p.client(t)}).CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String("ORD_0002"), Mchid: core.String(mchA)}); err != nil {
		t.Fatal(err)
	}
	late, err := p.emu.PayOrder(ctx, "ORD_0002", PayRequest{EvenIfClosed: true})
	if err != nil || !late.Delivered {
		t.Fatalf("late payment: %+v, %v", late, err)
	}
	if o, _ := p.emu.Order("", "ORD_0002"); o.TradeState != "SUCCESS" {
		t.Errorf("late-paid order: %s", o.TradeState)
	}
}

func TestPayNotificationModes(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	certs := core.NewCertificateMapWithList([]*x509.Certificate{p.emu.PlatformCertificate()})
	combined := newReceiver(t, p.a.APIv3Key, verifiers.NewSHA256WithRSACombinedVerifier(certs, p.emu.PublicKeyID(), *p.emu.PlatformPublicKey()))
	certOnly := newReceiver(t, p.a.APIv3Key, verifiers.NewSHA256WithRSAVerifier(certs))
	p.prepay(t, p.client(t), "ORD_0001", 1, combined.url())
	if _, err := p.emu.PayOrder(ctx, "ORD_0001", PayRequest{}); err != nil {
		t.Fatal(err)
	}
	// During a migration the merchant accepts both signatures.
	for _, mode := range []string{PayModePublicKey, PayModeCert} {
		if d, _ := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{Mode: mode}); !d.Delivered {
			t.Errorf("combined verifier, %s signature: %+v", mode, d)
		}
	}
	// A certificate merchant accepts the certificate's signature only.
	if d, _ := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{Mode: PayModeCert, URL: certOnly.url()}); !d.Delivered {
		t.Errorf("certificate verifier, certificate signature: %+v", d)
	}
	if d, _ := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{URL: certOnly.url()}); d.Delivered {
		t.Errorf("certificate verifier accepted a public-key signature: %+v", d)
	}
	// A wrong APIv3 key fails decryption even with a valid signature.
	wrongKey := newReceiver(t, strings.Repeat("k", 32), verifiers.NewSHA256WithRSAPubkeyVerifier(p.emu.PublicKeyID(), *p.emu.PlatformPublicKey()))
	if d, _ := p.emu.Renotify(ctx, "ORD_0001", NotifyOptions{URL: wrongKey.url()}); d.Delivered {
		t.Errorf("a receiver with another APIv3 key accepted: %+v", d)
	}
}
