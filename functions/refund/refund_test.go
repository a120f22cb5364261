package refund_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wxfn/wxfn/functions/refund"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/infra/fntest"
	"github.com/wxfn/wxfn/shared/orders"
)

func TestMain(m *testing.M) { fntest.Main(m) }

// stack is one test's refund function behind the real HTTP adapter, with its own database, and
// the shop (books and WeChat Pay client) a test uses to set the scene.
type stack struct {
	*fntest.Stack
	t    *testing.T
	shop *fntest.Shop
}

func newStack(t *testing.T, override map[string]string) *stack {
	t.Helper()
	st := fntest.Start(t, refund.NewWithDeps, override)
	return &stack{Stack: st, t: t, shop: fntest.NewShop(t, st.Env)}
}

// paidOrder creates an order of amount fen, places it at WeChat Pay, pays it there without a
// notification and applies the payment as paynotify would.
func (s *stack) paidOrder(amount int64) string { return s.shop.Paid(amount, orders.KindPhysical) }

// createdOrder creates an order of amount fen and places it at WeChat Pay, unpaid.
func (s *stack) createdOrder(amount int64) string { return s.shop.Place(amount, orders.KindPhysical) }

// orderMoney is a number field of the order in a refund's answer.
func orderMoney(r fntest.Reply, k string) int64 {
	o, _ := r.Body["order"].(map[string]any)
	v, _ := o[k].(float64)
	return int64(v)
}

func (s *stack) refund(body any) fntest.Reply { return s.Post("/", fntest.AdminKey, body) }

func (s *stack) get(no string, refresh bool) fntest.Reply {
	p := "/" + no
	if refresh {
		p += "?refresh=true"
	}
	return s.Get(p, fntest.AdminKey)
}

func (s *stack) order(no string) orders.Order { return fntest.Order(s.t, s.shop.Books, no) }

func (s *stack) refunds() []orders.Refund {
	return fntest.All[orders.Refund](s.t, s.DB.Collection(orders.RefundsCollection))
}

