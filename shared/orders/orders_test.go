package orders_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/shared/orders"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var (
	ctx = context.Background()
	t0  = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	us  = orders.Merchant{AppID: "wx0e1f2a3b4c5d6e7f", MchID: "1900000001"}
)

type books struct {
	*orders.Store
	db *mongo.Database
}

// fullFilters makes open's stores write with MongoDB's filters (TestFullFilters).
var fullFilters bool

func open(t *testing.T) books {
	t.Helper()
	db := dbtest.Database(t)
	s, err := orders.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if fullFilters {
		orders.UseFullFilters(s)
	}
	return books{s, db}
}

// On FerretDB the stores filter writes on _id alone (store.go); the conditions they add on
// MongoDB must hold the same rules. Run the transition tests again with them.
func TestFullFilters(t *testing.T) {
	fullFilters = true
	defer func() { fullFilters = false }()
	for name, test := range map[string]func(*testing.T){
		"PrepayAndClose":            TestPrepayAndClose,
		"ApplyPayment":              TestApplyPayment,
		"ApplyPaymentMismatch":      TestApplyPaymentMismatchFlagged,
		"LatePayment":               TestLatePaymentForClosedOrder,
		"ConcurrentPayments":        TestConcurrentPaymentsOneTransition,
		"AfterPayment":              TestAfterPayment,
		"Shipment":                  TestShipment,
		"Events":                    TestEvents,
		"RefundLifecycle":           TestRefundLifecycle,
		"RefundRequestChecks":       TestRefundRequestChecks,
		"RefundsRacingPastPaid":     TestRefundsRacingPastPaid,
		"RefundSettlementsRace":     TestRefundSettlementsRace,
		"RefundHalfDoneIsCompleted": TestRefundHalfDoneIsCompleted,
		"RefundResultChecks":        TestRefundResultChecks,
	} {
		t.Run(name, test)
	}
}

func (b books) raw(t *testing.T, coll, id string) bson.M {
	t.Helper()
	var m bson.M
	if err := b.db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&m); err != nil {
		t.Fatalf("raw %s %s: %v", coll, id, err)
	}
	return m
}

func (b books) count(t *testing.T, coll string) int64 {
	t.Helper()
	n, err := b.db.Collection(coll).CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newOrder creates a CREATED order of amount fen (one virtual item) owned by openid.
func (b books) newOrder(t *testing.T, openid string, amount int64) orders.Order {
	t.Helper()
	o, created, err := b.Create(ctx, orders.Order{
		OutTradeNo: orders.NewOutTradeNo(t0), OpenID: openid,
		Items:  []orders.Item{{SKU: "coins", Name: "coins", Price: amount, Qty: 1, Kind: orders.KindVirtual}},
		Amount: amount, Description: "coins", TimeExpire: t0.Add(30 * time.Minute),
	}, t0)
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	return o
}

func paid(o orders.Order, txn string) orders.PaidTransaction {
	return orders.PaidTransaction{
		AppID: us.AppID, MchID: us.MchID, OutTradeNo: o.OutTradeNo, TransactionID: txn,
		TradeState: "SUCCESS", PayerOpenID: o.OpenID, Total: o.Amount, PayerTotal: o.Amount,
		Currency: "CNY", SuccessTime: t0.Add(time.Minute),
	}
}

// paidOrder creates an order and applies its payment.
func (b books) paidOrder(t *testing.T, amount int64) orders.Order {
	t.Helper()
	o := b.newOrder(t, "oBuyer", amount)
	res, err := b.ApplyPayment(ctx, us, paid(o, "4200"+o.OutTradeNo), t0.Add(time.Minute))
	if err != nil || res.Outcome != orders.Applied {
		t.Fatalf("pay: %+v %v", res, err)
	}
	return res.Order
}

func TestOutTradeNo(t *testing.T) {
	a, b := orders.NewOutTradeNo(t0), orders.NewOutTradeNo(t0.Add(time.Second))
	if len(a) != 24 || !strings.HasPrefix(a, "20260501200000") {
		t.Fatalf("NewOutTradeNo = %q: want 24 chars starting with Beijing time 20260501200000", a)
	}
	if !(a < b) || !orders.ValidOutTradeNo(a) {
		t.Fatalf("%q then %q: want increasing and valid", a, b)
	}
	if a == orders.NewOutTradeNo(t0) {
		t.Fatal("two numbers in one second are equal")
	}
	if r := orders.NewOutRefundNo(t0); !orders.ValidOutRefundNo(r) || r[0] != 'R' {
		t.Fatalf("NewOutRefundNo = %q", r)
	}
	for _, bad := range []string{"", "abc12", strings.Repeat("a", 33), "abc/123", "abc 123", "订单123456"} {
		if orders.ValidOutTradeNo(bad) {
			t.Errorf("ValidOutTradeNo(%q) = true", bad)
		}
	}
	for _, good := range []string{"abc123", "A_b-c|d*e", strings.Repeat("9", 32)} {
		if !orders.ValidOutTradeNo(good) {
			t.Errorf("ValidOutTradeNo(%q) = false", good)
		}
	}
	if orders.ValidOutTradeNo("abc@12") || !orders.ValidOutRefundNo("abc@12") {
		t.Error("@ is allowed in out_refund_no only")
	}
}

func TestCreate(t *testing.T) {
	b := open(t)
	o := b.newOrder(t, "oA", 1500)
	if o.State != orders.StateCreated || !o.Virtual || o.IdempotencyKey != o.OutTradeNo {
		t.Fatalf("created %+v", o)
	}
	got, err := b.Get(ctx, o.OutTradeNo)
	if err != nil || got.Amount != 1500 || got.OpenID != "oA" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("get: %+v %v", got, err)
	}
	// Fields of later states are absent, not zero: the after-payment claim filters on $exists.
	raw := b.raw(t, orders.OrdersCollection, o.OutTradeNo)
	for _, f := range []string{"paidAt", "transactionId", "prepayId", "closedAt"} {
		if _, ok := raw[f]; ok {
			t.Errorf("a new order has %s = %v", f, raw[f])
		}
	}
	if ap, _ := raw["afterPay"].(bson.M); ap != nil {
		if _, ok := ap["doneAt"]; ok {
			t.Errorf("a new order has afterPay.doneAt")
		}
	}

	// The amount must be the items' total.
	_, _, err = b.Create(ctx, orders.Order{OutTradeNo: orders.NewOutTradeNo(t0), OpenID: "oA",
		Items: []orders.Item{{SKU: "x", Price: 100, Qty: 2}}, Amount: 150}, t0)
	if err == nil {
		t.Fatal("amount 150 for 2×100: want an error")
	}
	if _, err := b.Get(ctx, "nosuchorder"); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	if n := b.count(t, orders.OrdersCollection); n != 1 {
		t.Fatalf("%d orders, want 1", n)
	}
}

