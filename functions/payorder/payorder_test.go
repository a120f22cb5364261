package payorder_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/functions/payorder"
	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/auth"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/runtime"
)

var (
	emu      *emulator.Emulator
	emuBase  string
	merchant emulator.Merchant
	mchKey   *rsa.PrivateKey
)

func TestMain(m *testing.M) {
	var err error
	merchant, mchKey, err = emulator.GenerateMerchant(emulator.DefaultMchID, emulator.DefaultAppID)
	if err != nil {
		panic(err)
	}
	emu = emulator.New(emulator.Config{Pay: emulator.PayConfig{Merchants: []emulator.Merchant{merchant}}})
	srv := httptest.NewServer(emu)
	emuBase = srv.URL
	defer srv.Close()
	dbtest.Main(m)
}

const (
	sessionSecret = "test-session-secret-0123456789-abcdef"
	adminKey      = "admin-key-0123456789-0123456789-0123456789"
	// notifyURL is never reached in these tests: payments are made with deliver=false and
	// repaired by GET, which is what payorder does on its own.
	notifyURL = "http://127.0.0.1:9/paynotify/"
)

func pemOf(t *testing.T, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// stack is one test's payorder behind the real HTTP adapter, with its own database.
type stack struct {
	t      *testing.T
	url    string
	db     *mongo.Database
	envMap map[string]string
}

func newStack(t *testing.T, override map[string]string) *stack {
	t.Helper()
	uri, name := dbtest.New(t)
	priv, err := x509.MarshalPKCS8PrivateKey(mchKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(emu.PlatformPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"MONGODB_URI":          uri,
		"MONGODB_DATABASE":     name,
		"SESSION_SECRET":       sessionSecret,
		"ADMIN_KEYS":           adminKey,
		"WX_APPID":             emulator.DefaultAppID,
		"WX_SECRET":            emulator.DefaultAppSecret,
		"WX_API_BASE":          emuBase + emulator.WXPrefix,
		"WXPAY_MCHID":          merchant.MchID,
		"WXPAY_CERT_SERIAL":    merchant.CertSerial,
		"WXPAY_PRIVATE_KEY":    pemOf(t, "PRIVATE KEY", priv),
		"WXPAY_APIV3_KEY":      merchant.APIv3Key,
		"WXPAY_PUBLIC_KEY_ID":  emu.PublicKeyID(),
		"WXPAY_PUBLIC_KEY":     pemOf(t, "PUBLIC KEY", pub),
		"WXPAY_NOTIFY_URL":     notifyURL,
		"WXPAY_API_BASE":       emuBase + emulator.PayPrefix,
		"PAYORDER_QUERY_AFTER": "0s",
	}
	for k, v := range override {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	d := deps.New(config.Map(env))
	srv := httptest.NewServer(runtime.HTTPHandler(payorder.NewWithDeps(d)))
	t.Cleanup(func() {
		srv.Close()
		d.Close(context.Background())
	})
	s := &stack{t: t, url: srv.URL, db: dbtest.Database(t).Client().Database(name), envMap: env}
	books, err := orders.Open(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := books.SeedProducts(context.Background(), orders.SampleProducts()); err != nil {
		t.Fatal(err)
	}
	return s
}

// token issues a session token for openid, as login would.
func token(t *testing.T, openid string) string {
	t.Helper()
	tok, _, err := auth.NewSessions(config.Session{Secret: []byte(sessionSecret), TTL: time.Hour, AppID: emulator.DefaultAppID}).Issue(openid, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type reply struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

func (r reply) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r reply) str(key string) string { s, _ := r.body[key].(string); return s }

func (s *stack) do(method, path, tok string, body any, header ...string) reply {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, raw: string(raw), header: resp.Header}
	json.Unmarshal(raw, &out.body)
	return out
}

func (s *stack) order(no string) orders.Order {
	s.t.Helper()
	var o orders.Order
	if err := s.db.Collection(orders.OrdersCollection).FindOne(context.Background(), bson.D{{Key: "_id", Value: no}}).Decode(&o); err != nil {
		s.t.Fatalf("order %s: %v", no, err)
	}
	return o
}

func (s *stack) count(coll string) int64 {
	s.t.Helper()
	n, err := s.db.Collection(coll).CountDocuments(context.Background(), bson.D{})
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

type line = map[string]any

func basket(lines ...line) map[string]any { return map[string]any{"items": lines} }

func item(sku string, qty int) line { return line{"sku": sku, "qty": qty} }

// checkPaySign verifies the wx.requestPayment signature with the merchant's public key, as the
// WeChat client does.
func checkPaySign(t *testing.T, p map[string]any) {
	t.Helper()
	msg := fmt.Sprintf("%s\n%s\n%s\n%s\n", emulator.DefaultAppID, p["timeStamp"], p["nonceStr"], p["package"])
	sig, err := base64.StdEncoding.DecodeString(fmt.Sprint(p["paySign"]))
	if err != nil {
		t.Fatalf("paySign: %v", err)
	}
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(&mchKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign does not verify: %v", err)
	}
	if p["signType"] != "RSA" || !strings.HasPrefix(fmt.Sprint(p["package"]), "prepay_id=") {
		t.Fatalf("payment %v", p)
	}
}

func TestCreate(t *testing.T) {
	s := newStack(t, nil)
	tok := token(t, "oBuyer1")
	r := s.do("POST", "/", tok, map[string]any{
		"items":  []line{item("tea-oolong-250g", 2), item("coins-100", 3), item("tea-oolong-250g", 1)},
		"attach": "campaign=spring",
	})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	no := r.str("outTradeNo")
	// 3 × 6800 + 3 × 100, duplicates merged, prices from the catalogue.
	if r.body["amount"] != float64(20700) || r.str("state") != "CREATED" || !orders.ValidOutTradeNo(no) {
		t.Fatalf("create body %s", r.raw)
	}
	p, _ := r.body["payment"].(map[string]any)
	checkPaySign(t, p)

	o := s.order(no)
	if o.OpenID != "oBuyer1" || o.Amount != 20700 || len(o.Items) != 2 || o.Items[0].Qty != 3 || o.Virtual ||
		o.PrepayID == "" || "prepay_id="+o.PrepayID != p["package"] || o.Attach != "campaign=spring" {
		t.Fatalf("stored order %+v", o)
	}
	// WeChat Pay got the same order.
	w, err := emu.Order(merchant.MchID, no)
	if err != nil {
		t.Fatal(err)
	}
	if w.Total != 20700 || w.OpenID != "oBuyer1" || w.PrepayID != o.PrepayID || w.Attach != "campaign=spring" || w.NotifyURL != notifyURL {
		t.Fatalf("emulator order %+v", w)
	}
	if exp, _ := time.Parse(time.RFC3339, w.ExpireTime); !exp.Equal(o.TimeExpire) {
		t.Fatalf("time_expire %s at WeChat Pay, %v stored", w.ExpireTime, o.TimeExpire)
	}
	if s := r.header.Get("Idempotent-Replayed"); s != "" {
		t.Fatalf("a first creation says Idempotent-Replayed: %s", s)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	s := newStack(t, map[string]string{"PAYORDER_MAX_TOTAL": "10000", "PAYORDER_MAX_ITEMS": "3"})
	tok := token(t, "oBuyer1")
	before := emu.CallCount(emulator.PayPrefix + "/v3/pay/transactions/jsapi")
	cases := []struct {
		name   string
		tok    string
		body   any
		header []string
		status int
		code   string
	}{
		{"no token", "", basket(item("mug-ceramic", 1)), nil, 401, "unauthorized"},
		{"bad token", "x.y.z", basket(item("mug-ceramic", 1)), nil, 401, ""},
		{"not json", tok, "{items:", nil, 400, "invalid_json"},
		{"wrong type", tok, `{"items":[{"sku":"mug-ceramic","qty":"1"}]}`, nil, 400, "invalid_json"},
		{"no items", tok, basket(), nil, 400, "no_items"},
		{"unknown sku", tok, basket(item("nope", 1)), nil, 400, "unknown_sku"},
		{"inactive sku", tok, basket(item("tea-retired", 1)), nil, 400, "inactive_sku"},
		{"empty sku", tok, basket(item("", 1)), nil, 400, "invalid_sku"},
		{"qty 0", tok, basket(item("mug-ceramic", 0)), nil, 400, "invalid_qty"},
		{"qty 100", tok, basket(item("mug-ceramic", 100)), nil, 400, "invalid_qty"},
		{"qty -1", tok, basket(item("mug-ceramic", -1)), nil, 400, "invalid_qty"},
		{"merged qty 100", tok, basket(item("coins-100", 50), item("coins-100", 50)), nil, 400, "invalid_qty"},
		{"over the limit", tok, basket(item("tea-oolong-250g", 2)), nil, 400, "total_too_large"},
		{"too many items", tok, basket(item("coins-100", 1), item("vip-month", 1), item("mug-ceramic", 1), item("tea-oolong-250g", 1)), nil, 400, "too_many_items"},
		{"attach too long", tok, map[string]any{"items": []line{item("coins-100", 1)}, "attach": strings.Repeat("a", 129)}, nil, 400, "invalid_attach"},
		{"bad idempotency key", tok, basket(item("coins-100", 1)), []string{"Idempotency-Key", "has spaces"}, 400, "invalid_idempotency_key"},
		{"oversize body", tok, `{"items":[],"attach":"` + strings.Repeat("x", 20<<10) + `"}`, nil, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do("POST", "/", c.tok, c.body, c.header...)
			if r.status != c.status || (c.code != "" && r.errCode() != c.code) {
				t.Fatalf("%d %s; want %d %s", r.status, r.raw, c.status, c.code)
			}
		})
	}
	if n := s.count(orders.OrdersCollection); n != 0 {
		t.Fatalf("refused requests wrote %d orders", n)
	}
	if n := emu.CallCount(emulator.PayPrefix+"/v3/pay/transactions/jsapi") - before; n != 0 {
		t.Fatalf("refused requests made %d prepay calls", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := newStack(t, nil)
	tok := token(t, "oBuyer1")
	prepays := func() int { return emu.CallCount(emulator.PayPrefix + "/v3/pay/transactions/jsapi") }
	before := prepays()
	first := s.do("POST", "/", tok, basket(item("vip-month", 1)), "Idempotency-Key", "cart-42")
	again := s.do("POST", "/", tok, basket(item("vip-month", 1)), "Idempotency-Key", "cart-42")
	if first.status != 201 || again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d, again %d %s", first.status, again.status, again.raw)
	}
	if first.str("outTradeNo") != again.str("outTradeNo") || fmt.Sprint(first.body["payment"]) != fmt.Sprint(again.body["payment"]) {
		t.Fatalf("a retry got another order or payment:\n%s\n%s", first.raw, again.raw)
	}
	if n := prepays() - before; n != 1 {
		t.Fatalf("%d prepay calls, want 1", n)
	}
	// The same key for another basket is refused; another user's same key is theirs.
	if r := s.do("POST", "/", tok, basket(item("vip-month", 2)), "Idempotency-Key", "cart-42"); r.status != 422 || r.errCode() != "idempotency_key_reused" {
		t.Fatalf("key reused: %d %s", r.status, r.raw)
	}
	if r := s.do("POST", "/", token(t, "oBuyer2"), basket(item("vip-month", 1)), "Idempotency-Key", "cart-42"); r.status != 201 {
		t.Fatalf("other user: %d %s", r.status, r.raw)
	}
	// Concurrent retries of a new request: one order.
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			r := s.do("POST", "/", tok, basket(item("coins-100", 5)), "Idempotency-Key", "cart-43")
			if r.status != 201 && r.status != 200 {
				t.Errorf("concurrent: %d %s", r.status, r.raw)
			}
			got[i] = r.str("outTradeNo")
		})
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] {
			t.Fatalf("concurrent retries got %v", got)
		}
	}
	if n := s.count(orders.OrdersCollection); n != 3 {
		t.Fatalf("%d orders, want 3", n)
	}
}

func TestPrepayFailureIsRetryable(t *testing.T) {
	s := newStack(t, nil)
	tok := token(t, "oBuyer1")
	if err := emu.InjectFault(emulator.Fault{Path: "/v3/pay/transactions/jsapi", Code: "SYSTEM_ERROR"}); err != nil {
		t.Fatal(err)
	}
	r := s.do("POST", "/", tok, basket(item("vip-month", 1)), "Idempotency-Key", "k1")
	if r.status != 503 || r.errCode() != "wechatpay_unavailable" || r.body["error"].(map[string]any)["retryable"] != true {
		t.Fatalf("prepay fault: %d %s", r.status, r.raw)
	}
	var stored []orders.Order
	cur, _ := s.db.Collection(orders.OrdersCollection).Find(context.Background(), bson.D{})
	cur.All(context.Background(), &stored)
	if len(stored) != 1 || stored[0].State != orders.StateCreated || stored[0].PrepayID != "" || stored[0].PrepayError != "SYSTEM_ERROR" {
		t.Fatalf("after a failed prepay: %+v", stored)
	}
	// The retry re-enters prepay with the same out_trade_no and identical parameters.
	r = s.do("POST", "/", tok, basket(item("vip-month", 1)), "Idempotency-Key", "k1")
	if r.status != 200 || r.str("outTradeNo") != stored[0].OutTradeNo || r.body["payment"] == nil {
		t.Fatalf("retry: %d %s", r.status, r.raw)
	}
	if o := s.order(stored[0].OutTradeNo); o.PrepayID == "" || o.PrepayError != "" {
		t.Fatalf("after the retry: %+v", o)
	}
}

func TestGetIsOwnerOnly(t *testing.T) {
	s := newStack(t, map[string]string{"PAYORDER_QUERY_AFTER": "1h"})
	owner := token(t, "oOwner")
	no := s.do("POST", "/", owner, basket(item("mug-ceramic", 1))).str("outTradeNo")
	queries := func() int { return emu.CallCount(emulator.PayPrefix + "/v3/pay/transactions/out-trade-no/" + no) }
	before := queries()

	r := s.do("GET", "/"+no, owner, nil)
	if r.status != 200 || r.str("state") != "CREATED" || r.body["amount"] != float64(3900) || r.body["payment"] == nil {
		t.Fatalf("owner: %d %s", r.status, r.raw)
	}
	for name, path := range map[string]string{"someone else's": "/" + no, "unknown": "/20260101000000AAAAAAAAAA", "malformed": "/not$valid"} {
		if r := s.do("GET", path, token(t, "oOther"), nil); r.status != 404 || r.errCode() != "not_found" {
			t.Fatalf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if r := s.do("GET", "/"+no, "", nil); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	// A fresh order (younger than PAYORDER_QUERY_AFTER) is not queried.
	if n := queries() - before; n != 0 {
		t.Fatalf("%d queries for a fresh order", n)
	}
}

func TestGetRepairsMissedNotification(t *testing.T) {
	s := newStack(t, nil)
	tok := token(t, "oBuyer1")
	no := s.do("POST", "/", tok, basket(item("vip-month", 2))).str("outTradeNo")
	// Still unpaid: the query says NOTPAY and nothing changes.
	if r := s.do("GET", "/"+no, tok, nil); r.str("state") != "CREATED" {
		t.Fatalf("unpaid: %s", r.raw)
	}
	no2 := false
	paid, err := emu.PayOrder(context.Background(), no, emulator.PayRequest{Deliver: &no2})
	if err != nil {
		t.Fatal(err)
	}
	r := s.do("GET", "/"+no, tok, nil)
	if r.status != 200 || r.str("state") != "PAID" || r.str("transactionId") != paid.TransactionID || r.body["payment"] != nil {
		t.Fatalf("after a missed notification: %d %s", r.status, r.raw)
	}
	o := s.order(no)
	if o.State != orders.StatePaid || o.Refundable != 3000 || o.AfterPay.DoneAt.IsZero() || o.AfterPay.Runs != 1 {
		t.Fatalf("repaired order %+v", o)
	}
	// Virtual goods: the repair ran the after-payment work, which uploaded the shipping.
	ups := emu.ShippingUploads(no)
	if len(ups) != 1 || ups[0].LogisticsType != 3 || ups[0].PayerOpenID != "oBuyer1" || o.Shipping == nil || o.Shipping.State != orders.ShipUploaded {
		t.Fatalf("shipping uploads %+v, order shipping %+v", ups, o.Shipping)
	}
	// Reading it again changes nothing and runs nothing again.
	s.do("GET", "/"+no, tok, nil)
	if again := s.order(no); again.AfterPay.Runs != 1 || len(emu.ShippingUploads(no)) != 1 {
		t.Fatalf("second read re-ran the after-payment work: %+v", again.AfterPay)
	}
}

func TestGetRepairFlagsMismatch(t *testing.T) {
	s := newStack(t, nil)
	tok := token(t, "oBuyer1")
	no := s.do("POST", "/", tok, basket(item("coins-100", 1))).str("outTradeNo")
	// Someone tampered with the local amount after the prepay: WeChat Pay's 100 fen is not it.
	if _, err := s.db.Collection(orders.OrdersCollection).UpdateOne(context.Background(), bson.D{{Key: "_id", Value: no}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "amount", Value: 1}}}}); err != nil {
		t.Fatal(err)
	}
	no2 := false
	if _, err := emu.PayOrder(context.Background(), no, emulator.PayRequest{Deliver: &no2}); err != nil {
		t.Fatal(err)
	}
	r := s.do("GET", "/"+no, tok, nil)
	o := s.order(no)
	if r.str("state") != "CREATED" || o.State != orders.StateCreated || !o.Flagged || o.Flags[0].Reason != orders.FlagAmountMismatch {
		t.Fatalf("mismatched payment: %s; order %+v", r.raw, o)
	}
}

func TestClose(t *testing.T) {
	s := newStack(t, nil)
	tok := token(t, "oBuyer1")
	no := s.do("POST", "/", tok, basket(item("mug-ceramic", 1))).str("outTradeNo")
	if r := s.do("POST", "/"+no+"/close", token(t, "oOther"), nil); r.status != 404 {
		t.Fatalf("someone else's close: %d %s", r.status, r.raw)
	}
	r := s.do("POST", "/"+no+"/close", tok, nil)
	if r.status != 200 || r.str("state") != "CLOSED" || r.body["payment"] != nil {
		t.Fatalf("close: %d %s", r.status, r.raw)
	}
	if w, _ := emu.Order(merchant.MchID, no); w.TradeState != "CLOSED" {
		t.Fatalf("WeChat Pay says %s", w.TradeState)
	}
	if r := s.do("POST", "/"+no+"/close", tok, nil); r.status != 200 || r.str("state") != "CLOSED" {
		t.Fatalf("close again: %d %s", r.status, r.raw)
	}
	if r := s.do("GET", "/"+no, tok, nil); r.str("state") != "CLOSED" {
		t.Fatalf("get after close: %s", r.raw)
	}

	// Paid at WeChat Pay, notification missed: closing finds out and refuses.
	no = s.do("POST", "/", tok, basket(item("mug-ceramic", 1))).str("outTradeNo")
	deliver := false
	if _, err := emu.PayOrder(context.Background(), no, emulator.PayRequest{Deliver: &deliver}); err != nil {
		t.Fatal(err)
	}
	r = s.do("POST", "/"+no+"/close", tok, nil)
	if r.status != 409 || r.errCode() != "order_not_closable" || s.order(no).State != orders.StatePaid {
		t.Fatalf("close a paid order: %d %s; state %s", r.status, r.raw, s.order(no).State)
	}
}

func TestShip(t *testing.T) {
	s := newStack(t, nil)
	tok := token(t, "oBuyer1")
	no := s.do("POST", "/", tok, basket(item("tea-oolong-250g", 1))).str("outTradeNo")
	ship := map[string]any{"trackingNo": "SF1234567890", "expressCompany": "SF"}
	if r := s.do("POST", "/"+no+"/ship", adminKey, ship); r.status != 409 || r.errCode() != "order_not_shippable" {
		t.Fatalf("ship unpaid: %d %s", r.status, r.raw)
	}
	deliver := false
	if _, err := emu.PayOrder(context.Background(), no, emulator.PayRequest{Deliver: &deliver}); err != nil {
		t.Fatal(err)
	}
	if r := s.do("GET", "/"+no, tok, nil); r.str("state") != "PAID" {
		t.Fatalf("repair: %s", r.raw)
	}
	if n := len(emu.ShippingUploads(no)); n != 0 {
		t.Fatalf("physical goods were shipped automatically (%d uploads)", n)
	}
	if r := s.do("POST", "/"+no+"/ship", tok, ship); r.status != 401 {
		t.Fatalf("a user token on the admin route: %d %s", r.status, r.raw)
	}
	if r := s.do("POST", "/"+no+"/ship", adminKey, map[string]any{"trackingNo": "SF1"}); r.status != 400 || r.errCode() != "missing_tracking" {
		t.Fatalf("ship without a company: %d %s", r.status, r.raw)
	}
	r := s.do("POST", "/"+no+"/ship", adminKey, ship)
	if r.status != 200 {
		t.Fatalf("ship: %d %s", r.status, r.raw)
	}
	sh, _ := r.body["shipping"].(map[string]any)
	ups := emu.ShippingUploads(no)
	if sh["state"] != "uploaded" || sh["trackingNo"] != "SF1234567890" || len(ups) != 1 || ups[0].LogisticsType != 1 ||
		ups[0].Items[0].TrackingNo != "SF1234567890" || ups[0].Items[0].ExpressCompany != "SF" || ups[0].Items[0].ItemDesc != "乌龙茶 250g" {
		t.Fatalf("shipping %s; uploads %+v", r.raw, ups)
	}
}

// The sample events (events/payorder) run through the same adapter as on the cloud, with their
// placeholders filled the way `make invoke` fills them from the running stack.
func TestSampleEvents(t *testing.T) {
	s := newStack(t, nil)
	tok := token(t, "oSample")
	created := s.do("POST", "/", tok, basket(item("coins-100", 1))).str("outTradeNo")
	paid := s.do("POST", "/", tok, basket(item("tea-oolong-250g", 1))).str("outTradeNo")
	deliver := false
	if _, err := emu.PayOrder(context.Background(), paid, emulator.PayRequest{Deliver: &deliver}); err != nil {
		t.Fatal(err)
	}
	if r := s.do("GET", "/"+paid, tok, nil); r.str("state") != "PAID" {
		t.Fatalf("paid order: %s", r.raw)
	}
	fill := strings.NewReplacer("{{session_token}}", tok, "{{out_trade_no}}", created, "{{paid_out_trade_no}}", paid, "{{admin_key}}", adminKey)
	want := map[string]struct {
		status int
		check  string // a field of the body that must be there, or the error code
	}{
		"aws-url-create.json":             {201, "payment"},
		"aws-url-create-unknown-sku.json": {400, "unknown_sku"},
		"aws-url-create-bad-qty.json":     {400, "invalid_qty"},
		"aws-url-create-no-token.json":    {401, "unauthorized"},
		"aws-url-get.json":                {200, "state"},
		"aws-url-ship.json":               {200, "shipping"},
		"scf-url-create.json":             {201, "payment"},
		"scf-url-get.json":                {200, "state"},
		"aws-url-close.json":              {200, "closedAt"}, // last: it closes the order the GETs read
	}
	files, _ := filepath.Glob("../../events/payorder/*.json")
	if len(files) != len(want) {
		t.Fatalf("%d sample files, %d expected", len(files), len(want))
	}
	d := deps.New(config.Map(s.envMap))
	t.Cleanup(func() { d.Close(context.Background()) })
	f := payorder.NewWithDeps(d)
	order := []string{}
	for name := range want {
		if name != "aws-url-close.json" {
			order = append(order, name)
		}
	}
	sort.Strings(order)
	for _, name := range append(order, "aws-url-close.json") {
		raw, err := os.ReadFile(filepath.Join("../../events/payorder", name))
		if err != nil {
			t.Fatal(err)
		}
		out, err := runtime.Invoke(context.Background(), f, []byte(fill.Replace(string(raw))))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("%s: %s", name, out)
		}
		var body map[string]any
		json.Unmarshal([]byte(resp.Body), &body)
		w := want[name]
		e, _ := body["error"].(map[string]any)
		if resp.StatusCode != w.status || (body[w.check] == nil && (e == nil || e["code"] != w.check)) {
			t.Errorf("%s: %d %s; want %d with %s", name, resp.StatusCode, resp.Body, w.status, w.check)
		}
	}
}
