package wxpay_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// clock is a settable time source for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func sentAt(t *testing.T, h http.Header) time.Time {
	t.Helper()
	s, err := strconv.ParseInt(h.Get(wxpay.HeaderTimestamp), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(s, 0)
}

// A payment notification as the emulator delivers it (public-key signature) parses into the
// transaction; every way of making it inauthentic is refused with ErrInvalidSignature.
func TestPaymentNotificationPublicKeyMode(t *testing.T) {
	ctx := context.Background()
	url := notified.url(t)
	clk := &clock{t: time.Now()}
	c := client(t, pk, url, nil, wxpay.WithClock(clk.now))
	no, d := placeAndPay(t, c, pk, url, 1234)
	if d.header.Get(wxpay.HeaderSerial) != pk.PublicKeyID() {
		t.Fatalf("emulator signed with %q, want the public key", d.header.Get(wxpay.HeaderSerial))
	}
	sent := sentAt(t, d.header)
	clk.set(sent)

	n, err := c.ParseNotification(ctx, d.header, d.body)
	if err != nil {
		t.Fatal(err)
	}
	tx := n.Transaction
	if n.EventType != wxpay.EventTransactionSuccess || n.ID == "" || n.CreateTime == "" || n.Summary == "" || n.Serial != pk.PublicKeyID() || tx == nil || n.Refund != nil {
		t.Fatalf("notification: %+v", n)
	}
	if tx.OutTradeNo != no || tx.TradeState != wxpay.TradeSuccess || tx.Amount.Total != 1234 || tx.Amount.PayerTotal != 1234 || tx.MchID != merchant.MchID || tx.AppID != emulator.DefaultAppID || tx.Payer.OpenID != openID || tx.TransactionID == "" || tx.Attach != "u=42" {
		t.Fatalf("transaction: %+v", tx)
	}
	var plain map[string]any
	if err := json.Unmarshal(n.Plaintext, &plain); err != nil || plain["out_trade_no"] != no {
		t.Fatalf("plaintext: %s", n.Plaintext)
	}

	// The freshness window, both ways: 299 s is fine, 301 s is not.
	for _, tt := range []struct {
		skew time.Duration
		ok   bool
	}{{299 * time.Second, true}, {-299 * time.Second, true}, {301 * time.Second, false}, {-301 * time.Second, false}} {
		clk.set(sent.Add(tt.skew))
		_, err := c.ParseNotification(ctx, d.header, d.body)
		if tt.ok && err != nil {
			t.Errorf("received %s after signing: %v", tt.skew, err)
		}
		if !tt.ok && !errors.Is(err, wxpay.ErrInvalidSignature) {
			t.Errorf("received %s after signing: %v, want ErrInvalidSignature", tt.skew, err)
		}
	}
	clk.set(sent)

	refused := map[string]func() (http.Header, []byte){
		"tampered body": func() (http.Header, []byte) {
			return d.header, bytes.Replace(d.body, []byte(`"TRANSACTION.SUCCESS"`), []byte(`"TRANSACTION.SUCCESX"`), 1)
		},
		"one byte appended": func() (http.Header, []byte) { return d.header, append(append([]byte{}, d.body...), ' ') },
		"unknown serial": func() (http.Header, []byte) {
			h := d.header.Clone()
			h.Set(wxpay.HeaderSerial, "PUB_KEY_ID_0000000000000000000000000000000099")
			return h, d.body
		},
		"platform certificate serial while only the public key is configured": func() (http.Header, []byte) {
			return resign(d.body, pk.PlatformCertSerial(), sent), d.body
		},
		"other timestamp than signed": func() (http.Header, []byte) {
			h := d.header.Clone()
			h.Set(wxpay.HeaderTimestamp, strconv.FormatInt(sent.Unix()+1, 10))
			return h, d.body
		},
		"other nonce than signed": func() (http.Header, []byte) {
			h := d.header.Clone()
			h.Set(wxpay.HeaderNonce, "X"+h.Get(wxpay.HeaderNonce))
			return h, d.body
		},
		"signature of another message": func() (http.Header, []byte) {
			h := resign([]byte("{}"), pk.PublicKeyID(), sent)
			h.Set(wxpay.HeaderTimestamp, d.header.Get(wxpay.HeaderTimestamp))
			h.Set(wxpay.HeaderNonce, d.header.Get(wxpay.HeaderNonce))
			return h, d.body
		},
		"timestamp not a number": func() (http.Header, []byte) {
			h := d.header.Clone()
			h.Set(wxpay.HeaderTimestamp, "+"+h.Get(wxpay.HeaderTimestamp))
			return h, d.body
		},
		"other signature type": func() (http.Header, []byte) {
			h := d.header.Clone()
			h.Set(wxpay.HeaderSignatureType, "WECHATPAY2-SM2-WITH-SM3")
			return h, d.body
		},
	}
	for _, name := range []string{wxpay.HeaderSerial, wxpay.HeaderSignature, wxpay.HeaderTimestamp, wxpay.HeaderNonce} {
		refused["without "+name] = func() (http.Header, []byte) {
			h := d.header.Clone()
			h.Del(name)
			return h, d.body
		}
	}
	for name, make := range refused {
		h, body := make()
		n, err := c.ParseNotification(ctx, h, body)
		if !errors.Is(err, wxpay.ErrInvalidSignature) || n != nil {
			t.Errorf("%s: %v, %v; want ErrInvalidSignature", name, n, err)
			continue
		}
		if errors.Is(err, wxpay.ErrMalformedNotification) || errors.Is(err, wxpay.ErrSignatureProbe) || wxpay.IsRetryable(err) {
			t.Errorf("%s: misclassified: %v", name, err)
		}
		if sig := h.Get(wxpay.HeaderSignature); strings.Contains(err.Error(), string(body[:40])) || (sig != "" && strings.Contains(err.Error(), sig)) {
			t.Errorf("%s: error quotes the request: %v", name, err)
		}
	}
}