func TestCreateIdempotent(t *testing.T) {
	b := open(t)
	mk := func(hash string) orders.Order {
		return orders.Order{OutTradeNo: orders.NewOutTradeNo(t0), OpenID: "oA", IdempotencyKey: "key-1", RequestHash: hash,
			Items: []orders.Item{{SKU: "x", Name: "x", Price: 100, Qty: 1, Kind: orders.KindPhysical}}, Amount: 100}
	}
	// Concurrent retries of one request: one order, everybody gets it.
	const n = 8
	got := make([]string, n)
	var created atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			o, c, err := b.Create(ctx, mk("h1"), t0)
			if err != nil {
				t.Error(err)
				return
			}
			if c {
				created.Add(1)
			}
			got[i] = o.OutTradeNo
		})
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d creations, want 1", created.Load())
	}
	for _, g := range got {
		if g != got[0] {
			t.Fatalf("retries got different orders: %v", got)
		}
	}
	// The same key for another request is a conflict; the same key for another user is not.
	if _, _, err := b.Create(ctx, mk("h2"), t0); !errors.Is(err, orders.ErrConflict) {
		t.Fatalf("same key, other request: %v", err)
	}
	other := mk("h1")
	other.OpenID = "oB"
	if _, c, err := b.Create(ctx, other, t0); err != nil || !c {
		t.Fatalf("same key, other user: created=%v %v", c, err)
	}
	if n := b.count(t, orders.OrdersCollection); n != 2 {
		t.Fatalf("%d orders, want 2", n)
	}
}

func TestPrepayAndClose(t *testing.T) {
	b := open(t)
	o := b.newOrder(t, "oA", 100)
	if err := b.SetPrepayError(ctx, o.OutTradeNo, "SYSTEM_ERROR", t0); err != nil {
		t.Fatal(err)
	}
	pay := orders.Payment{TimeStamp: "1", NonceStr: "n", Package: "prepay_id=wx1", SignType: "RSA", PaySign: "s"}
	got, err := b.SetPrepay(ctx, o.OutTradeNo, "wx1", t0.Add(2*time.Hour), pay, t0)
	if err != nil || got.PrepayID != "wx1" || got.Payment == nil || *got.Payment != pay || got.PrepayError != "" {
		t.Fatalf("set prepay: %+v %v", got, err)
	}
	closed, err := b.Close(ctx, o.OutTradeNo, "by owner", t0)
	if err != nil || closed.State != orders.StateClosed || closed.CloseReason != "by owner" {
		t.Fatalf("close: %+v %v", closed, err)
	}
	if _, err := b.Close(ctx, o.OutTradeNo, "again", t0); err != nil {
		t.Fatalf("closing a closed order: %v", err)
	}
	if _, err := b.SetPrepay(ctx, o.OutTradeNo, "wx2", t0, pay, t0); !errors.Is(err, orders.ErrState) {
		t.Fatalf("prepay a closed order: %v", err)
	}
	p := b.paidOrder(t, 100)
	if _, err := b.Close(ctx, p.OutTradeNo, "x", t0); !errors.Is(err, orders.ErrState) {
		t.Fatalf("close a paid order: %v", err)
	}
	if got, _ := b.Get(ctx, p.OutTradeNo); got.State != orders.StatePaid {
		t.Fatalf("paid order became %s", got.State)
	}
}

