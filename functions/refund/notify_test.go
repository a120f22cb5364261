package refund_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wxfn/wxfn/functions/paynotify"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/infra/fntest"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/runtime"
)

// The whole refund path with WeChat Pay's notifications: refunds created here, settled in the
// emulator, the REFUND.* notifications delivered to paynotify, which applies them through the
// same transition GET uses; the order ends REFUNDED without any query.
func TestRefundSettledByNotification(t *testing.T) {
	var notify http.Handler
	pn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { notify.ServeHTTP(w, r) }))
	t.Cleanup(pn.Close)
	s := newStack(t, map[string]string{"WXPAY_NOTIFY_URL": pn.URL + "/"})
	notify = runtime.HTTPHandler(paynotify.NewWithDeps(fntest.Deps(t, s.Env)))
	ctx := context.Background()

	no := s.paidOrder(800)
	first := s.refund(map[string]any{"outTradeNo": no, "amount": 300})
	second := s.refund(map[string]any{"outTradeNo": no, "amount": 200})
	third := s.refund(map[string]any{"outTradeNo": no})
	if first.Status != 200 || second.Status != 200 || third.Status != 200 || third.Num("amount") != 300 {
		t.Fatalf("refunds: %s / %s / %s", first.Raw, second.Raw, third.Raw)
	}
	checkBooks(t, s.order(no), orders.StatePaid, 0, 800, 0)

	settleAndDeliver := func(rno, status string) {
		t.Helper()
		r, err := fntest.Emulator().SettleRefund(ctx, rno, emulator.SettleRequest{Status: status})
		if err != nil || !r.Delivered {
			t.Fatalf("settle %s %s: %+v %v", rno, status, r, err)
		}
	}
	settleAndDeliver(first.Str("outRefundNo"), "SUCCESS")
	// REFUND_QUERY_AFTER is a minute: this GET reads what the notification applied.
	if g := s.get(first.Str("outRefundNo"), false); g.Str("state") != "SUCCESS" || g.Body["checked"] != nil {
		t.Fatalf("GET after REFUND.SUCCESS: %s", g.Raw)
	}
	checkBooks(t, s.order(no), orders.StatePartiallyRefunded, 300, 500, 0)

	// CLOSED gives its amount back; it can then be refunded again.
	settleAndDeliver(second.Str("outRefundNo"), "CLOSED")
	if g := s.get(second.Str("outRefundNo"), false); g.Str("state") != "CLOSED" {
		t.Fatalf("GET after REFUND.CLOSED: %s", g.Raw)
	}
	checkBooks(t, s.order(no), orders.StatePartiallyRefunded, 300, 300, 200)
	again := s.refund(map[string]any{"outTradeNo": no})
	if again.Status != 200 || again.Num("amount") != 200 {
		t.Fatalf("refund of the released amount: %s", again.Raw)
	}

	settleAndDeliver(third.Str("outRefundNo"), "SUCCESS")
	settleAndDeliver(again.Str("outRefundNo"), "SUCCESS")
	checkBooks(t, s.order(no), orders.StateRefunded, 800, 0, 0)
	// A redelivered notification changes nothing.
	if _, err := fntest.Emulator().RenotifyRefund(ctx, third.Str("outRefundNo"), emulator.NotifyOptions{}); err != nil {
		t.Fatal(err)
	}
	checkBooks(t, s.order(no), orders.StateRefunded, 800, 0, 0)
}
