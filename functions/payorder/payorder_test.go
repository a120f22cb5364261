package payorder_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/wxfn/wxfn/functions/payorder"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/infra/fntest"
	"github.com/wxfn/wxfn/shared/orders"
)

func TestMain(m *testing.M) { fntest.Main(m) }

// stack is one test's payorder behind the real HTTP adapter, with its own database holding the
// sample catalogue.
type stack struct {
	*fntest.Stack
	t     *testing.T
	books *orders.Store
}

func newStack(t *testing.T, override map[string]string) *stack {
	t.Helper()
	// Payments are made without a notification, and GET repairs a missed one at once, which is
	// what payorder does on its own.
	settings := map[string]string{"PAYORDER_QUERY_AFTER": "0s"}
	maps.Copy(settings, override)
	st := fntest.Start(t, payorder.NewWithDeps, settings)
	s := &stack{Stack: st, t: t, books: fntest.Books(t, st.DB)}
	fntest.SeedProducts(t, s.books)
	return s
}

// token issues a session token for openid, as login would.
func (s *stack) token(openid string) string { return fntest.Token(s.t, s.Env, openid) }

func (s *stack) order(no string) orders.Order { return fntest.Order(s.t, s.books, no) }

func (s *stack) count(coll string) int64 { return fntest.Count(s.t, s.DB.Collection(coll)) }

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
	if err := rsa.VerifyPKCS1v15(&fntest.MerchantKey().PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign does not verify: %v", err)
	}
	if p["signType"] != "RSA" || !strings.HasPrefix(fmt.Sprint(p["package"]), "prepay_id=") {
		t.Fatalf("payment %v", p)
	}
}

