package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

func refundReq(outTradeNo, outRefundNo string, refund, total int64, notifyURL string) refunddomestic.CreateRequest {
	r := refunddomestic.CreateRequest{
		OutTradeNo: core.String(outTradeNo), OutRefundNo: core.String(outRefundNo), Reason: core.String("不想要了"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(refund), Total: core.Int64(total), Currency: core.String("CNY")},
	}
	if notifyURL != "" {
		r.NotifyUrl = core.String(notifyURL)
	}
	return r
}

// paidOrder creates and pays an order of merchant A without notifying.
func (p *payEnv) paidOrder(t *testing.T, c *core.Client, outTradeNo string, total int64, notifyURL string) PayResponse {
	t.Helper()
	p.prepay(t, c, outTradeNo, total, notifyURL)
	paid, err := p.emu.PayOrder(context.Background(), outTradeNo, PayRequest{Deliver: core.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	return paid
}

func TestPayRefunds(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	c := p.client(t)
	svc := refunddomestic.RefundsApiService{Client: c}
	rc := p.pubkeyReceiver(t)
	paid := p.paidOrder(t, c, "ORD_0001", 1000, rc.url())

	r1, _, err := svc.Create(ctx, refundReq("ORD_0001", "RF_0001", 300, 1000, rc.url()))
	if err != nil {
		t.Fatalf("refund: %v", err)
	}
	if *r1.Status != refunddomestic.STATUS_PROCESSING || len(*r1.RefundId) != 29 || *r1.TransactionId != paid.TransactionID ||
		*r1.Amount.Refund != 300 || *r1.Amount.Total != 1000 || *r1.Amount.PayerRefund != 300 || r1.SuccessTime != nil ||
		*r1.Channel != refunddomestic.CHANNEL_ORIGINAL || r1.CreateTime == nil {
		t.Errorf("created refund: %s", mustJSON(t, r1))
	}
	// Re-entry with the same out_refund_no: the same refund; other parameters: refused.
	again, _, err := svc.Create(ctx, refundReq("ORD_0001", "RF_0001", 300, 1000, rc.url()))
	if err != nil || *again.RefundId != *r1.RefundId {
		t.Errorf("re-entry: %v, %v", again, err)
	}
	_, _, err = svc.Create(ctx, refundReq("ORD_0001", "RF_0001", 200, 1000, rc.url()))
	apiError(t, err, 400, "INVALID_REQUEST")

	// Processing refunds hold their amount: 800 more is too much, 700 is the rest.
	_, _, err = svc.Create(ctx, refundReq("ORD_0001", "RF_0002", 800, 1000, ""))
	apiError(t, err, 400, "INVALID_REQUEST")
	_, _, err = svc.Create(ctx, refundReq("ORD_0001", "RF_0002", 700, 999, ""))
	apiError(t, err, 400, "INVALID_REQUEST") // total differs from the order's
	byTxn := refundReq("", "RF_0002", 700, 1000, "")
	byTxn.OutTradeNo, byTxn.TransactionId = nil, core.String(paid.TransactionID)
	if _, _, err := svc.Create(ctx, byTxn); err != nil {
		t.Fatalf("refund by transaction_id: %v", err)
	}
	_, _, err = svc.Create(ctx, refundReq("ORD_0001", "RF_0003", 1, 1000, ""))
	apiError(t, err, 400, "INVALID_REQUEST")

	// Unpaid and unknown orders; unknown refunds.
	p.prepay(t, c, "ORD_0002", 100, "")
	_, _, err = svc.Create(ctx, refundReq("ORD_0002", "RF_0004", 1, 100, ""))
	apiError(t, err, 404, "RESOURCE_NOT_EXISTS")
	_, _, err = svc.Create(ctx, refundReq("NOPE_0001", "RF_0004", 1, 100, ""))
	apiError(t, err, 404, "RESOURCE_NOT_EXISTS")
	_, _, err = svc.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String("RF_NOPE")})
	apiError(t, err, 404, "RESOURCE_NOT_EXISTS")
	resp, body := p.raw(t, p.a, p.aKey, http.MethodPost, "/v3/refund/domestic/refunds",
		[]byte(`{"out_trade_no":"ORD_0001","transaction_id":"`+paid.TransactionID+`","out_refund_no":"RF_0005","amount":{"refund":1,"total":1000,"currency":"CNY"}}`), nil)
	assertPayError(t, resp, body, 400, "PARAM_ERROR")

	// The order now shows REFUND.
	txn, _, err := (&jsapi.JsapiApiService{Client: c}).QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("ORD_0001"), Mchid: core.String(mchA)})
	if err != nil || *txn.TradeState != "REFUND" {
		t.Errorf("order after refunds: %v, %v", txn, err)
	}

	// Settle RF_0001: REFUND.SUCCESS, decrypted as the reference's refund notice (AAD "refund").
	s, err := p.emu.SettleRefund(ctx, "RF_0001", SettleRequest{Status: "SUCCESS"})
	if err != nil || !s.Delivered || s.RefundStatus != "SUCCESS" || s.RefundID != *r1.RefundId {
		t.Fatalf("settle: %+v, %v", s, err)
	}
	got := rc.last(t)
	var notice refundNotice
	dec := json.NewDecoder(jsonReader(got.plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&notice); err != nil {
		t.Fatal(err)
	}
	if got.eventType != "REFUND.SUCCESS" || got.resource.AssociatedData != "refund" || got.id != s.NotificationID ||
		notice.RefundStatus != "SUCCESS" || notice.OutRefundNo != "RF_0001" || notice.RefundID != *r1.RefundId ||
		notice.TransactionID != paid.TransactionID || notice.Amount.Refund != 300 || notice.Amount.Total != 1000 ||
		notice.Amount.PayerRefund != 300 || notice.SuccessTime == "" || notice.MchID != mchA || notice.UserReceivedAccount == "" {
		t.Errorf("refund notification: %s %s", got.eventType, got.plain)
	}
	q, _, err := svc.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String("RF_0001")})
	if err != nil || *q.Status != refunddomestic.STATUS_SUCCESS || q.SuccessTime == nil {
		t.Errorf("query settled: %v, %v", q, err)
	}
	if _, err := p.emu.SettleRefund(ctx, "RF_0001", SettleRequest{Status: "CLOSED"}); !isControl(err, 409, "refund_settled") {
		t.Errorf("settling a final refund: %v", err)
	}
	d, err := p.emu.RenotifyRefund(ctx, "RF_0001", NotifyOptions{})
	if err != nil || !d.Delivered || d.NotificationID != s.NotificationID {
		t.Errorf("refund re-send: %+v, %v", d, err)
	}

	// RF_0002 has no notify_url: its notification goes to the order's. CLOSED gives the amount back.
	s, err = p.emu.SettleRefund(ctx, "RF_0002", SettleRequest{Status: "ABNORMAL"})
	if err != nil || !s.Delivered || rc.last(t).eventType != "REFUND.ABNORMAL" {
		t.Fatalf("abnormal: %+v, %v", s, err)
	}
	if _, err := p.emu.SettleRefund(ctx, "RF_0002", SettleRequest{Status: "ABNORMAL"}); !isControl(err, 409, "refund_settled") {
		t.Errorf("abnormal twice: %v", err)
	}
	status, raw := controlCall(t, p, http.MethodPost, PayPrefix+"/refunds/RF_0002/settle", `{"status":"CLOSED"}`)
	if status != http.StatusOK || rc.last(t).eventType != "REFUND.CLOSED" {
		t.Fatalf("close over HTTP: %d %s", status, raw)
	}
	if _, _, err := svc.Create(ctx, refundReq("ORD_0001", "RF_0006", 700, 1000, "")); err != nil {
		t.Errorf("refunding what a closed refund gave back: %v", err)
	}
	if status, _ := controlCall(t, p, http.MethodPost, PayPrefix+"/refunds/RF_0006/settle", `{"status":"PROCESSING"}`); status != 400 {
		t.Errorf("settle to PROCESSING: %d", status)
	}
	status, raw = controlCall(t, p, http.MethodGet, PayPrefix+"/refunds/RF_0002", "")
	var info RefundInfo
	if status != 200 || json.Unmarshal(raw, &info) != nil || info.Status != "CLOSED" || len(info.Deliveries) != 2 || info.OutTradeNo != "ORD_0001" {
		t.Errorf("refund info: %d %s", status, raw)
	}
	o, _ := p.emu.Order("", "ORD_0001")
	if o.Refunded != 300 || o.Committed != 1000 || len(o.Refunds) != 3 {
		t.Errorf("order: refunded %d committed %d, %d refunds", o.Refunded, o.Committed, len(o.Refunds))
	}
}