// WeChat Pay's signature probes are refused — never acknowledged — and recognisable.
func TestSignatureProbeIsRefused(t *testing.T) {
	url := notified.url(t)
	c := client(t, pk, url, nil)
	_, d := placeAndPay(t, c, pk, url, 100)
	h := d.header.Clone()
	h.Set(wxpay.HeaderSignature, "WECHATPAY/SIGNTEST/"+base64.StdEncoding.EncodeToString([]byte("probe")))
	n, err := c.ParseNotification(context.Background(), h, d.body)
	if n != nil || !errors.Is(err, wxpay.ErrSignatureProbe) || !errors.Is(err, wxpay.ErrInvalidSignature) {
		t.Fatalf("probe: %v, %v", n, err)
	}
}

// In platform-certificate mode nothing is downloaded until a notification (or a call) needs
// the certificates; then once per process, with at most one refresh a minute for an unknown
// serial.
func TestPaymentNotificationCertificateMode(t *testing.T) {
	ctx := context.Background()
	url := notified.url(t)
	certsPath := emulator.PayPrefix + "/v3/certificates"

	// Someone else places and pays the order; the receiving function starts cold.
	payer := client(t, cert, url, certMode)
	no, d := placeAndPay(t, payer, cert, url, 880)
	if d.header.Get(wxpay.HeaderSerial) != cert.PlatformCertSerial() {
		t.Fatalf("emulator signed with %q, want the certificate", d.header.Get(wxpay.HeaderSerial))
	}

	cert.ResetCalls()
	clk := &clock{t: sentAt(t, d.header)}
	c := client(t, cert, url, certMode, wxpay.WithClock(clk.now))
	if n := cert.CallCount(certsPath); n != 0 {
		t.Fatalf("building the client downloaded certificates %d times", n)
	}
	n, err := c.ParseNotification(ctx, d.header, d.body)
	if err != nil {
		t.Fatal(err)
	}
	if n.Transaction == nil || n.Transaction.OutTradeNo != no || n.Serial != cert.PlatformCertSerial() {
		t.Fatalf("notification: %+v", n)
	}
	if _, err := c.ParseNotification(ctx, d.header, d.body); err != nil {
		t.Fatal(err)
	}
	if n := cert.CallCount(certsPath); n != 1 {
		t.Fatalf("certificates downloaded %d times for two notifications, want 1", n)
	}

	// A serial we do not know is refused. The certificates were just downloaded, so it causes no
	// download; a minute later it causes one refresh, and another unknown serial within that
	// minute none.
	unknown := func() error {
		h := d.header.Clone()
		h.Set(wxpay.HeaderSerial, "7132D72A03E93CDDF8C03BBD1F37EEDF2C7C2B63")
		_, err := c.ParseNotification(ctx, h, d.body)
		return err
	}
	for i, step := range []struct {
		advance time.Duration
		want    int
	}{{0, 1}, {61 * time.Second, 2}, {10 * time.Second, 2}, {51 * time.Second, 3}} {
		clk.add(step.advance)
		if err := unknown(); !errors.Is(err, wxpay.ErrInvalidSignature) {
			t.Fatalf("unknown serial #%d: %v", i+1, err)
		}
		if n := cert.CallCount(certsPath); n != step.want {
			t.Fatalf("after unknown serial #%d: %d downloads, want %d", i+1, n, step.want)
		}
	}
	// A public-key signature means nothing to a merchant on certificates only.
	if _, err := c.ParseNotification(ctx, resign(d.body, cert.PublicKeyID(), clk.now()), d.body); !errors.Is(err, wxpay.ErrInvalidSignature) {
		t.Fatalf("public-key signature in certificate mode: %v", err)
	}
}

