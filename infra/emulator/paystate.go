package emulator

import (
	"fmt"
	"time"
)

// Lifetimes and limits of WeChat Pay (reference §3, §5, §6, §7).
const (
	prepayTTL       = 2 * time.Hour       // a prepay_id is valid this long; re-entry then issues a new one
	orderTTL        = 7 * 24 * time.Hour  // an order without time_expire can be paid this long
	minTimeExpire   = time.Minute         // time_expire closer than this is raised to it
	maxTimeExpire   = 90 * 24 * time.Hour // and farther than this is capped
	refundWindow    = 365 * 24 * time.Hour
	maxRefunds      = 50
	billTokenTTL    = 5 * time.Minute
	billHistory     = 3 * 31 * 24 * time.Hour // bills are issued for about the last three months
	maxShipUploads  = 2                       // an upload and one re-upload
	maxDeliveryLogs = 100                     // per order or refund, to bound memory
)

// Trade states (reference §5.1) and refund statuses (§6.2).
const (
	tradeSuccess = "SUCCESS"
	tradeRefund  = "REFUND"
	tradeNotPay  = "NOTPAY"
	tradeClosed  = "CLOSED"

	refundSuccess    = "SUCCESS"
	refundClosed     = "CLOSED"
	refundProcessing = "PROCESSING"
	refundAbnormal   = "ABNORMAL"
)

// cst is Beijing time: WeChat Pay's times and bill days. China keeps no daylight saving time, so a
// fixed zone is exact and needs no tzdata.
var cst = time.FixedZone("CST", 8*3600)

// payKey names an order (by out_trade_no) or a refund (by out_refund_no) within a merchant.
type payKey struct{ mchid, no string }

// payState is the api.mch.weixin.qq.com side of the emulator. Every method expects Emulator.mu
// held.
type payState struct {
	orders  map[payKey]*payOrder
	byTxn   map[string]*payOrder // transaction_id → order
	refunds map[payKey]*payRefund
	plants  map[payKey][]BillPlant // (mchid, bill date) → planted discrepancies
	bills   map[string]*billFile   // download token → file
}

func newPayState() payState {
	return payState{
		orders:  map[payKey]*payOrder{},
		byTxn:   map[string]*payOrder{},
		refunds: map[payKey]*payRefund{},
		plants:  map[payKey][]BillPlant{},
		bills:   map[string]*billFile{},
	}
}

// payOrder is one out_trade_no of one merchant.
type payOrder struct {
	mchid, appid, outTradeNo       string
	description, attach, notifyURL string
	openid                         string
	total                          int64
	params                         string // the normalised prepay parameters, compared on re-entry
	prepayID                       string
	prepayAt, createdAt, expireAt  time.Time
	closed                         bool // closed by the merchant (expiry is computed)
	transactionID, bankType        string
	payerTotal                     int64
	successTime                    time.Time
	refunds                        []*payRefund
	note                           *storedNote // TRANSACTION.SUCCESS, once paid
	deliveries                     []Delivery
	shipping                       []ShippingUpload
}

// state is the order's trade_state at now.
func (o *payOrder) state(now time.Time) string {
	switch {
	case o.transactionID != "" && len(o.refunds) > 0:
		return tradeRefund
	case o.transactionID != "":
		return tradeSuccess
	case o.closed || !now.Before(o.expireAt):
		return tradeClosed
	default:
		return tradeNotPay
	}
}

// paid reports whether the order was paid (SUCCESS or REFUND).
func (o *payOrder) paid() bool { return o.transactionID != "" }

// committed is what refunds hold on the order: every refund not CLOSED, processing ones included,
// so that concurrent refunds cannot together exceed the payment.
func (o *payOrder) committed() int64 {
	var n int64
	for _, r := range o.refunds {
		if r.status != refundClosed {
			n += r.amount
		}
	}
	return n
}

// refunded is what has actually gone back to the payer.
func (o *payOrder) refunded() int64 {
	var n int64
	for _, r := range o.refunds {
		if r.status == refundSuccess {
			n += r.amount
		}
	}
	return n
}

var tradeStateDesc = map[string]string{
	tradeSuccess: "支付成功",
	tradeRefund:  "转入退款",
	tradeNotPay:  "订单未支付",
	tradeClosed:  "订单已关闭",
}

// transaction renders the order as queries and notifications show it.
func (o *payOrder) transaction(now time.Time) transaction {
	st := o.state(now)
	t := transaction{
		AppID:          o.appid,
		MchID:          o.mchid,
		OutTradeNo:     o.outTradeNo,
		TradeState:     st,
		TradeStateDesc: tradeStateDesc[st],
		Amount:         transactionAmount{Total: o.total, Currency: "CNY", PayerCurrency: "CNY"},
	}
	if o.paid() {
		pt := o.payerTotal
		t.TransactionID = o.transactionID
		t.TradeType = "JSAPI"
		t.BankType = o.bankType
		t.Attach = o.attach
		t.SuccessTime = rfc3339(o.successTime)
		t.Payer = &transactionPayer{OpenID: o.openid}
		t.Amount.PayerTotal = &pt
	}
	return t
}