func TestApplyPayment(t *testing.T) {
	b := open(t)
	o := b.newOrder(t, "oA", 1500)
	txn := paid(o, "4200000001")
	res, err := b.ApplyPayment(ctx, us, txn, t0.Add(time.Minute))
	if err != nil || res.Outcome != orders.Applied || res.Claim == nil {
		t.Fatalf("apply: %+v %v", res, err)
	}
	got := res.Order
	if got.State != orders.StatePaid || got.TransactionID != "4200000001" || got.Refundable != 1500 ||
		!got.PaidAt.Equal(txn.SuccessTime) || got.PayerTotal != 1500 {
		t.Fatalf("paid order %+v", got)
	}
	// Again: a duplicate, nothing changes, no second claim while the first is live.
	res, err = b.ApplyPayment(ctx, us, txn, t0.Add(2*time.Minute))
	if err != nil || res.Outcome != orders.Duplicate || res.Claim != nil {
		t.Fatalf("again: %+v %v", res, err)
	}
	if again, _ := b.Get(ctx, o.OutTradeNo); !again.UpdatedAt.Equal(got.UpdatedAt) || again.Flagged {
		t.Fatalf("duplicate changed the order: %+v", again)
	}
	// Another transaction for the same paid order is flagged.
	other := txn
	other.TransactionID = "4200000002"
	if res, _ := b.ApplyPayment(ctx, us, other, t0); res.Outcome != orders.Flagged || res.Reason != orders.FlagTransactionMismatch {
		t.Fatalf("second transaction: %+v", res)
	}
	// A payment for an order we never created.
	unknown := txn
	unknown.OutTradeNo = "20260501000000nosuch"
	if res, err := b.ApplyPayment(ctx, us, unknown, t0); err != nil || res.Outcome != orders.Flagged || res.Reason != orders.FlagUnknownOrder {
		t.Fatalf("unknown order: %+v %v", res, err)
	}
}

func TestApplyPaymentMismatchFlagged(t *testing.T) {
	b := open(t)
	cases := []struct {
		reason string
		mutate func(*orders.PaidTransaction)
	}{
		{orders.FlagAmountMismatch, func(p *orders.PaidTransaction) { p.Total = 1 }},
		{orders.FlagAppIDMismatch, func(p *orders.PaidTransaction) { p.AppID = "wxother" }},
		{orders.FlagMchIDMismatch, func(p *orders.PaidTransaction) { p.MchID = "1900000099" }},
		{orders.FlagTradeState, func(p *orders.PaidTransaction) { p.TradeState = "NOTPAY" }},
		{orders.FlagCurrencyMismatch, func(p *orders.PaidTransaction) { p.Currency = "USD" }},
		{orders.FlagPayerMismatch, func(p *orders.PaidTransaction) { p.PayerOpenID = "oSomeoneElse" }},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			o := b.newOrder(t, "oA", 1500)
			txn := paid(o, "4200"+o.OutTradeNo)
			c.mutate(&txn)
			for range 2 { // a redelivery records the problem once
				res, err := b.ApplyPayment(ctx, us, txn, t0)
				if err != nil || res.Outcome != orders.Flagged || res.Reason != c.reason || res.Claim != nil {
					t.Fatalf("apply: %+v %v", res, err)
				}
			}
			got, _ := b.Get(ctx, o.OutTradeNo)
			if got.State != orders.StateCreated || !got.Flagged || len(got.Flags) != 1 || got.Flags[0].Reason != c.reason {
				t.Fatalf("order after a mismatched payment: state %s flags %+v", got.State, got.Flags)
			}
			if got.TransactionID != "" || got.Refundable != 0 {
				t.Fatalf("a mismatched payment was applied: %+v", got)
			}
		})
	}
}

func TestLatePaymentForClosedOrder(t *testing.T) {
	b := open(t)
	o := b.newOrder(t, "oA", 1500)
	if _, err := b.Close(ctx, o.OutTradeNo, "by owner", t0); err != nil {
		t.Fatal(err)
	}
	res, err := b.ApplyPayment(ctx, us, paid(o, "4200000009"), t0)
	if err != nil || res.Outcome != orders.Flagged || res.Reason != orders.FlagPaidAfterClose {
		t.Fatalf("late payment: %+v %v", res, err)
	}
	if res.Order.State != orders.StateClosed || !res.Order.Flagged || res.Order.TransactionID != "" {
		t.Fatalf("closed order after a late payment: %+v", res.Order)
	}
}