func TestPayRefundsRace(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	c := p.client(t)
	svc := refunddomestic.RefundsApiService{Client: c}
	p.paidOrder(t, c, "ORD_0001", 1000, "")

	// Ten concurrent refunds of 300 against 1000 paid: exactly three are accepted.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := svc.Create(ctx, refundReq("ORD_0001", "RF_"+strconv.Itoa(i), 300, 1000, ""))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if core.IsAPIError(err, "INVALID_REQUEST") {
				refused++
			}
		}()
	}
	wg.Wait()
	if ok != 3 || refused != 7 {
		t.Errorf("accepted %d, refused %d; want 3 and 7", ok, refused)
	}

	// NOT_ENOUGH (the merchant's balance) comes through a fault, and creates nothing.
	mustPayFault(t, p, Fault{Path: "/v3/refund/domestic/refunds", Code: "NOT_ENOUGH"})
	_, _, err := svc.Create(ctx, refundReq("ORD_0001", "RF_X", 100, 1000, ""))
	apiError(t, err, 403, "NOT_ENOUGH")
	if _, err := p.emu.Refund("", "RF_X"); !isControl(err, 404, "unknown_refund") {
		t.Errorf("a faulted refund was created: %v", err)
	}
}

func mustPayFault(t *testing.T, p *payEnv, f Fault) {
	t.Helper()
	if err := p.emu.InjectFault(f); err != nil {
		t.Fatal(err)
	}
}
