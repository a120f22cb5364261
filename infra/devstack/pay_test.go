package devstack_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The payments walk-through a new user follows on `make dev`, over HTTP only: log in, order,
// pay as WeChat, see PAID, refund, settle as WeChat, see REFUNDED, reconcile today.
func TestPaymentWalkThrough(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, nil)
	defer s.Close(context.Background())
	admin := s.AdminKey()

	_, code := call(t, "POST", s.URL+"/_emu/wx/codes", "", map[string]any{})
	_, login := call(t, "POST", s.URL+"/login/", "", map[string]any{"code": code["code"]})
	token := login["token"].(string)

	st, order := call(t, "POST", s.URL+"/payorder/", token, map[string]any{"items": []map[string]any{{"sku": "tea-oolong-250g", "qty": 2}, {"sku": "vip-month", "qty": 1}}})
	if st != 201 || order["amount"] != float64(2*6800+1500) {
		t.Fatalf("order: %d %v", st, order)
	}
	no := order["outTradeNo"].(string)
	if p, _ := order["payment"].(map[string]any); p["paySign"] == "" || p["signType"] != "RSA" {
		t.Fatalf("payment params: %v", order["payment"])
	}
	st, paid := call(t, "POST", s.URL+"/_emu/pay/orders/"+no+"/pay", "", map[string]any{})
	if st != 200 || paid["delivered"] != true {
		t.Fatalf("emulator pay: %d %v", st, paid)
	}
	if st, got := call(t, "GET", s.URL+"/payorder/"+no, token, nil); st != 200 || got["state"] != "PAID" {
		t.Fatalf("after payment: %d %v", st, got)
	}

	st, refund := call(t, "POST", s.URL+"/refund/", admin, map[string]any{"outTradeNo": no, "reason": "walk-through"})
	if st != 200 || refund["amount"] != float64(2*6800+1500) || refund["state"] != "PROCESSING" {
		t.Fatalf("refund: %d %v", st, refund)
	}
	rno := refund["outRefundNo"].(string)
	if st, settled := call(t, "POST", s.URL+"/_emu/pay/refunds/"+rno+"/settle", "", map[string]any{"status": "SUCCESS"}); st != 200 {
		t.Fatalf("settle: %d %v", st, settled)
	}
	if st, got := call(t, "GET", s.URL+"/refund/"+rno, admin, nil); st != 200 || got["state"] != "SUCCESS" {
		t.Fatalf("refund after settle: %d %v", st, got)
	}
	if st, got := call(t, "GET", s.URL+"/payorder/"+no, token, nil); st != 200 || got["state"] != "REFUNDED" {
		t.Fatalf("order after refund: %d %v", st, got)
	}

	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	st, report := call(t, "POST", s.URL+"/reconcile/", admin, map[string]any{"date": today})
	if st != 200 || len(report["discrepancies"].([]any)) != 0 {
		t.Fatalf("reconcile: %d %v", st, report)
	}
	if _, err := os.Stat(filepath.Join(dir, "blob", "bills", "trade", today+".csv")); err != nil {
		t.Fatalf("the bill is not in the object store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blob", "reports", "reconcile", today+".json")); err != nil {
		t.Fatalf("the report is not in the object store: %v", err)
	}
}