func TestConcurrentPaymentsOneTransition(t *testing.T) {
	b := open(t)
	o := b.newOrder(t, "oA", 1500)
	const n = 16
	var applied, claims atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			res, err := b.ApplyPayment(ctx, us, paid(o, "4200000001"), t0)
			if err != nil {
				t.Error(err)
				return
			}
			if res.Outcome == orders.Applied {
				applied.Add(1)
			} else if res.Outcome != orders.Duplicate {
				t.Errorf("outcome %s", res.Outcome)
			}
			if res.Claim != nil {
				claims.Add(1)
			}
		})
	}
	wg.Wait()
	if applied.Load() != 1 || claims.Load() != 1 {
		t.Fatalf("%d applied, %d claims; want 1 and 1", applied.Load(), claims.Load())
	}
}

func TestAfterPayment(t *testing.T) {
	b := open(t)
	o := b.newOrder(t, "oA", 100)
	res, err := b.ApplyPayment(ctx, us, paid(o, "4200000001"), t0)
	if err != nil || res.Claim == nil {
		t.Fatal(res, err)
	}
	var ran []string
	hooks := []orders.Hook{
		orders.HookFunc(func(ctx context.Context, o orders.Order) error { ran = append(ran, "a:"+string(o.State)); return nil }),
		orders.HookFunc(func(ctx context.Context, o orders.Order) error { panic("boom") }),
		orders.HookFunc(func(ctx context.Context, o orders.Order) error { ran = append(ran, "c"); return errors.New("later") }),
	}
	// A crash before the work is done: nobody else may claim it while the lease lives, somebody
	// may after.
	if c, err := b.ClaimAfterPayment(ctx, o.OutTradeNo, t0.Add(time.Minute)); err != nil || c != nil {
		t.Fatalf("claim during the lease: %v %v", c, err)
	}
	late, err := b.ClaimAfterPayment(ctx, o.OutTradeNo, t0.Add(orders.AfterPayLease+time.Second))
	if err != nil || late == nil {
		t.Fatalf("claim after the lease: %v %v", late, err)
	}
	// The first claimant's late finish does not mark the work done: its claim was taken over.
	if err := b.RunAfterPayment(ctx, res.Claim, nil, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Get(ctx, o.OutTradeNo); !got.AfterPay.DoneAt.IsZero() {
		t.Fatal("a superseded claim marked the work done")
	}
	err = b.RunAfterPayment(ctx, late, hooks, t0.Add(3*time.Minute))
	if err == nil || strings.Join(ran, ",") != "a:PAID,c" {
		t.Fatalf("run: ran %v, err %v; want a and c to run and an error for the other two", ran, err)
	}
	got, _ := b.Get(ctx, o.OutTradeNo)
	if got.AfterPay.DoneAt.IsZero() || got.AfterPay.Runs != 2 || len(got.AfterPay.Errors) != 2 {
		t.Fatalf("after-payment marks %+v", got.AfterPay)
	}
	if c, _ := b.ClaimAfterPayment(ctx, o.OutTradeNo, t0.Add(time.Hour)); c != nil {
		t.Fatal("claimed finished work")
	}
	// A duplicate payment after the work is done brings no claim.
	if res, _ := b.ApplyPayment(ctx, us, paid(o, "4200000001"), t0.Add(time.Hour)); res.Claim != nil || res.Outcome != orders.Duplicate {
		t.Fatalf("duplicate after done: %+v", res)
	}
}

func TestShipment(t *testing.T) {
	b := open(t)
	o := b.newOrder(t, "oA", 100)
	if _, err := b.SetShipment(ctx, o.OutTradeNo, orders.Shipment{State: orders.ShipFailed, LastError: "x"}, t0); !errors.Is(err, orders.ErrState) {
		t.Fatalf("ship an unpaid order: %v", err)
	}
	p := b.paidOrder(t, 100)
	if _, err := b.SetShipment(ctx, p.OutTradeNo, orders.Shipment{State: orders.ShipFailed, LastError: "10060001"}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetShipment(ctx, p.OutTradeNo, orders.Shipment{State: orders.ShipUploaded, LogisticsType: 3, ItemDesc: "coins"}, t0); err != nil {
		t.Fatal(err)
	}
	got, _ := b.Get(ctx, p.OutTradeNo)
	if s := got.Shipping; s == nil || s.State != orders.ShipUploaded || s.Attempts != 2 || s.LastError != "" || s.LogisticsType != 3 || s.UploadedAt.IsZero() {
		t.Fatalf("shipping %+v", got.Shipping)
	}
}

func TestEvents(t *testing.T) {
	b := open(t)
	e := orders.Event{ID: "EV-1", EventType: "TRANSACTION.SUCCESS", OutTradeNo: "o1", Plaintext: "{}"}
	first, err := b.RecordEvent(ctx, e, t0)
	if err != nil || first.Outcome != orders.Pending || first.Deliveries != 1 {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := b.RecordEvent(ctx, e, t0.Add(time.Second))
	if err != nil || again.Outcome != orders.Pending || again.Deliveries != 2 {
		t.Fatalf("again: %+v %v", again, err)
	}
	if err := b.SetEventOutcome(ctx, "EV-1", orders.Duplicate, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := b.SetEventOutcome(ctx, "EV-1", orders.Applied, "won", t0); err != nil {
		t.Fatal(err)
	}
	if err := b.SetEventOutcome(ctx, "EV-1", orders.Duplicate, "late", t0); err != nil {
		t.Fatal(err)
	}
	got, _ := b.GetEvent(ctx, "EV-1")
	if got.Outcome != orders.Applied || got.Detail != "won" {
		t.Fatalf("outcome %s %q: want applied to win", got.Outcome, got.Detail)
	}
	if err := b.SetEventOutcome(ctx, "EV-1", orders.Pending, "", t0); err == nil {
		t.Fatal("setting Pending: want an error")
	}
	if n := b.count(t, orders.EventsCollection); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	if evs, _ := b.EventsOf(ctx, "o1"); len(evs) != 1 {
		t.Fatalf("events of o1: %v", evs)
	}
}

func TestProducts(t *testing.T) {
	b := open(t)
	n, err := b.SeedProducts(ctx, orders.SampleProducts())
	if err != nil || n != len(orders.SampleProducts()) {
		t.Fatalf("seed: %d %v", n, err)
	}
	if err := b.PutProduct(ctx, orders.Product{SKU: "vip-month", Name: "VIP", Price: 999, Active: true, Kind: orders.KindVirtual}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.SeedProducts(ctx, orders.SampleProducts()); err != nil || n != 0 {
		t.Fatalf("seed again: %d %v", n, err)
	}
	ps, err := b.Products(ctx, []string{"vip-month", "tea-retired", "nope"})
	if err != nil || len(ps) != 2 || ps["vip-month"].Price != 999 || ps["tea-retired"].Active {
		t.Fatalf("products: %+v %v (seeding must not overwrite an edited product)", ps, err)
	}
	if err := b.PutProduct(ctx, orders.Product{SKU: "bad", Name: "x", Price: 0, Kind: orders.KindVirtual}); err == nil {
		t.Fatal("price 0 accepted")
	}
}

// refund asks for a refund of amount on o and fails the test on error.
func (b books) refund(t *testing.T, o orders.Order, no string, amount int64) orders.Refund {
	t.Helper()
	r, created, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: o.OutTradeNo, OutRefundNo: no, Amount: amount}, t0)
	if err != nil || !created {
		t.Fatalf("refund %s: %v created=%v", no, err, created)
	}
	return r
}

func result(r orders.Refund, status string) orders.RefundResult {
	return orders.RefundResult{MchID: us.MchID, OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo, RefundID: "5030" + r.OutRefundNo,
		Status: status, Refund: r.Amount, Total: r.Total, SuccessTime: t0.Add(time.Hour)}
}

func (b books) money(t *testing.T, no string) string {
	t.Helper()
	o, err := b.Get(ctx, no)
	if err != nil {
		t.Fatal(err)
	}
	if o.Refundable+o.Refunding+o.Refunded != o.Amount && o.State.Paid() {
		t.Errorf("books do not balance: %d + %d + %d != %d", o.Refundable, o.Refunding, o.Refunded, o.Amount)
	}
	return fmt.Sprintf("%s refundable=%d refunding=%d refunded=%d", o.State, o.Refundable, o.Refunding, o.Refunded)
}

func TestRefundLifecycle(t *testing.T) {
	b := open(t)
	o := b.paidOrder(t, 1000)
	r1 := b.refund(t, o, "R1", 300)
	if r1.State != orders.RefundPending || r1.Total != 1000 {
		t.Fatalf("r1 %+v", r1)
	}
	if got := b.money(t, o.OutTradeNo); got != "PAID refundable=700 refunding=300 refunded=0" {
		t.Fatal(got)
	}
	// Accepted, then SUCCESS, then SUCCESS again.
	if res, err := b.ApplyRefund(ctx, us, result(r1, "PROCESSING"), t0); err != nil || res.Outcome != orders.Applied || res.Refund.State != orders.RefundProcessing {
		t.Fatalf("processing: %+v %v", res, err)
	}
	if res, err := b.ApplyRefund(ctx, us, result(r1, "SUCCESS"), t0); err != nil || res.Outcome != orders.Applied || !res.Refund.SuccessAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("success: %+v %v", res, err)
	}
	if res, err := b.ApplyRefund(ctx, us, result(r1, "SUCCESS"), t0); err != nil || res.Outcome != orders.Duplicate {
		t.Fatalf("success again: %+v %v", res, err)
	}
	if got := b.money(t, o.OutTradeNo); got != "PARTIALLY_REFUNDED refundable=700 refunding=0 refunded=300" {
		t.Fatal(got)
	}
	// A late PROCESSING or ABNORMAL does not move it back; a CLOSED contradicts it and is flagged.
	if res, _ := b.ApplyRefund(ctx, us, result(r1, "ABNORMAL"), t0); res.Outcome != orders.Ignored || res.Refund.State != orders.RefundSuccess {
		t.Fatalf("late abnormal: %+v", res)
	}
	if res, _ := b.ApplyRefund(ctx, us, result(r1, "CLOSED"), t0); res.Outcome != orders.Flagged || res.Reason != orders.FlagRefundContradiction {
		t.Fatalf("closed after success: %+v", res)
	}
	if got := b.money(t, o.OutTradeNo); got != "PARTIALLY_REFUNDED refundable=700 refunding=0 refunded=300" {
		t.Fatal(got)
	}

	// CLOSED gives the amount back; ABNORMAL keeps it until it resolves.
	r2 := b.refund(t, o, "R2", 200)
	if res, _ := b.ApplyRefund(ctx, us, result(r2, "CLOSED"), t0); res.Outcome != orders.Applied {
		t.Fatalf("closed: %+v", res)
	}
	if res, _ := b.ApplyRefund(ctx, us, result(r2, "CLOSED"), t0); res.Outcome != orders.Duplicate {
		t.Fatalf("closed again: %+v", res)
	}
	if got := b.money(t, o.OutTradeNo); got != "PARTIALLY_REFUNDED refundable=700 refunding=0 refunded=300" {
		t.Fatal(got)
	}
	r3 := b.refund(t, o, "R3", 0) // the remainder
	if r3.Amount != 700 {
		t.Fatalf("remainder refund of %d, want 700", r3.Amount)
	}
	if res, _ := b.ApplyRefund(ctx, us, result(r3, "ABNORMAL"), t0); res.Outcome != orders.Applied {
		t.Fatalf("abnormal: %+v", res)
	}
	if got := b.money(t, o.OutTradeNo); got != "PARTIALLY_REFUNDED refundable=0 refunding=700 refunded=300" {
		t.Fatal(got)
	}
	if _, _, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: o.OutTradeNo, OutRefundNo: "R4", Amount: 1}, t0); !errors.Is(err, orders.ErrNotEnough) {
		t.Fatalf("refund while the rest is held by an abnormal refund: %v", err)
	}
	if res, _ := b.ApplyRefund(ctx, us, result(r3, "SUCCESS"), t0); res.Outcome != orders.Applied {
		t.Fatalf("abnormal → success: %+v", res)
	}
	if got := b.money(t, o.OutTradeNo); got != "REFUNDED refundable=0 refunding=0 refunded=1000" {
		t.Fatal(got)
	}
	rs, _ := b.RefundsOf(ctx, o.OutTradeNo)
	if len(rs) != 3 {
		t.Fatalf("%d refunds recorded, want 3 (R4 was refused before it was recorded)", len(rs))
	}
}

