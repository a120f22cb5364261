package refund_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/functions/refund"
	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/runtime"
	"github.com/wxfn/wxfn/shared/wxpay"
)

var (
	emu         *emulator.Emulator
	emuBase     string
	merchant    emulator.Merchant
	merchantKey *rsa.PrivateKey
	// sink stands in for paynotify: it acknowledges every notification, so refunds are settled
	// in these tests by GET's query of WeChat Pay.
	sink *httptest.Server
)

const adminKey = "adm_test_0123456789abcdef0123456789abcdef"

func TestMain(m *testing.M) {
	// Request logs only for what went wrong; the tests say the rest.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	var err error
	merchant, merchantKey, err = emulator.GenerateMerchant(emulator.DefaultMchID)
	if err != nil {
		panic(err)
	}
	emu = emulator.New(emulator.Config{Pay: emulator.PayConfig{Merchants: []emulator.Merchant{merchant}}})
	srv := httptest.NewServer(emu)
	emuBase = srv.URL
	sink = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	dbtest.Main(m)
}

// payEnv is the WeChat Pay part of a function's environment against the emulator.
func payEnv() map[string]string {
	p8, _ := x509.MarshalPKCS8PrivateKey(merchantKey)
	pub, _ := x509.MarshalPKIXPublicKey(emu.PlatformPublicKey())
	return map[string]string{
		"WX_APPID":            emulator.DefaultAppID,
		"WX_SECRET":           emulator.DefaultAppSecret,
		"WX_API_BASE":         emuBase + "/_emu/wx",
		"WXPAY_MCHID":         merchant.MchID,
		"WXPAY_CERT_SERIAL":   merchant.CertSerial,
		"WXPAY_PRIVATE_KEY":   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		"WXPAY_APIV3_KEY":     merchant.APIv3Key,
		"WXPAY_PUBLIC_KEY_ID": emu.PublicKeyID(),
		"WXPAY_PUBLIC_KEY":    string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"WXPAY_NOTIFY_URL":    sink.URL + "/paynotify",
		"WXPAY_API_BASE":      emuBase + emulator.PayPrefix,
	}
}

// stack is one test's refund function behind the real HTTP adapter, with its own database, and
// the books and WeChat Pay client a test uses to set the scene.
type stack struct {
	t     *testing.T
	url   string
	fn    http.Handler
	db    *mongo.Database
	books *orders.Store
	pay   *wxpay.Client
	env   map[string]string
}

func newStack(t *testing.T, override map[string]string) *stack {
	t.Helper()
	uri, name := dbtest.New(t)
	env := payEnv()
	env["MONGODB_URI"], env["MONGODB_DATABASE"], env["ADMIN_KEYS"] = uri, name, adminKey
	for k, v := range override {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	d := deps.New(config.Map(env))
	h := runtime.HTTPHandler(refund.NewWithDeps(d))
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		d.Close(context.Background())
	})
	ctx := context.Background()
	db := dbtest.Database(t).Client().Database(name)
	books, err := orders.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadPay(config.Map(env))
	if err != nil {
		t.Fatal(err)
	}
	pay, err := wxpay.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pay.Close)
	return &stack{t: t, url: srv.URL, fn: h, db: db, books: books, pay: pay, env: env}
}

// paidOrder creates an order of amount fen, places it at WeChat Pay, pays it there without a
// notification and applies the payment as paynotify would.
func (s *stack) paidOrder(amount int64) string {
	s.t.Helper()
	no := s.createdOrder(amount)
	ctx := context.Background()
	deliver := false
	if _, err := emu.PayOrder(ctx, no, emulator.PayRequest{Deliver: &deliver}); err != nil {
		s.t.Fatal(err)
	}
	tx, err := s.pay.QueryByOutTradeNo(ctx, no)
	if err != nil {
		s.t.Fatal(err)
	}
	res, err := s.books.ApplyPayment(ctx, orders.MerchantOf(s.pay), orders.PaidOf(tx), time.Now())
	if err != nil || res.Outcome != orders.Applied {
		s.t.Fatalf("apply payment: %v %+v", err, res)
	}
	return no
}