// API calls in certificate mode download the certificates first and verify the answers with them.
func TestCertificateModeCalls(t *testing.T) {
	ctx := context.Background()
	cert.ResetCalls()
	c := client(t, cert, notified.url(t), certMode)
	p, err := c.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: orderNo(), Description: "d", Total: 5, OpenID: openID})
	if err != nil {
		t.Fatal(err)
	}
	verifyPaySign(t, emulator.DefaultAppID, p)
	if _, err := c.QueryRefund(ctx, "NOSUCHREFUND"); !errors.Is(err, wxpay.ErrNotFound) {
		t.Fatal(err)
	}
	if n := cert.CallCount(emulator.PayPrefix + "/v3/certificates"); n != 1 {
		t.Fatalf("certificates downloaded %d times, want 1", n)
	}

	// Without a download the merchant cannot verify anything: the call fails, retryably.
	cert.InjectFault(emulator.Fault{Path: "/v3/certificates", Code: "SYSTEM_ERROR", Count: 1})
	fresh := client(t, cert, notified.url(t), certMode)
	if _, err := fresh.QueryByOutTradeNo(ctx, "ANY0000001"); err == nil || !wxpay.IsRetryable(err) {
		t.Fatalf("certificates unavailable: %v", err)
	}
	if _, err := fresh.QueryByOutTradeNo(ctx, "ANY0000001"); !errors.Is(err, wxpay.ErrNotFound) {
		t.Fatalf("after the download recovered: %v", err)
	}
}

