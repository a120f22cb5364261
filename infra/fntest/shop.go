package fntest

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// ShopOpenID is the buyer of the orders a Shop places.
const ShopOpenID = "oFntestBuyer000000000000001"

// Shop sets the scene of a payment test without going through a function: orders created in the
// books and placed at WeChat Pay, payments made at WeChat Pay and applied to the books as
// paynotify would apply them.
type Shop struct {
	// DB is the test's database (see DB), Books the order books in it.
	DB    *mongo.Database
	Books *orders.Store
	// Pay is the merchant's own WeChat Pay client (see PayClient).
	Pay *wxpay.Client
	t   testing.TB
}

// NewShop opens the books of env's database and a WeChat Pay client over env's settings.
func NewShop(t testing.TB, env map[string]string) *Shop {
	t.Helper()
	db := DB(t, env)
	return &Shop{DB: db, Books: Books(t, db), Pay: PayClient(t, env), t: t}
}

// Place creates an order of one item of kind costing amount fen for ShopOpenID in the books and
// places it at WeChat Pay (JSAPI prepay), unpaid; it returns the out_trade_no.
func (s *Shop) Place(amount int64, kind orders.Kind) string {
	s.t.Helper()
	ctx := context.Background()
	now := time.Now()
	item := orders.Item{SKU: "tea-oolong-250g", Name: "乌龙茶 250g", Price: amount, Qty: 1, Kind: kind}
	if kind == orders.KindVirtual {
		item.SKU, item.Name = "vip-month", "会员月卡"
	}
	o := orders.Order{
		OutTradeNo: orders.NewOutTradeNo(now), OpenID: ShopOpenID, Amount: amount, Description: item.Name,
		Items: []orders.Item{item}, TimeExpire: now.Add(time.Hour),
	}
	if _, _, err := s.Books.Create(ctx, o, now); err != nil {
		s.t.Fatalf("fntest: create order: %v", err)
	}
	if _, err := s.Pay.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: o.OutTradeNo, Description: o.Description, Total: amount,
		OpenID: o.OpenID, TimeExpire: o.TimeExpire}); err != nil {
		s.t.Fatalf("fntest: prepay %s: %v", o.OutTradeNo, err)
	}
	return o.OutTradeNo
}

// ApplyPayment applies what WeChat Pay says about order no to the books, as paynotify would on
// its TRANSACTION.SUCCESS.
func (s *Shop) ApplyPayment(no string) orders.PayResult {
	s.t.Helper()
	ctx := context.Background()
	tx, err := s.Pay.QueryByOutTradeNo(ctx, no)
	if err != nil {
		s.t.Fatalf("fntest: query %s: %v", no, err)
	}
	res, err := s.Books.ApplyPayment(ctx, orders.MerchantOf(s.Pay), orders.PaidOf(tx), time.Now())
	if err != nil {
		s.t.Fatalf("fntest: apply the payment of %s: %v", no, err)
	}
	return res
}

// Paid places an order of amount fen of kind, pays it at WeChat Pay without a notification and
// applies the payment; it fails the test unless the order is PAID.
func (s *Shop) Paid(amount int64, kind orders.Kind) string {
	s.t.Helper()
	no := s.Place(amount, kind)
	PayQuietly(s.t, no)
	if res := s.ApplyPayment(no); res.Outcome != orders.Applied {
		s.t.Fatalf("fntest: payment of %s not applied: %+v", no, res)
	}
	return no
}

// PayQuietly pays order no at WeChat Pay without delivering the TRANSACTION.SUCCESS notification
// (a missed notification, or one a test sends itself).
func PayQuietly(t testing.TB, no string) emulator.PayResponse {
	t.Helper()
	deliver := false
	p, err := Emulator().PayOrder(context.Background(), no, emulator.PayRequest{Deliver: &deliver})
	if err != nil {
		t.Fatalf("fntest: pay %s: %v", no, err)
	}
	return p
}

// SettleQuietly settles refund rno at WeChat Pay with status (SUCCESS, CLOSED, ABNORMAL) without
// delivering the REFUND.* notification.
func SettleQuietly(t testing.TB, rno, status string) {
	t.Helper()
	deliver := false
	if _, err := Emulator().SettleRefund(context.Background(), rno, emulator.SettleRequest{Status: status, Deliver: &deliver}); err != nil {
		t.Fatalf("fntest: settle %s %s: %v", rno, status, err)
	}
}