func TestCreate(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token("oBuyer1")
	r := s.Do("POST", "/", tok, map[string]any{
		"items":  []line{item("tea-oolong-250g", 2), item("coins-100", 3), item("tea-oolong-250g", 1)},
		"attach": "campaign=spring",
	})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	no := r.Str("outTradeNo")
	// 3 × 6800 + 3 × 100, duplicates merged, prices from the catalogue.
	if r.Body["amount"] != float64(20700) || r.Str("state") != "CREATED" || !orders.ValidOutTradeNo(no) {
		t.Fatalf("create body %s", r.Raw)
	}
	p, _ := r.Body["payment"].(map[string]any)
	checkPaySign(t, p)

	o := s.order(no)
	if o.OpenID != "oBuyer1" || o.Amount != 20700 || len(o.Items) != 2 || o.Items[0].Qty != 3 || o.Virtual ||
		o.PrepayID == "" || "prepay_id="+o.PrepayID != p["package"] || o.Attach != "campaign=spring" {
		t.Fatalf("stored order %+v", o)
	}
	// WeChat Pay got the same order.
	w, err := fntest.Emulator().Order(fntest.Merchant().MchID, no)
	if err != nil {
		t.Fatal(err)
	}
	if w.Total != 20700 || w.OpenID != "oBuyer1" || w.PrepayID != o.PrepayID || w.Attach != "campaign=spring" || w.NotifyURL != s.Env["WXPAY_NOTIFY_URL"] {
		t.Fatalf("emulator order %+v", w)
	}
	if exp, _ := time.Parse(time.RFC3339, w.ExpireTime); !exp.Equal(o.TimeExpire) {
		t.Fatalf("time_expire %s at WeChat Pay, %v stored", w.ExpireTime, o.TimeExpire)
	}
	if s := r.Header.Get("Idempotent-Replayed"); s != "" {
		t.Fatalf("a first creation says Idempotent-Replayed: %s", s)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	s := newStack(t, map[string]string{"PAYORDER_MAX_TOTAL": "10000", "PAYORDER_MAX_ITEMS": "3"})
	tok := s.token("oBuyer1")
	before := fntest.Emulator().CallCount(emulator.PayPrefix + "/v3/pay/transactions/jsapi")
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
			r := s.Do("POST", "/", c.tok, c.body, c.header...)
			if r.Status != c.status || (c.code != "" && r.ErrCode() != c.code) {
				t.Fatalf("%d %s; want %d %s", r.Status, r.Raw, c.status, c.code)
			}
		})
	}
	if n := s.count(orders.OrdersCollection); n != 0 {
		t.Fatalf("refused requests wrote %d orders", n)
	}
	if n := fntest.Emulator().CallCount(emulator.PayPrefix+"/v3/pay/transactions/jsapi") - before; n != 0 {
		t.Fatalf("refused requests made %d prepay calls", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token("oBuyer1")
	prepays := func() int { return fntest.Emulator().CallCount(emulator.PayPrefix + "/v3/pay/transactions/jsapi") }
	before := prepays()
	first := s.Do("POST", "/", tok, basket(item("vip-month", 1)), "Idempotency-Key", "cart-42")
	again := s.Do("POST", "/", tok, basket(item("vip-month", 1)), "Idempotency-Key", "cart-42")
	if first.Status != 201 || again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d, again %d %s", first.Status, again.Status, again.Raw)
	}
	if first.Str("outTradeNo") != again.Str("outTradeNo") || fmt.Sprint(first.Body["payment"]) != fmt.Sprint(again.Body["payment"]) {
		t.Fatalf("a retry got another order or payment:\n%s\n%s", first.Raw, again.Raw)
	}
	if n := prepays() - before; n != 1 {
		t.Fatalf("%d prepay calls, want 1", n)
	}
	// The same key for another basket is refused; another user's same key is theirs.
	if r := s.Do("POST", "/", tok, basket(item("vip-month", 2)), "Idempotency-Key", "cart-42"); r.Status != 422 || r.ErrCode() != "idempotency_key_reused" {
		t.Fatalf("key reused: %d %s", r.Status, r.Raw)
	}
	if r := s.Do("POST", "/", s.token("oBuyer2"), basket(item("vip-month", 1)), "Idempotency-Key", "cart-42"); r.Status != 201 {
		t.Fatalf("other user: %d %s", r.Status, r.Raw)
	}
	// Concurrent retries of a new request: one order.
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			r := s.Do("POST", "/", tok, basket(item("coins-100", 5)), "Idempotency-Key", "cart-43")
			if r.Status != 201 && r.Status != 200 {
				t.Errorf("concurrent: %d %s", r.Status, r.Raw)
			}
			got[i] = r.Str("outTradeNo")
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
	tok := s.token("oBuyer1")
	if err := fntest.Emulator().InjectFault(emulator.Fault{Path: "/v3/pay/transactions/jsapi", Code: "SYSTEM_ERROR"}); err != nil {
		t.Fatal(err)
	}
	r := s.Do("POST", "/", tok, basket(item("vip-month", 1)), "Idempotency-Key", "k1")
	if r.Status != 503 || r.ErrCode() != "wechatpay_unavailable" || !r.Retryable() {
		t.Fatalf("prepay fault: %d %s", r.Status, r.Raw)
	}
	stored := fntest.All[orders.Order](t, s.DB.Collection(orders.OrdersCollection))
	if len(stored) != 1 || stored[0].State != orders.StateCreated || stored[0].PrepayID != "" || stored[0].PrepayError != "SYSTEM_ERROR" {
		t.Fatalf("after a failed prepay: %+v", stored)
	}
	// The retry re-enters prepay with the same out_trade_no and identical parameters.
	r = s.Do("POST", "/", tok, basket(item("vip-month", 1)), "Idempotency-Key", "k1")
	if r.Status != 200 || r.Str("outTradeNo") != stored[0].OutTradeNo || r.Body["payment"] == nil {
		t.Fatalf("retry: %d %s", r.Status, r.Raw)
	}
	if o := s.order(stored[0].OutTradeNo); o.PrepayID == "" || o.PrepayError != "" {
		t.Fatalf("after the retry: %+v", o)
	}
}