// During the switch from certificates to the public key both signatures are accepted, and a
// public-key signature needs no download.
func TestNotificationsDuringMigration(t *testing.T) {
	ctx := context.Background()
	url := notified.url(t)
	certsPath := emulator.PayPrefix + "/v3/certificates"
	payer := client(t, pk, url, nil)
	no, d := placeAndPay(t, payer, pk, url, 321)

	pk.ResetCalls()
	c := client(t, pk, url, bothModes)
	n, err := c.ParseNotification(ctx, d.header, d.body)
	if err != nil || n.Transaction.OutTradeNo != no || n.Serial != pk.PublicKeyID() {
		t.Fatalf("public-key signature: %+v, %v", n, err)
	}
	if k := pk.CallCount(certsPath); k != 0 {
		t.Fatalf("a public-key signature downloaded certificates %d times", k)
	}
	h := resign(d.body, pk.PlatformCertSerial(), time.Now())
	n, err = c.ParseNotification(ctx, h, d.body)
	if err != nil || n.Transaction.OutTradeNo != no || n.Serial != pk.PlatformCertSerial() {
		t.Fatalf("certificate signature: %+v, %v", n, err)
	}
	if k := pk.CallCount(certsPath); k != 1 {
		t.Fatalf("certificates downloaded %d times, want 1", k)
	}
	bad := bytes.Replace(d.body, []byte(`"id"`), []byte(`"Id"`), 1)
	if _, err := c.ParseNotification(ctx, h, bad); !errors.Is(err, wxpay.ErrInvalidSignature) {
		t.Fatalf("tampered, certificate-signed: %v", err)
	}
	// Calls work too: requests name the public key, responses come signed with it.
	if _, err := c.QueryByOutTradeNo(ctx, no); err != nil {
		t.Fatal(err)
	}
}

// seal encrypts plain as WeChat Pay does, for hand-made notifications.
func seal(t testing.TB, key, nonce, aad string, plain []byte) string {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cipher.NewGCM(block)
	return base64.StdEncoding.EncodeToString(g.Seal(nil, []byte(nonce), plain, []byte(aad)))
}

func envelope(eventType string, res wxpay.EncryptedResource) []byte {
	b, _ := json.Marshal(wxpay.NotificationEnvelope{ID: "EV-TEST-0001", CreateTime: "2024-05-01T12:30:05+08:00",
		ResourceType: "encrypt-resource", EventType: eventType, Summary: "支付成功", Resource: res})
	return b
}

// An authentic notification whose content is unusable is ErrMalformedNotification (our problem
// or WeChat's, not a forgery), and never a panic.
func TestAuthenticButMalformed(t *testing.T) {
	ctx := context.Background()
	c := client(t, pk, "", nil)
	plain, _ := os.ReadFile("testdata/transaction-success.json")
	good := wxpay.EncryptedResource{OriginalType: "transaction", Algorithm: "AEAD_AES_256_GCM", AssociatedData: "transaction", Nonce: "fdasflkja484",
		Ciphertext: seal(t, merchant.APIv3Key, "fdasflkja484", "transaction", plain)}
	// The hand-made one parses: the cases below differ from it in one thing each.
	body := envelope(wxpay.EventTransactionSuccess, good)
	if n, err := c.ParseNotification(ctx, resign(body, pk.PublicKeyID(), time.Now()), body); err != nil || n.Transaction.OutTradeNo != "20240501123000A1b2C3d4" {
		t.Fatalf("hand-made notification: %+v, %v", n, err)
	}

	cases := map[string][]byte{
		"not JSON":        []byte("this is not json"),
		"no id":           bytes.Replace(body, []byte(`"EV-TEST-0001"`), []byte(`""`), 1),
		"short nonce":     envelope(wxpay.EventTransactionSuccess, func() wxpay.EncryptedResource { r := good; r.Nonce = "short"; return r }()),
		"long nonce":      envelope(wxpay.EventTransactionSuccess, func() wxpay.EncryptedResource { r := good; r.Nonce = "fdasflkja4840"; return r }()),
		"other algorithm": envelope(wxpay.EventTransactionSuccess, func() wxpay.EncryptedResource { r := good; r.Algorithm = "AEAD_SM4_GCM"; return r }()),
		"not base64":      envelope(wxpay.EventTransactionSuccess, func() wxpay.EncryptedResource { r := good; r.Ciphertext = "%%%"; return r }()),
		"other AAD":       envelope(wxpay.EventTransactionSuccess, func() wxpay.EncryptedResource { r := good; r.AssociatedData = "refund"; return r }()),
		"sealed with another key": envelope(wxpay.EventTransactionSuccess, func() wxpay.EncryptedResource {
			r := good
			r.Ciphertext = seal(t, "another-32-byte-key-000000000000", r.Nonce, r.AssociatedData, plain)
			return r
		}()),
		"plaintext not a transaction": envelope(wxpay.EventTransactionSuccess, func() wxpay.EncryptedResource {
			r := good
			r.Ciphertext = seal(t, merchant.APIv3Key, r.Nonce, r.AssociatedData, []byte(`{"amount":"lots"}`))
			return r
		}()),
	}
	for name, body := range cases {
		n, err := c.ParseNotification(ctx, resign(body, pk.PublicKeyID(), time.Now()), body)
		if n != nil || !errors.Is(err, wxpay.ErrMalformedNotification) || errors.Is(err, wxpay.ErrInvalidSignature) {
			t.Errorf("%s: %v, %v; want ErrMalformedNotification", name, n, err)
		}
	}

	// An event type we do not model still verifies and decrypts.
	other := envelope("MCHTRANSFER.BILL.FINISHED", good)
	n, err := c.ParseNotification(ctx, resign(other, pk.PublicKeyID(), time.Now()), other)
	if err != nil || n.Transaction != nil || n.Refund != nil || !bytes.Equal(n.Plaintext, plain) {
		t.Fatalf("other event type: %+v, %v", n, err)
	}
}