// payRefund is one out_refund_no of one merchant.
type payRefund struct {
	mchid                    string
	order                    *payOrder
	outRefundNo, refundID    string
	reason, notifyURL, funds string
	amount                   int64
	params                   string // normalised request, compared on re-entry
	status                   string
	account                  string // user_received_account
	createdAt, successTime   time.Time
	note                     *storedNote // the latest REFUND.* notification
	deliveries               []Delivery
}

// payerRefund is the part of the refund that reaches the payer's own money: refund ×
// payer_total / total, rounded half up.
func (r *payRefund) payerRefund() int64 {
	o := r.order
	if o.total == 0 {
		return 0
	}
	return (r.amount*o.payerTotal*2 + o.total) / (2 * o.total)
}

func (r *payRefund) render() refund {
	o := r.order
	out := refund{
		RefundID:            r.refundID,
		OutRefundNo:         r.outRefundNo,
		TransactionID:       o.transactionID,
		OutTradeNo:          o.outTradeNo,
		Channel:             "ORIGINAL",
		UserReceivedAccount: r.account,
		CreateTime:          rfc3339(r.createdAt),
		Status:              r.status,
		FundsAccount:        r.funds,
		Amount: refundAmount{
			Total: o.total, Refund: r.amount, From: []struct{}{}, PayerTotal: o.payerTotal,
			PayerRefund: r.payerRefund(), SettlementRefund: r.amount, SettlementTotal: o.total, Currency: "CNY",
		},
		PromotionDetail: []struct{}{},
	}
	if r.status == refundSuccess {
		out.SuccessTime = rfc3339(r.successTime)
	}
	return out
}

func (r *payRefund) notice() refundNotice {
	o := r.order
	n := refundNotice{
		MchID: r.mchid, OutTradeNo: o.outTradeNo, TransactionID: o.transactionID, OutRefundNo: r.outRefundNo,
		RefundID: r.refundID, RefundStatus: r.status, UserReceivedAccount: r.account,
		Amount: refundNoticeAmount{Total: o.total, Refund: r.amount, PayerTotal: o.payerTotal, PayerRefund: r.payerRefund()},
	}
	if r.status == refundSuccess {
		n.SuccessTime = rfc3339(r.successTime)
	}
	return n
}

// rfc3339 renders t in Beijing time, as WeChat Pay writes times.
func rfc3339(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// newTransactionID returns a 28-digit WeChat order id like 4200001234202405011234567890.
func newTransactionID(now time.Time) string {
	return "4200" + randomString("0123456789", 6) + now.In(cst).Format("20060102") + randomString("0123456789", 10)
}

// newRefundID returns a 29-digit refund id like 50300001232024050112345678901.
func newRefundID(now time.Time) string {
	return "503" + randomString("0123456789", 7) + now.In(cst).Format("20060102") + randomString("0123456789", 11)
}

// newPrepayID returns a prepay id like wx201410272009395522657a690389285100.
func newPrepayID(now time.Time) string {
	return "wx" + now.In(cst).Format("20060102150405") + randomString("0123456789abcdef", 20)
}

// newNotificationID returns a UUID-shaped notification id (36 characters).
func newNotificationID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newRequestID returns a Request-ID like WeChat Pay's: hex, then the internal result code.
func newRequestID(internal int) string {
	return fmt.Sprintf("%X-%d", randomBytes(18), internal)
}

// findOrder looks an order up by out_trade_no, in one merchant or (mchid empty) in all of them.
func (s *payState) findOrder(mchid, outTradeNo string) (*payOrder, *ControlError) {
	if mchid != "" {
		if o := s.orders[payKey{mchid, outTradeNo}]; o != nil {
			return o, nil
		}
		return nil, unknownOrder(outTradeNo)
	}
	var found *payOrder
	for k, o := range s.orders {
		if k.no != outTradeNo {
			continue
		}
		if found != nil {
			return nil, badRequest("out_trade_no " + outTradeNo + " exists for several merchants; name the mchid")
		}
		found = o
	}
	if found == nil {
		return nil, unknownOrder(outTradeNo)
	}
	return found, nil
}

// findRefund is findOrder for refunds.
func (s *payState) findRefund(mchid, outRefundNo string) (*payRefund, *ControlError) {
	var found *payRefund
	for k, r := range s.refunds {
		if k.no != outRefundNo || (mchid != "" && k.mchid != mchid) {
			continue
		}
		if found != nil {
			return nil, badRequest("out_refund_no " + outRefundNo + " exists for several merchants; name the mchid")
		}
		found = r
	}
	if found == nil {
		return nil, &ControlError{Status: 404, Code: "unknown_refund", Message: "no refund " + outRefundNo + " at the emulator"}
	}
	return found, nil
}

func unknownOrder(no string) *ControlError {
	return &ControlError{Status: 404, Code: "unknown_order", Message: "no order " + no + " at the emulator (prepay creates one)"}
}

// appendDelivery records a delivery attempt, keeping the newest maxDeliveryLogs.
func appendDelivery(log []Delivery, d Delivery) []Delivery {
	log = append(log, d)
	if n := len(log); n > maxDeliveryLogs {
		log = append(log[:0], log[n-maxDeliveryLogs:]...)
	}
	return log
}