func TestGetIsOwnerOnly(t *testing.T) {
	s := newStack(t, map[string]string{"PAYORDER_QUERY_AFTER": "1h"})
	owner := s.token("oOwner")
	no := s.Do("POST", "/", owner, basket(item("mug-ceramic", 1))).Str("outTradeNo")
	queries := func() int {
		return fntest.Emulator().CallCount(emulator.PayPrefix + "/v3/pay/transactions/out-trade-no/" + no)
	}
	before := queries()

	r := s.Do("GET", "/"+no, owner, nil)
	if r.Status != 200 || r.Str("state") != "CREATED" || r.Body["amount"] != float64(3900) || r.Body["payment"] == nil {
		t.Fatalf("owner: %d %s", r.Status, r.Raw)
	}
	for name, path := range map[string]string{"someone else's": "/" + no, "unknown": "/20260101000000AAAAAAAAAA", "malformed": "/not$valid"} {
		if r := s.Do("GET", path, s.token("oOther"), nil); r.Status != 404 || r.ErrCode() != "not_found" {
			t.Fatalf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	if r := s.Do("GET", "/"+no, "", nil); r.Status != 401 {
		t.Fatalf("no token: %d", r.Status)
	}
	// A fresh order (younger than PAYORDER_QUERY_AFTER) is not queried.
	if n := queries() - before; n != 0 {
		t.Fatalf("%d queries for a fresh order", n)
	}
}

func TestGetRepairsMissedNotification(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token("oBuyer1")
	no := s.Do("POST", "/", tok, basket(item("vip-month", 2))).Str("outTradeNo")
	// Still unpaid: the query says NOTPAY and nothing changes.
	if r := s.Do("GET", "/"+no, tok, nil); r.Str("state") != "CREATED" {
		t.Fatalf("unpaid: %s", r.Raw)
	}
	paid := fntest.PayQuietly(t, no)
	r := s.Do("GET", "/"+no, tok, nil)
	if r.Status != 200 || r.Str("state") != "PAID" || r.Str("transactionId") != paid.TransactionID || r.Body["payment"] != nil {
		t.Fatalf("after a missed notification: %d %s", r.Status, r.Raw)
	}
	o := s.order(no)
	if o.State != orders.StatePaid || o.Refundable != 3000 || o.AfterPay.DoneAt.IsZero() || o.AfterPay.Runs != 1 {
		t.Fatalf("repaired order %+v", o)
	}
	// Virtual goods: the repair ran the after-payment work, which uploaded the shipping.
	ups := fntest.Emulator().ShippingUploads(no)
	if len(ups) != 1 || ups[0].LogisticsType != 3 || ups[0].PayerOpenID != "oBuyer1" || o.Shipping == nil || o.Shipping.State != orders.ShipUploaded {
		t.Fatalf("shipping uploads %+v, order shipping %+v", ups, o.Shipping)
	}
	// Reading it again changes nothing and runs nothing again.
	s.Do("GET", "/"+no, tok, nil)
	if again := s.order(no); again.AfterPay.Runs != 1 || len(fntest.Emulator().ShippingUploads(no)) != 1 {
		t.Fatalf("second read re-ran the after-payment work: %+v", again.AfterPay)
	}
}

func TestGetRepairFlagsMismatch(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token("oBuyer1")
	no := s.Do("POST", "/", tok, basket(item("coins-100", 1))).Str("outTradeNo")
	// Someone tampered with the local amount after the prepay: WeChat Pay's 100 fen is not it.
	if _, err := s.DB.Collection(orders.OrdersCollection).UpdateOne(context.Background(), bson.D{{Key: "_id", Value: no}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "amount", Value: 1}}}}); err != nil {
		t.Fatal(err)
	}
	fntest.PayQuietly(t, no)
	r := s.Do("GET", "/"+no, tok, nil)
	o := s.order(no)
	if r.Str("state") != "CREATED" || o.State != orders.StateCreated || !o.Flagged || o.Flags[0].Reason != orders.FlagAmountMismatch {
		t.Fatalf("mismatched payment: %s; order %+v", r.Raw, o)
	}
}

func TestClose(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token("oBuyer1")
	no := s.Do("POST", "/", tok, basket(item("mug-ceramic", 1))).Str("outTradeNo")
	if r := s.Do("POST", "/"+no+"/close", s.token("oOther"), nil); r.Status != 404 {
		t.Fatalf("someone else's close: %d %s", r.Status, r.Raw)
	}
	r := s.Do("POST", "/"+no+"/close", tok, nil)
	if r.Status != 200 || r.Str("state") != "CLOSED" || r.Body["payment"] != nil {
		t.Fatalf("close: %d %s", r.Status, r.Raw)
	}
	if w, _ := fntest.Emulator().Order(fntest.Merchant().MchID, no); w.TradeState != "CLOSED" {
		t.Fatalf("WeChat Pay says %s", w.TradeState)
	}
	if r := s.Do("POST", "/"+no+"/close", tok, nil); r.Status != 200 || r.Str("state") != "CLOSED" {
		t.Fatalf("close again: %d %s", r.Status, r.Raw)
	}
	if r := s.Do("GET", "/"+no, tok, nil); r.Str("state") != "CLOSED" {
		t.Fatalf("get after close: %s", r.Raw)
	}

	// Paid at WeChat Pay, notification missed: closing finds out and refuses.
	no = s.Do("POST", "/", tok, basket(item("mug-ceramic", 1))).Str("outTradeNo")
	fntest.PayQuietly(t, no)
	r = s.Do("POST", "/"+no+"/close", tok, nil)
	if r.Status != 409 || r.ErrCode() != "order_not_closable" || s.order(no).State != orders.StatePaid {
		t.Fatalf("close a paid order: %d %s; state %s", r.Status, r.Raw, s.order(no).State)
	}
}