// The sample notifications in testdata decrypt with the documented test key to the samples of
// their resources.
func TestSampleNotifications(t *testing.T) {
	const testKey = "wxfn-testdata-apiv3-key-32-bytes" // test-only; seals testdata/notification-*.json
	c := client(t, pk, "", map[string]string{"WXPAY_APIV3_KEY": testKey})
	for file, want := range map[string]string{
		"testdata/notification-transaction-success.json": "testdata/transaction-success.json",
		"testdata/notification-refund-success.json":      "testdata/refund-notice.json",
	} {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		wantPlain, _ := os.ReadFile(want)
		n, err := c.ParseNotification(context.Background(), resign(body, pk.PublicKeyID(), time.Now()), body)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !bytes.Equal(n.Plaintext, wantPlain) {
			t.Fatalf("%s does not decrypt to %s", file, want)
		}
		switch {
		case n.Transaction != nil:
			if tx := n.Transaction; tx.TransactionID != "4200002024050112300000000001" || tx.BankType != "CMB_CREDIT" || tx.Amount.Total != 1234 || tx.SuccessTime != "2024-05-01T12:30:04+08:00" {
				t.Fatalf("%s: %+v", file, tx)
			}
		case n.Refund != nil:
			if r := n.Refund; r.RefundStatus != "SUCCESS" || r.Amount.PayerRefund != 500 || r.UserReceivedAccount != "招商银行信用卡0403" {
				t.Fatalf("%s: %+v", file, r)
			}
		default:
			t.Fatalf("%s: nothing decoded", file)
		}
	}
}

// BenchmarkParseNotification measures verification and decryption of one payment notification
// (no database): the budget is 5,000 per second on one core, 200 µs/op.
func BenchmarkParseNotification(b *testing.B) {
	plain, _ := os.ReadFile("testdata/transaction-success.json")
	body := envelope(wxpay.EventTransactionSuccess, wxpay.EncryptedResource{OriginalType: "transaction", Algorithm: "AEAD_AES_256_GCM",
		AssociatedData: "transaction", Nonce: "fdasflkja484", Ciphertext: seal(b, merchant.APIv3Key, "fdasflkja484", "transaction", plain)})
	sent := time.Now()
	h := resign(body, pk.PublicKeyID(), sent)
	c := client(b, pk, "", nil, wxpay.WithClock(func() time.Time { return sent }))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.ParseNotification(ctx, h, body); err != nil {
			b.Fatal(err)
		}
	}
}