func TestRefundRequestChecks(t *testing.T) {
	b := open(t)
	unpaid := b.newOrder(t, "oA", 1000)
	if _, _, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: unpaid.OutTradeNo, OutRefundNo: "R0", Amount: 1}, t0); !errors.Is(err, orders.ErrState) {
		t.Fatalf("refund an unpaid order: %v", err)
	}
	if _, _, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: "nosuchorder1", OutRefundNo: "R0", Amount: 1}, t0); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("refund an unknown order: %v", err)
	}
	o := b.paidOrder(t, 1000)
	if _, _, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: o.OutTradeNo, OutRefundNo: "R0", Amount: 1001}, t0); !errors.Is(err, orders.ErrNotEnough) {
		t.Fatalf("refund more than paid: %v", err)
	}
	if _, _, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: o.OutTradeNo, OutRefundNo: "bad/no", Amount: 1}, t0); err == nil {
		t.Fatal("invalid out_refund_no accepted")
	}
	if n := b.count(t, orders.RefundsCollection); n != 0 {
		t.Fatalf("%d refunds written by refused requests", n)
	}
	// Idempotent on the number; a different request with the same number conflicts.
	r := b.refund(t, o, "R1", 100)
	again, created, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: o.OutTradeNo, OutRefundNo: "R1", Amount: 100}, t0)
	if err != nil || created || again.OutRefundNo != r.OutRefundNo {
		t.Fatalf("retry: %+v %v %v", again, created, err)
	}
	if _, _, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: o.OutTradeNo, OutRefundNo: "R1", Amount: 200}, t0); !errors.Is(err, orders.ErrConflict) {
		t.Fatalf("same number, other amount: %v", err)
	}
	if got := b.money(t, o.OutTradeNo); got != "PAID refundable=900 refunding=100 refunded=0" {
		t.Fatal(got)
	}
	// WeChat Pay refuses it for good: FAILED, released; failing again is harmless.
	if f, err := b.FailRefund(ctx, "R1", "NOT_ENOUGH", t0); err != nil || f.State != orders.RefundFailed {
		t.Fatalf("fail: %+v %v", f, err)
	}
	if _, err := b.FailRefund(ctx, "R1", "NOT_ENOUGH", t0); err != nil {
		t.Fatal(err)
	}
	if got := b.money(t, o.OutTradeNo); got != "PAID refundable=1000 refunding=0 refunded=0" {
		t.Fatal(got)
	}
}