func TestShip(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token("oBuyer1")
	no := s.Do("POST", "/", tok, basket(item("tea-oolong-250g", 1))).Str("outTradeNo")
	ship := map[string]any{"trackingNo": "SF1234567890", "expressCompany": "SF"}
	if r := s.Do("POST", "/"+no+"/ship", fntest.AdminKey, ship); r.Status != 409 || r.ErrCode() != "order_not_shippable" {
		t.Fatalf("ship unpaid: %d %s", r.Status, r.Raw)
	}
	fntest.PayQuietly(t, no)
	if r := s.Do("GET", "/"+no, tok, nil); r.Str("state") != "PAID" {
		t.Fatalf("repair: %s", r.Raw)
	}
	if n := len(fntest.Emulator().ShippingUploads(no)); n != 0 {
		t.Fatalf("physical goods were shipped automatically (%d uploads)", n)
	}
	if r := s.Do("POST", "/"+no+"/ship", tok, ship); r.Status != 401 {
		t.Fatalf("a user token on the admin route: %d %s", r.Status, r.Raw)
	}
	if r := s.Do("POST", "/"+no+"/ship", fntest.AdminKey, map[string]any{"trackingNo": "SF1"}); r.Status != 400 || r.ErrCode() != "missing_tracking" {
		t.Fatalf("ship without a company: %d %s", r.Status, r.Raw)
	}
	r := s.Do("POST", "/"+no+"/ship", fntest.AdminKey, ship)
	if r.Status != 200 {
		t.Fatalf("ship: %d %s", r.Status, r.Raw)
	}
	sh, _ := r.Body["shipping"].(map[string]any)
	ups := fntest.Emulator().ShippingUploads(no)
	if sh["state"] != "uploaded" || sh["trackingNo"] != "SF1234567890" || len(ups) != 1 || ups[0].LogisticsType != 1 ||
		ups[0].Items[0].TrackingNo != "SF1234567890" || ups[0].Items[0].ExpressCompany != "SF" || ups[0].Items[0].ItemDesc != "乌龙茶 250g" {
		t.Fatalf("shipping %s; uploads %+v", r.Raw, ups)
	}
}

// The sample events (events/payorder) run through the same adapter as on the cloud, with their
// placeholders filled the way `make invoke` fills them from the running stack.
func TestSampleEvents(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token("oSample")
	created := s.Do("POST", "/", tok, basket(item("coins-100", 1))).Str("outTradeNo")
	paid := s.Do("POST", "/", tok, basket(item("tea-oolong-250g", 1))).Str("outTradeNo")
	fntest.PayQuietly(t, paid)
	if r := s.Do("GET", "/"+paid, tok, nil); r.Str("state") != "PAID" {
		t.Fatalf("paid order: %s", r.Raw)
	}
	fill := fntest.Fill{
		"session_token":     func(testing.TB) string { return tok },
		"out_trade_no":      func(testing.TB) string { return created },
		"paid_out_trade_no": func(testing.TB) string { return paid },
		"admin_key":         func(testing.TB) string { return fntest.AdminKey },
	}
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
	check := func(path string) {
		t.Helper()
		o := fntest.Invoke(t, s.Fn, path, fill)
		w := want[o.Name]
		if o.Status != w.status || (o.Body[w.check] == nil && o.ErrCode() != w.check) {
			t.Errorf("%s: %d %s; want %d with %s", o.Name, o.Status, o.Raw, w.status, w.check)
		}
	}
	// The close runs last: it closes the order the GETs read.
	var closing string
	for _, path := range fntest.SampleEvents(t, "payorder", want) {
		if filepath.Base(path) == "aws-url-close.json" {
			closing = path
			continue
		}
		check(path)
	}
	check(closing)
}