// wechatRefunds is what WeChat Pay (the emulator) holds for an order.
func wechatRefunds(t *testing.T, outTradeNo string) []emulator.RefundInfo {
	t.Helper()
	o, err := fntest.Emulator().Order(fntest.Merchant().MchID, outTradeNo)
	if err != nil {
		t.Fatal(err)
	}
	return o.Refunds
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
	if r.Status != 200 {
		t.Fatalf("refund: %d %s", r.Status, r.Raw)
	}
	rno := r.Str("outRefundNo")
	if !strings.HasPrefix(rno, "R") || r.Num("amount") != 1280 || r.Str("state") != "PROCESSING" || r.Str("outTradeNo") != no {
		t.Fatalf("refund = %s", r.Raw)
	}
	if orderMoney(r, "refunding") != 1280 || orderMoney(r, "refundable") != 0 {
		t.Errorf("order money in the answer: %s", r.Raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 1280, 0)
	wr := wechatRefunds(t, no)
	if len(wr) != 1 || wr[0].OutRefundNo != rno || wr[0].Amount != 1280 || wr[0].Reason != "商品缺货" {
		t.Fatalf("WeChat Pay holds %+v", wr)
	}

	fntest.SettleQuietly(t, rno, "SUCCESS")
	g := s.get(rno, true)
	if g.Status != 200 || g.Str("state") != "SUCCESS" || g.Str("successAt") == "" {
		t.Fatalf("GET after settlement: %d %s", g.Status, g.Raw)
	}
	checked, _ := g.Body["checked"].(map[string]any)
	if checked["status"] != "SUCCESS" || checked["outcome"] != "applied" {
		t.Errorf("checked = %v", checked)
	}
	checkBooks(t, s.order(no), orders.StateRefunded, 1280, 0, 0)
	// A settled refund is final: GET answers it without asking WeChat Pay again.
	g2 := s.get(rno, true)
	if g2.Status != 200 || g2.Str("state") != "SUCCESS" || g2.Body["checked"] != nil {
		t.Errorf("second GET: %s", g2.Raw)
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
		if r.Status != 200 || r.Num("amount") != amt {
			t.Fatalf("refund %d: %d %s", amt, r.Status, r.Raw)
		}
		nos = append(nos, r.Str("outRefundNo"))
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 500, 500)
	fntest.SettleQuietly(t, nos[0], "SUCCESS")
	if g := s.get(nos[0], true); g.Str("state") != "SUCCESS" {
		t.Fatalf("GET: %s", g.Raw)
	}
	checkBooks(t, s.order(no), orders.StatePartiallyRefunded, 300, 200, 500)

	over := s.refund(map[string]any{"outTradeNo": no, "amount": 501})
	if over.Status != 409 || over.ErrCode() != "exceeds_refundable" || !strings.Contains(over.ErrMessage(), "500 fen refundable") {
		t.Fatalf("over-refund: %d %s", over.Status, over.Raw)
	}
	rest := s.refund(map[string]any{"outTradeNo": no})
	if rest.Status != 200 || rest.Num("amount") != 500 {
		t.Fatalf("remainder: %d %s", rest.Status, rest.Raw)
	}
	nos = append(nos, rest.Str("outRefundNo"))
	none := s.refund(map[string]any{"outTradeNo": no})
	if none.Status != 409 || !strings.Contains(none.ErrMessage(), "0 fen refundable") {
		t.Fatalf("nothing left: %d %s", none.Status, none.Raw)
	}
	if n := len(s.refunds()); n != 3 {
		t.Fatalf("%d refunds recorded, want 3 (refusals write nothing)", n)
	}
	for _, rno := range nos[1:] {
		fntest.SettleQuietly(t, rno, "SUCCESS")
		if g := s.get(rno, true); g.Str("state") != "SUCCESS" {
			t.Fatalf("GET %s: %s", rno, g.Raw)
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
	replies := make([]fntest.Reply, n)
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
		case r.Status == 200:
			ok++
		case r.Status == 409 && r.ErrCode() == "exceeds_refundable":
		default:
			t.Errorf("unexpected answer %d %s", r.Status, r.Raw)
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
	if first.Status != 200 || again.Status != 200 || first.Str("outRefundNo") != "RF-idem-0001" ||
		again.Str("outRefundNo") != "RF-idem-0001" || again.Num("amount") != 300 || again.Str("createdAt") != first.Str("createdAt") {
		t.Fatalf("first %d %s\nagain %d %s", first.Status, first.Raw, again.Status, again.Raw)
	}
	// Without the amount the request means "the same refund" too.
	if r := s.refund(map[string]any{"outTradeNo": no, "outRefundNo": "RF-idem-0001"}); r.Status != 200 || r.Num("amount") != 300 {
		t.Fatalf("without amount: %d %s", r.Status, r.Raw)
	}
	for _, b := range []map[string]any{
		{"outTradeNo": no, "amount": 200, "outRefundNo": "RF-idem-0001"},
		{"outTradeNo": other, "amount": 300, "outRefundNo": "RF-idem-0001"},
	} {
		if r := s.refund(b); r.Status != 409 || r.ErrCode() != "out_refund_no_conflict" {
			t.Errorf("%v: %d %s", b, r.Status, r.Raw)
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
	if err := fntest.Emulator().InjectFault(emulator.Fault{Path: "/v3/refund/domestic/refunds", Code: "SYSTEM_ERROR"}); err != nil {
		t.Fatal(err)
	}
	r := s.refund(map[string]any{"outTradeNo": no, "amount": 400})
	if r.Status != 503 || r.ErrCode() != "wechat_unavailable" || !r.Retryable() {
		t.Fatalf("refund under a fault: %d %s", r.Status, r.Raw)
	}
	loc := r.Header.Get("Location")
	rno := strings.TrimPrefix(loc, "/")
	if rno == "" || !strings.Contains(r.ErrMessage(), rno) {
		t.Fatalf("no outRefundNo to retry with: Location %q, %s", loc, r.Raw)
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
	if c, _ := g.Body["checked"].(map[string]any); g.Str("state") != "PENDING" || c["status"] != "NOT_FOUND" || !strings.Contains(c["hint"].(string), rno) {
		t.Fatalf("GET pending: %s", g.Raw)
	}

	retry := s.refund(map[string]any{"outTradeNo": no, "amount": 400, "outRefundNo": rno})
	if retry.Status != 200 || retry.Str("state") != "PROCESSING" || retry.Str("outRefundNo") != rno {
		t.Fatalf("retry: %d %s", retry.Status, retry.Raw)
	}
	retry2 := s.refund(map[string]any{"outTradeNo": no, "amount": 400, "outRefundNo": rno})
	if retry2.Status != 200 || retry2.Str("state") != "PROCESSING" {
		t.Fatalf("second retry: %d %s", retry2.Status, retry2.Raw)
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
	if err := fntest.Emulator().InjectFault(emulator.Fault{Path: "/v3/refund/domestic/refunds", Code: "NOT_ENOUGH", Errmsg: "基本账户余额不足，请充值后重新发起"}); err != nil {
		t.Fatal(err)
	}
	r := s.refund(map[string]any{"outTradeNo": no, "outRefundNo": "RF-refused-1"})
	if r.Status != 409 || r.ErrCode() != "wechat_refused" || !strings.Contains(r.ErrMessage(), "NOT_ENOUGH") {
		t.Fatalf("refused: %d %s", r.Status, r.Raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 0, 900)
	if got := s.refunds(); len(got) != 1 || got[0].State != orders.RefundFailed || !strings.Contains(got[0].FailReason, "NOT_ENOUGH") {
		t.Fatalf("refunds = %+v", got)
	}
	again := s.refund(map[string]any{"outTradeNo": no, "outRefundNo": "RF-refused-1"})
	if again.Status != 409 || again.ErrCode() != "refund_failed" {
		t.Fatalf("same number again: %d %s", again.Status, again.Raw)
	}
	fresh := s.refund(map[string]any{"outTradeNo": no})
	if fresh.Status != 200 || fresh.Num("amount") != 900 {
		t.Fatalf("new number: %d %s", fresh.Status, fresh.Raw)
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
		{"not json", fntest.AdminKey, "{outTradeNo", 400, "invalid_json", ""},
		{"no order", fntest.AdminKey, map[string]any{"reason": "x"}, 400, "missing_out_trade_no", ""},
		{"bad order", fntest.AdminKey, map[string]any{"outTradeNo": "a b"}, 400, "invalid_out_trade_no", ""},
		{"zero", fntest.AdminKey, map[string]any{"outTradeNo": paid, "amount": 0}, 400, "invalid_amount", ""},
		{"negative", fntest.AdminKey, map[string]any{"outTradeNo": paid, "amount": -5}, 400, "invalid_amount", ""},
		{"fraction", fntest.AdminKey, `{"outTradeNo":"` + paid + `","amount":1.5}`, 400, "invalid_json", ""},
		{"string amount", fntest.AdminKey, `{"outTradeNo":"` + paid + `","amount":"100"}`, 400, "invalid_json", ""},
		{"bad refund no", fntest.AdminKey, map[string]any{"outTradeNo": paid, "outRefundNo": "R#1"}, 400, "invalid_out_refund_no", ""},
		{"long reason", fntest.AdminKey, map[string]any{"outTradeNo": paid, "reason": strings.Repeat("退", 81)}, 400, "invalid_reason", ""},
		{"control reason", fntest.AdminKey, map[string]any{"outTradeNo": paid, "reason": "a\nb"}, 400, "invalid_reason", ""},
		{"unknown order", fntest.AdminKey, map[string]any{"outTradeNo": "20260101000000NoSuchOrd1"}, 404, "order_not_found", ""},
		{"unpaid order", fntest.AdminKey, map[string]any{"outTradeNo": unpaid}, 409, "order_not_refundable", "CREATED"},
		{"too much", fntest.AdminKey, map[string]any{"outTradeNo": paid, "amount": 1001}, 409, "exceeds_refundable", "1000 fen refundable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.Do(http.MethodPost, "/", c.key, c.body)
			if r.Status != c.status || (c.code != "" && r.ErrCode() != c.code) || !strings.Contains(r.ErrMessage(), c.msg) {
				t.Errorf("%d %s; want %d %s %q", r.Status, r.Raw, c.status, c.code, c.msg)
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
		if r := s.Do(http.MethodGet, c.path, fntest.AdminKey, nil); r.Status != c.status || r.ErrCode() != c.code {
			t.Errorf("GET %s: %d %s", c.path, r.Status, r.Raw)
		}
	}
	if r := s.Do(http.MethodGet, "/NoSuchRefund1", "", nil); r.Status != 401 {
		t.Errorf("GET without key: %d", r.Status)
	}
}

// GET asks WeChat Pay only once a refund has been in flight for REFUND_QUERY_AFTER (or when told
// to); a CLOSED result gives the amount back.
func TestGetQueriesAfterAWhile(t *testing.T) {
	s := newStack(t, map[string]string{"REFUND_QUERY_AFTER": "1h"})
	no := s.paidOrder(600)
	r := s.refund(map[string]any{"outTradeNo": no, "amount": 250})
	rno := r.Str("outRefundNo")
	fntest.SettleQuietly(t, rno, "CLOSED")
	g := s.get(rno, false)
	if g.Status != 200 || g.Str("state") != "PROCESSING" || g.Body["checked"] != nil {
		t.Fatalf("GET before REFUND_QUERY_AFTER asked WeChat Pay: %s", g.Raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 250, 350)

	// The same function, told to refresh, applies CLOSED and releases the hold.
	g = s.get(rno, true)
	if g.Str("state") != "CLOSED" {
		t.Fatalf("GET refresh: %s", g.Raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 0, 600)

	bad := newStack(t, map[string]string{"REFUND_QUERY_AFTER": "soon"})
	if r := bad.get("R1", false); r.Status != 500 || r.ErrCode() != "misconfigured" {
		t.Errorf("bad REFUND_QUERY_AFTER: %d %s", r.Status, r.Raw)
	}
}

// With REFUND_QUERY_AFTER=0 a plain GET asks WeChat Pay at once.
func TestGetQueriesAtOnce(t *testing.T) {
	s := newStack(t, map[string]string{"REFUND_QUERY_AFTER": "0s"})
	no := s.paidOrder(600)
	r := s.refund(map[string]any{"outTradeNo": no})
	rno := r.Str("outRefundNo")
	fntest.SettleQuietly(t, rno, "SUCCESS")
	if g := s.get(rno, false); g.Str("state") != "SUCCESS" {
		t.Fatalf("GET: %s", g.Raw)
	}
	checkBooks(t, s.order(no), orders.StateRefunded, 600, 0, 0)
}

// With the database unreachable, refunds answer a retryable 503 before anything reaches
// WeChat Pay.
func TestRefundDatabaseDown(t *testing.T) {
	up := newStack(t, nil)
	no := up.paidOrder(500)
	down := newStack(t, map[string]string{"MONGODB_URI": fntest.DeadMongoURI(t)})
	for _, r := range []fntest.Reply{
		down.refund(map[string]any{"outTradeNo": no}),
		down.get("R20261121000000abcdefghij", true),
	} {
		if r.Status != 503 || r.ErrCode() != "database_unavailable" || !r.Retryable() {
			t.Errorf("%d %s", r.Status, r.Raw)
		}
	}
	if len(wechatRefunds(t, no)) != 0 {
		t.Error("a refund reached WeChat Pay without being recorded")
	}
}