func TestRefundsRacingPastPaid(t *testing.T) {
	b := open(t)
	o := b.paidOrder(t, 1000)
	const n = 12 // 12 × 300 fen against 1000: at most 3 can be held
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: o.OutTradeNo, OutRefundNo: fmt.Sprintf("RACE%02d", i), Amount: 300}, t0)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, orders.ErrNotEnough):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 3 || refused.Load() != n-3 {
		t.Fatalf("%d held, %d refused; want 3 and %d", ok.Load(), refused.Load(), n-3)
	}
	if got := b.money(t, o.OutTradeNo); got != "PAID refundable=100 refunding=900 refunded=0" {
		t.Fatal(got)
	}
}

func TestRefundSettlementsRace(t *testing.T) {
	b := open(t)
	o := b.paidOrder(t, 1000)
	var rs []orders.Refund
	for i := range 4 {
		rs = append(rs, b.refund(t, o, fmt.Sprintf("S%d", i), 250))
	}
	var wg sync.WaitGroup
	for _, r := range rs {
		for range 4 { // every result delivered four times at once
			wg.Go(func() {
				if _, err := b.ApplyRefund(ctx, us, result(r, "SUCCESS"), t0); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if got := b.money(t, o.OutTradeNo); got != "REFUNDED refundable=0 refunding=0 refunded=1000" {
		t.Fatal(got)
	}
}

func TestRefundHalfDoneIsCompleted(t *testing.T) {
	b := open(t)
	o := b.paidOrder(t, 1000)
	r := b.refund(t, o, "R1", 400)
	// A delivery that died after moving the refund and before settling the order.
	if _, err := b.db.Collection(orders.RefundsCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: "R1"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: orders.RefundSuccess}}}}); err != nil {
		t.Fatal(err)
	}
	res, err := b.ApplyRefund(ctx, us, result(r, "SUCCESS"), t0)
	if err != nil || res.Outcome != orders.Applied {
		t.Fatalf("redelivery: %+v %v", res, err)
	}
	if got := b.money(t, o.OutTradeNo); got != "PARTIALLY_REFUNDED refundable=600 refunding=0 refunded=400" {
		t.Fatal(got)
	}
	// A refund recorded PENDING whose hold never happened: the retry holds it.
	if _, err := b.db.Collection(orders.RefundsCollection).InsertOne(ctx, orders.Refund{OutRefundNo: "R2", OutTradeNo: o.OutTradeNo,
		Amount: 100, Total: 1000, State: orders.RefundPending, Origin: "request", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, created, err := b.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: o.OutTradeNo, OutRefundNo: "R2"}, t0); err != nil || created {
		t.Fatalf("retry: %v %v", created, err)
	}
	if got := b.money(t, o.OutTradeNo); got != "PARTIALLY_REFUNDED refundable=500 refunding=100 refunded=400" {
		t.Fatal(got)
	}
}