// createdOrder creates an order of amount fen and places it at WeChat Pay, unpaid.
func (s *stack) createdOrder(amount int64) string {
	s.t.Helper()
	ctx := context.Background()
	now := time.Now()
	no := orders.NewOutTradeNo(now)
	o := orders.Order{
		OutTradeNo: no, OpenID: "oRefundTestUser0000000000001", Amount: amount, Description: "测试商品",
		Items:      []orders.Item{{SKU: "tea-250", Name: "测试商品", Price: amount, Qty: 1, Kind: orders.KindPhysical}},
		TimeExpire: now.Add(time.Hour),
	}
	if _, _, err := s.books.Create(ctx, o, now); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.pay.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: no, Description: o.Description, Total: amount, OpenID: o.OpenID, TimeExpire: o.TimeExpire}); err != nil {
		s.t.Fatal(err)
	}
	return no
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

func (r reply) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["message"].(string)
	return c
}

func (r reply) str(k string) string { v, _ := r.body[k].(string); return v }

func (r reply) num(k string) int64 { v, _ := r.body[k].(float64); return int64(v) }

func (r reply) order(k string) int64 {
	o, _ := r.body["order"].(map[string]any)
	v, _ := o[k].(float64)
	return int64(v)
}

func (s *stack) do(method, path, key string, body any) reply {
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
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
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

func (s *stack) refund(body any) reply { return s.do(http.MethodPost, "/", adminKey, body) }

func (s *stack) get(no string, refresh bool) reply {
	p := "/" + no
	if refresh {
		p += "?refresh=true"
	}
	return s.do(http.MethodGet, p, adminKey, nil)
}

func (s *stack) order(no string) orders.Order {
	s.t.Helper()
	o, err := s.books.Get(context.Background(), no)
	if err != nil {
		s.t.Fatal(err)
	}
	return o
}

func (s *stack) refunds() []orders.Refund {
	s.t.Helper()
	cur, err := s.db.Collection(orders.RefundsCollection).Find(context.Background(), bson.D{})
	if err != nil {
		s.t.Fatal(err)
	}
	var out []orders.Refund
	if err := cur.All(context.Background(), &out); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// wechatRefunds is what WeChat Pay (the emulator) holds for an order.
func wechatRefunds(t *testing.T, outTradeNo string) []emulator.RefundInfo {
	t.Helper()
	o, err := emu.Order(merchant.MchID, outTradeNo)
	if err != nil {
		t.Fatal(err)
	}
	return o.Refunds
}

func settle(t *testing.T, outRefundNo, status string) {
	t.Helper()
	deliver := false
	if _, err := emu.SettleRefund(context.Background(), outRefundNo, emulator.SettleRequest{Status: status, Deliver: &deliver}); err != nil {
		t.Fatal(err)
	}
}

// checkBooks asserts the order's money identity and values.
func checkBooks(t *testing.T, o orders.Order, state orders.State, refunded, refunding, refundable int64) {
	t.Helper()
	if o.Refunded+o.Refunding+o.Refundable != o.Amount {
		t.Errorf("order %s: refunded %d + refunding %d + refundable %d != amount %d", o.OutTradeNo, o.Refunded, o.Refunding, o.Refundable, o.Amount)
	}
	if o.State != state || o.Refunded != refunded || o.Refunding != refunding || o.Refundable != refundable {
		t.Errorf("order %s: %s refunded %d refunding %d refundable %d; want %s %d %d %d",
			o.OutTradeNo, o.State, o.Refunded, o.Refunding, o.Refundable, state, refunded, refunding, refundable)
	}
}

// Without an amount the remainder is refunded; WeChat Pay's SUCCESS, learnt by GET, refunds the
// order.
func TestRefundRemainder(t *testing.T) {
	s := newStack(t, nil)
	no := s.paidOrder(1280)
	r := s.refund(map[string]any{"outTradeNo": no, "reason": "商品缺货"})
	if r.status != 200 {
		t.Fatalf("refund: %d %s", r.status, r.raw)
	}
	rno := r.str("outRefundNo")
	if !strings.HasPrefix(rno, "R") || r.num("amount") != 1280 || r.str("state") != "PROCESSING" || r.str("outTradeNo") != no {
		t.Fatalf("refund = %s", r.raw)
	}
	if r.order("refunding") != 1280 || r.order("refundable") != 0 {
		t.Errorf("order money in the answer: %s", r.raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 1280, 0)
	wr := wechatRefunds(t, no)
	if len(wr) != 1 || wr[0].OutRefundNo != rno || wr[0].Amount != 1280 || wr[0].Reason != "商品缺货" {
		t.Fatalf("WeChat Pay holds %+v", wr)
	}

	settle(t, rno, "SUCCESS")
	g := s.get(rno, true)
	if g.status != 200 || g.str("state") != "SUCCESS" || g.str("successAt") == "" {
		t.Fatalf("GET after settlement: %d %s", g.status, g.raw)
	}
	checked, _ := g.body["checked"].(map[string]any)
	if checked["status"] != "SUCCESS" || checked["outcome"] != "applied" {
		t.Errorf("checked = %v", checked)
	}
	checkBooks(t, s.order(no), orders.StateRefunded, 1280, 0, 0)
	// A settled refund is final: GET answers it without asking WeChat Pay again.
	g2 := s.get(rno, true)
	if g2.status != 200 || g2.str("state") != "SUCCESS" || g2.body["checked"] != nil {
		t.Errorf("second GET: %s", g2.raw)
	}
	checkBooks(t, s.order(no), orders.StateRefunded, 1280, 0, 0)
}

// Partial refunds add up; the order is PARTIALLY_REFUNDED until the last one settles; asking
// for more than is left is refused with the refundable amount and writes nothing.
func TestPartialRefunds(t *testing.T) {
	s := newStack(t, nil)
	no := s.paidOrder(1000)
	var nos []string
	for _, amt := range []int64{300, 200} {
		r := s.refund(map[string]any{"outTradeNo": no, "amount": amt})
		if r.status != 200 || r.num("amount") != amt {
			t.Fatalf("refund %d: %d %s", amt, r.status, r.raw)
		}
		nos = append(nos, r.str("outRefundNo"))
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 500, 500)
	settle(t, nos[0], "SUCCESS")
	if g := s.get(nos[0], true); g.str("state") != "SUCCESS" {
		t.Fatalf("GET: %s", g.raw)
	}
	checkBooks(t, s.order(no), orders.StatePartiallyRefunded, 300, 200, 500)

	over := s.refund(map[string]any{"outTradeNo": no, "amount": 501})
	if over.status != 409 || over.errCode() != "exceeds_refundable" || !strings.Contains(over.errMessage(), "500 fen refundable") {
		t.Fatalf("over-refund: %d %s", over.status, over.raw)
	}
	rest := s.refund(map[string]any{"outTradeNo": no})
	if rest.status != 200 || rest.num("amount") != 500 {
		t.Fatalf("remainder: %d %s", rest.status, rest.raw)
	}
	nos = append(nos, rest.str("outRefundNo"))
	none := s.refund(map[string]any{"outTradeNo": no})
	if none.status != 409 || !strings.Contains(none.errMessage(), "0 fen refundable") {
		t.Fatalf("nothing left: %d %s", none.status, none.raw)
	}
	if n := len(s.refunds()); n != 3 {
		t.Fatalf("%d refunds recorded, want 3 (refusals write nothing)", n)
	}
	for _, rno := range nos[1:] {
		settle(t, rno, "SUCCESS")
		if g := s.get(rno, true); g.str("state") != "SUCCESS" {
			t.Fatalf("GET %s: %s", rno, g.raw)
		}
	}
	checkBooks(t, s.order(no), orders.StateRefunded, 1000, 0, 0)
	if len(wechatRefunds(t, no)) != 3 {
		t.Errorf("WeChat Pay holds %d refunds", len(wechatRefunds(t, no)))
	}
}

// Eight concurrent requests of 40% each: two fit, the others are refused, and neither the books
// nor WeChat Pay ever hold more than was paid.
func TestRefundRace(t *testing.T) {
	s := newStack(t, nil)
	no := s.paidOrder(1000)
	const n = 8
	var wg sync.WaitGroup
	replies := make([]reply, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = s.refund(map[string]any{"outTradeNo": no, "amount": 400})
		}()
	}
	wg.Wait()
	ok := 0
	for _, r := range replies {
		switch {
		case r.status == 200:
			ok++
		case r.status == 409 && r.errCode() == "exceeds_refundable":
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.raw)
		}
	}
	if ok != 2 {
		t.Errorf("%d refunds accepted, want 2", ok)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 800, 200)
	var held int64
	for _, r := range s.refunds() {
		if r.State != orders.RefundFailed {
			held += r.Amount
		}
	}
	var atWeChat int64
	for _, r := range wechatRefunds(t, no) {
		atWeChat += r.Amount
	}
	if held != 800 || atWeChat != 800 {
		t.Errorf("books hold %d fen of refunds, WeChat Pay %d; want 800 each", held, atWeChat)
	}
}

// The same outRefundNo returns the same refund and never refunds twice; with other parameters
// it is refused.
func TestIdempotentOutRefundNo(t *testing.T) {
	s := newStack(t, nil)
	no := s.paidOrder(1000)
	other := s.paidOrder(500)
	body := map[string]any{"outTradeNo": no, "amount": 300, "outRefundNo": "RF-idem-0001"}
	first := s.refund(body)
	again := s.refund(body)
	if first.status != 200 || again.status != 200 || first.str("outRefundNo") != "RF-idem-0001" ||
		again.str("outRefundNo") != "RF-idem-0001" || again.num("amount") != 300 || again.str("createdAt") != first.str("createdAt") {
		t.Fatalf("first %d %s\nagain %d %s", first.status, first.raw, again.status, again.raw)
	}
	// Without the amount the request means "the same refund" too.
	if r := s.refund(map[string]any{"outTradeNo": no, "outRefundNo": "RF-idem-0001"}); r.status != 200 || r.num("amount") != 300 {
		t.Fatalf("without amount: %d %s", r.status, r.raw)
	}
	for _, b := range []map[string]any{
		{"outTradeNo": no, "amount": 200, "outRefundNo": "RF-idem-0001"},
		{"outTradeNo": other, "amount": 300, "outRefundNo": "RF-idem-0001"},
	} {
		if r := s.refund(b); r.status != 409 || r.errCode() != "out_refund_no_conflict" {
			t.Errorf("%v: %d %s", b, r.status, r.raw)
		}
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 300, 700)
	checkBooks(t, s.order(other), orders.StatePaid, 0, 0, 500)
	if wr := wechatRefunds(t, no); len(wr) != 1 || wr[0].Amount != 300 {
		t.Errorf("WeChat Pay holds %+v", wr)
	}
	if len(s.refunds()) != 1 {
		t.Errorf("%d refunds recorded", len(s.refunds()))
	}
}

// No usable answer from WeChat Pay: the refund stays PENDING with its amount held, and a retry
// with the number it was given resumes it — one refund at WeChat Pay, one hold in the books.
func TestRefundUnknownOutcomeResumes(t *testing.T) {
	s := newStack(t, nil)
	no := s.paidOrder(900)
	if err := emu.InjectFault(emulator.Fault{Path: "/v3/refund/domestic/refunds", Code: "SYSTEM_ERROR"}); err != nil {
		t.Fatal(err)
	}
	r := s.refund(map[string]any{"outTradeNo": no, "amount": 400})
	if r.status != 503 || r.errCode() != "wechat_unavailable" || r.body["error"].(map[string]any)["retryable"] != true {
		t.Fatalf("refund under a fault: %d %s", r.status, r.raw)
	}
	loc := r.header.Get("Location")
	rno := strings.TrimPrefix(loc, "/")
	if rno == "" || !strings.Contains(r.errMessage(), rno) {
		t.Fatalf("no outRefundNo to retry with: Location %q, %s", loc, r.raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 400, 500)
	got := s.refunds()
	if len(got) != 1 || got[0].State != orders.RefundPending || got[0].OutRefundNo != rno {
		t.Fatalf("refunds = %+v", got)
	}
	if len(wechatRefunds(t, no)) != 0 {
		t.Fatal("the faulted call reached WeChat Pay")
	}
	// GET asks WeChat Pay, which never heard of it, and says how to resume.
	g := s.get(rno, true)
	if c, _ := g.body["checked"].(map[string]any); g.str("state") != "PENDING" || c["status"] != "NOT_FOUND" || !strings.Contains(c["hint"].(string), rno) {
		t.Fatalf("GET pending: %s", g.raw)
	}

	retry := s.refund(map[string]any{"outTradeNo": no, "amount": 400, "outRefundNo": rno})
	if retry.status != 200 || retry.str("state") != "PROCESSING" || retry.str("outRefundNo") != rno {
		t.Fatalf("retry: %d %s", retry.status, retry.raw)
	}
	retry2 := s.refund(map[string]any{"outTradeNo": no, "amount": 400, "outRefundNo": rno})
	if retry2.status != 200 || retry2.str("state") != "PROCESSING" {
		t.Fatalf("second retry: %d %s", retry2.status, retry2.raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 400, 500)
	if wr := wechatRefunds(t, no); len(wr) != 1 || wr[0].Amount != 400 {
		t.Fatalf("WeChat Pay holds %+v", wr)
	}
}

// A final refusal gives the amount back and marks the refund FAILED; its number stays spent.
func TestRefundRefused(t *testing.T) {
	s := newStack(t, nil)
	no := s.paidOrder(900)
	if err := emu.InjectFault(emulator.Fault{Path: "/v3/refund/domestic/refunds", Code: "NOT_ENOUGH", Errmsg: "基本账户余额不足，请充值后重新发起"}); err != nil {
		t.Fatal(err)
	}
	r := s.refund(map[string]any{"outTradeNo": no, "outRefundNo": "RF-refused-1"})
	if r.status != 409 || r.errCode() != "wechat_refused" || !strings.Contains(r.errMessage(), "NOT_ENOUGH") {
		t.Fatalf("refused: %d %s", r.status, r.raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 0, 900)
	if got := s.refunds(); len(got) != 1 || got[0].State != orders.RefundFailed || !strings.Contains(got[0].FailReason, "NOT_ENOUGH") {
		t.Fatalf("refunds = %+v", got)
	}
	again := s.refund(map[string]any{"outTradeNo": no, "outRefundNo": "RF-refused-1"})
	if again.status != 409 || again.errCode() != "refund_failed" {
		t.Fatalf("same number again: %d %s", again.status, again.raw)
	}
	fresh := s.refund(map[string]any{"outTradeNo": no})
	if fresh.status != 200 || fresh.num("amount") != 900 {
		t.Fatalf("new number: %d %s", fresh.status, fresh.raw)
	}
}

// Bad input gets a clear 4xx and changes nothing.
func TestRefundBadInput(t *testing.T) {
	s := newStack(t, nil)
	paid := s.paidOrder(1000)
	unpaid := s.createdOrder(700)
	cases := []struct {
		name   string
		key    string
		body   any
		status int
		code   string
		msg    string
	}{
		{"no key", "", map[string]any{"outTradeNo": paid}, 401, "unauthorized", ""},
		{"wrong key", "adm_not_the_key_0123456789abcdef012345", map[string]any{"outTradeNo": paid}, 401, "", ""},
		{"not json", adminKey, "{outTradeNo", 400, "invalid_json", ""},
		{"no order", adminKey, map[string]any{"reason": "x"}, 400, "missing_out_trade_no", ""},
		{"bad order", adminKey, map[string]any{"outTradeNo": "a b"}, 400, "invalid_out_trade_no", ""},
		{"zero", adminKey, map[string]any{"outTradeNo": paid, "amount": 0}, 400, "invalid_amount", ""},
		{"negative", adminKey, map[string]any{"outTradeNo": paid, "amount": -5}, 400, "invalid_amount", ""},
		{"fraction", adminKey, `{"outTradeNo":"` + paid + `","amount":1.5}`, 400, "invalid_json", ""},
		{"string amount", adminKey, `{"outTradeNo":"` + paid + `","amount":"100"}`, 400, "invalid_json", ""},
		{"bad refund no", adminKey, map[string]any{"outTradeNo": paid, "outRefundNo": "R#1"}, 400, "invalid_out_refund_no", ""},
		{"long reason", adminKey, map[string]any{"outTradeNo": paid, "reason": strings.Repeat("退", 81)}, 400, "invalid_reason", ""},
		{"control reason", adminKey, map[string]any{"outTradeNo": paid, "reason": "a\nb"}, 400, "invalid_reason", ""},
		{"unknown order", adminKey, map[string]any{"outTradeNo": "20260101000000NoSuchOrd1"}, 404, "order_not_found", ""},
		{"unpaid order", adminKey, map[string]any{"outTradeNo": unpaid}, 409, "order_not_refundable", "CREATED"},
		{"too much", adminKey, map[string]any{"outTradeNo": paid, "amount": 1001}, 409, "exceeds_refundable", "1000 fen refundable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(http.MethodPost, "/", c.key, c.body)
			if r.status != c.status || (c.code != "" && r.errCode() != c.code) || !strings.Contains(r.errMessage(), c.msg) {
				t.Errorf("%d %s; want %d %s %q", r.status, r.raw, c.status, c.code, c.msg)
			}
		})
	}
	if n := len(s.refunds()); n != 0 {
		t.Errorf("%d refunds written by refused requests", n)
	}
	checkBooks(t, s.order(paid), orders.StatePaid, 0, 0, 1000)
	if len(wechatRefunds(t, paid)) != 0 {
		t.Error("a refused request reached WeChat Pay")
	}
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{{"/NoSuchRefund1", 404, "refund_not_found"}, {"/R%231", 400, "invalid_out_refund_no"}} {
		if r := s.do(http.MethodGet, c.path, adminKey, nil); r.status != c.status || r.errCode() != c.code {
			t.Errorf("GET %s: %d %s", c.path, r.status, r.raw)
		}
	}
	if r := s.do(http.MethodGet, "/NoSuchRefund1", "", nil); r.status != 401 {
		t.Errorf("GET without key: %d", r.status)
	}
}

// GET asks WeChat Pay only once a refund has been in flight for REFUND_QUERY_AFTER (or when told
// to); a CLOSED result gives the amount back.
func TestGetQueriesAfterAWhile(t *testing.T) {
	s := newStack(t, map[string]string{"REFUND_QUERY_AFTER": "1h"})
	no := s.paidOrder(600)
	r := s.refund(map[string]any{"outTradeNo": no, "amount": 250})
	rno := r.str("outRefundNo")
	settle(t, rno, "CLOSED")
	g := s.get(rno, false)
	if g.status != 200 || g.str("state") != "PROCESSING" || g.body["checked"] != nil {
		t.Fatalf("GET before REFUND_QUERY_AFTER asked WeChat Pay: %s", g.raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 250, 350)

	// The same function, told to refresh, applies CLOSED and releases the hold.
	g = s.get(rno, true)
	if g.str("state") != "CLOSED" {
		t.Fatalf("GET refresh: %s", g.raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 0, 600)

	bad := newStack(t, map[string]string{"REFUND_QUERY_AFTER": "soon"})
	if r := bad.get("R1", false); r.status != 500 || r.errCode() != "misconfigured" {
		t.Errorf("bad REFUND_QUERY_AFTER: %d %s", r.status, r.raw)
	}
}

// With REFUND_QUERY_AFTER=0 a plain GET asks WeChat Pay at once.
func TestGetQueriesAtOnce(t *testing.T) {
	s := newStack(t, map[string]string{"REFUND_QUERY_AFTER": "0s"})
	no := s.paidOrder(600)
	r := s.refund(map[string]any{"outTradeNo": no})
	rno := r.str("outRefundNo")
	settle(t, rno, "SUCCESS")
	if g := s.get(rno, false); g.str("state") != "SUCCESS" {
		t.Fatalf("GET: %s", g.raw)
	}
	checkBooks(t, s.order(no), orders.StateRefunded, 600, 0, 0)
}

// With the database unreachable, refunds answer a retryable 503 before anything reaches
// WeChat Pay.
func TestRefundDatabaseDown(t *testing.T) {
	up := newStack(t, nil)
	no := up.paidOrder(500)
	down := newStack(t, map[string]string{"MONGODB_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"})
	for _, r := range []reply{
		down.refund(map[string]any{"outTradeNo": no}),
		down.get("R20261121000000abcdefghij", true),
	} {
		if r.status != 503 || r.errCode() != "database_unavailable" || r.body["error"].(map[string]any)["retryable"] != true {
			t.Errorf("%d %s", r.status, r.raw)
		}
	}
	if len(wechatRefunds(t, no)) != 0 {
		t.Error("a refund reached WeChat Pay without being recorded")
	}
}
