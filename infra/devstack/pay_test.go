package devstack_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxfn/wxfn/infra/fntest"
)

// The payments walk-through a new user follows on `make dev`, over HTTP only: log in, order,
// pay as WeChat, see PAID, refund, settle as WeChat, see REFUNDED, reconcile today.
func TestPaymentWalkThrough(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, nil)
	defer s.Close(context.Background())
	admin := s.AdminKey()
	c := fntest.NewClient(t, s.URL)

	code := c.Post("/_emu/wx/codes", "", map[string]any{})
	token := c.Post("/login/", "", map[string]any{"code": code.Body["code"]}).Str("token")

	order := c.Post("/payorder/", token, map[string]any{"items": []map[string]any{{"sku": "tea-oolong-250g", "qty": 2}, {"sku": "vip-month", "qty": 1}}})
	if order.Status != 201 || order.Body["amount"] != float64(2*6800+1500) {
		t.Fatalf("order: %d %v", order.Status, order.Body)
	}
	no := order.Str("outTradeNo")
	if p, _ := order.Body["payment"].(map[string]any); p["paySign"] == "" || p["signType"] != "RSA" {
		t.Fatalf("payment params: %v", order.Body["payment"])
	}
	if paid := c.Post("/_emu/pay/orders/"+no+"/pay", "", map[string]any{}); paid.Status != 200 || paid.Body["delivered"] != true {
		t.Fatalf("emulator pay: %d %v", paid.Status, paid.Body)
	}
	if got := c.Get("/payorder/"+no, token); got.Status != 200 || got.Body["state"] != "PAID" {
		t.Fatalf("after payment: %d %v", got.Status, got.Body)
	}

	refund := c.Post("/refund/", admin, map[string]any{"outTradeNo": no, "reason": "walk-through"})
	if refund.Status != 200 || refund.Body["amount"] != float64(2*6800+1500) || refund.Body["state"] != "PROCESSING" {
		t.Fatalf("refund: %d %v", refund.Status, refund.Body)
	}
	rno := refund.Str("outRefundNo")
	if settled := c.Post("/_emu/pay/refunds/"+rno+"/settle", "", map[string]any{"status": "SUCCESS"}); settled.Status != 200 {
		t.Fatalf("settle: %d %v", settled.Status, settled.Body)
	}
	if got := c.Get("/refund/"+rno, admin); got.Status != 200 || got.Body["state"] != "SUCCESS" {
		t.Fatalf("refund after settle: %d %v", got.Status, got.Body)
	}
	if got := c.Get("/payorder/"+no, token); got.Status != 200 || got.Body["state"] != "REFUNDED" {
		t.Fatalf("order after refund: %d %v", got.Status, got.Body)
	}

	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	report := c.Post("/reconcile/", admin, map[string]any{"date": today})
	if discrepancies, _ := report.Body["discrepancies"].([]any); report.Status != 200 || discrepancies == nil || len(discrepancies) != 0 {
		t.Fatalf("reconcile: %d %v", report.Status, report.Body)
	}
	if _, err := os.Stat(filepath.Join(dir, "blob", "bills", "trade", today+".csv")); err != nil {
		t.Fatalf("the bill is not in the object store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blob", "reports", "reconcile", today+".json")); err != nil {
		t.Fatalf("the report is not in the object store: %v", err)
	}
}