func TestRefundResultChecks(t *testing.T) {
	b := open(t)
	o := b.paidOrder(t, 1000)
	r := b.refund(t, o, "R1", 400)
	wrongAmount := result(r, "SUCCESS")
	wrongAmount.Refund = 500
	if res, _ := b.ApplyRefund(ctx, us, wrongAmount, t0); res.Outcome != orders.Flagged || res.Reason != orders.FlagRefundMismatch {
		t.Fatalf("wrong amount: %+v", res)
	}
	wrongMch := result(r, "SUCCESS")
	wrongMch.MchID = "1900000099"
	if res, _ := b.ApplyRefund(ctx, us, wrongMch, t0); res.Outcome != orders.Flagged || res.Reason != orders.FlagMchIDMismatch {
		t.Fatalf("wrong mchid: %+v", res)
	}
	if got := b.money(t, o.OutTradeNo); got != "PAID refundable=600 refunding=400 refunded=0" {
		t.Fatal(got)
	}
	if got, _ := b.GetRefund(ctx, "R1"); got.State != orders.RefundPending || !got.Flagged {
		t.Fatalf("refund after mismatched results: %+v", got)
	}

	// A refund made outside wxfn (the merchant portal) is recorded, flagged and counted.
	ext := orders.RefundResult{MchID: us.MchID, OutTradeNo: o.OutTradeNo, OutRefundNo: "PORTAL1", Status: "SUCCESS", Refund: 100, Total: 1000}
	res, err := b.ApplyRefund(ctx, us, ext, t0)
	if err != nil || res.Outcome != orders.Applied || res.Refund.Origin != "wechat" || !res.Refund.Flagged {
		t.Fatalf("external refund: %+v %v", res, err)
	}
	if got := b.money(t, o.OutTradeNo); got != "PARTIALLY_REFUNDED refundable=500 refunding=400 refunded=100" {
		t.Fatal(got)
	}
	if got, _ := b.Get(ctx, o.OutTradeNo); !got.Flagged {
		t.Fatal("order not flagged for an external refund")
	}
	// A refund of an order that is not ours at all.
	ext.OutTradeNo, ext.OutRefundNo = "nosuchorder1", "PORTAL2"
	if res, err := b.ApplyRefund(ctx, us, ext, t0); err != nil || res.Outcome != orders.Flagged || res.Reason != orders.FlagUnknownOrder {
		t.Fatalf("refund of an unknown order: %+v %v", res, err)
	}
}

func TestLock(t *testing.T) {
	b := open(t)
	o := b.newOrder(t, "oA", 100)
	locks := b.db.Collection(orders.LocksCollection)
	// A writer that died holding the lock: the next writer takes it over once it expired.
	if _, err := locks.InsertOne(ctx, bson.D{{Key: "_id", Value: "order:" + o.OutTradeNo}, {Key: "owner", Value: "dead"},
		{Key: "until", Value: time.Now().Add(-time.Second)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Close(ctx, o.OutTradeNo, "x", t0); err != nil {
		t.Fatalf("close over a stale lock: %v", err)
	}
	if n := b.count(t, orders.LocksCollection); n != 0 {
		t.Fatalf("%d locks left behind", n)
	}
	// A live lock makes writers wait; one that cannot wait any longer gets a transient error and
	// changes nothing.
	p := b.newOrder(t, "oA", 100)
	if _, err := locks.InsertOne(ctx, bson.D{{Key: "_id", Value: "order:" + p.OutTradeNo}, {Key: "owner", Value: "live"},
		{Key: "until", Value: time.Now().Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := b.ApplyPayment(short, us, paid(p, "4200000001"), t0)
	if err == nil || !orders.IsTransient(err) {
		t.Fatalf("apply under a live lock: %v; want a transient error", err)
	}
	if got, _ := b.Get(ctx, p.OutTradeNo); got.State != orders.StateCreated {
		t.Fatalf("state %s", got.State)
	}
}

// Every process after the first opens books whose indexes exist; FerretDB must not choke on it.
func TestOpenAgain(t *testing.T) {
	b := open(t)
	c, err := mongo.Connect(options.Client().ApplyURI(dbtest.URI(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	again, err := orders.Open(ctx, c.Database(b.db.Name()))
	if err != nil {
		t.Fatalf("second process: %v", err)
	}
	if _, err := again.Products(ctx, []string{"x"}); err != nil {
		t.Fatal(err)
	}
}

func TestSummaryAndShipmentDue(t *testing.T) {
	items := []orders.Item{{Name: "乌龙茶 250g", Qty: 2}, {Name: "陶瓷杯", Qty: 1}}
	if got := orders.Summary(items, 127); got != "乌龙茶 250g×2 等3件" {
		t.Fatalf("summary %q", got)
	}
	if got := orders.Summary([]orders.Item{{Name: strings.Repeat("茶", 200), Qty: 1}}, 120); len([]rune(got)) != 120 || !strings.HasSuffix(got, "…") {
		t.Fatalf("long summary %q (%d runes)", got, len([]rune(got)))
	}
	paid := orders.Order{Virtual: true, State: orders.StatePaid, AfterPay: orders.AfterPay{DoneAt: t0}}
	if orders.ShipmentDue(paid, t0.Add(time.Second), time.Minute) || !orders.ShipmentDue(paid, t0.Add(2*time.Minute), time.Minute) {
		t.Fatal("a never-uploaded virtual order is due once retryAfter has passed")
	}
	failed := paid
	failed.Shipping = &orders.Shipment{State: orders.ShipFailed, UpdatedAt: t0}
	if !orders.ShipmentDue(failed, t0.Add(2*time.Minute), time.Minute) {
		t.Fatal("a failed upload is due")
	}
	done := paid
	done.Shipping = &orders.Shipment{State: orders.ShipUploaded, UpdatedAt: t0}
	physical := failed
	physical.Virtual = false
	if orders.ShipmentDue(done, t0.Add(time.Hour), time.Minute) || orders.ShipmentDue(physical, t0.Add(time.Hour), time.Minute) {
		t.Fatal("uploaded or physical orders are never due")
	}
}
