package wxpay

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// Beijing is the +08:00 zone WeChat Pay writes and expects times in.
var Beijing = time.FixedZone("CST", 8*3600)

// ValidOutTradeNo reports whether s is what WeChat Pay accepts as out_trade_no: 6–32 of
// [0-9A-Za-z_-|*]. (Checked by hand: a regexp would be compiled in every cold start.)
func ValidOutTradeNo(s string) bool { return validNo(s, 6, 32, false) }

// ValidOutRefundNo reports whether s is what WeChat Pay accepts as out_refund_no: 1–64 of
// [0-9A-Za-z_-|*@].
func ValidOutRefundNo(s string) bool { return validNo(s, 1, 64, true) }

func validNo(s string, lo, hi int, at bool) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			c == '_' || c == '-' || c == '|' || c == '*' || at && c == '@') {
			return false
		}
	}
	return true
}

// PrepayRequest is a JSAPI (mini-program) order to place.
type PrepayRequest struct {
	OutTradeNo  string    // the merchant's order number (ValidOutTradeNo)
	Description string    // shown in the payer's WeChat bill, ≤ 127 characters
	Total       int64     // fen, > 0
	OpenID      string    // the payer under the client's AppID
	Attach      string    // optional, ≤ 128 characters, echoed in query and notification
	TimeExpire  time.Time // optional: the latest time the user can pay
	NotifyURL   string    // optional: defaults to the configured WXPAY_NOTIFY_URL
}

// Payment is what wx.requestPayment takes; marshal it straight to the mini-program.
type Payment struct {
	PrepayID  string `json:"-"`
	TimeStamp string `json:"timeStamp"` // Unix seconds
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`  // "prepay_id=" + PrepayID
	SignType  string `json:"signType"` // "RSA"
	PaySign   string `json:"paySign"`  // SHA256withRSA(merchant key, appId\ntimeStamp\nnonceStr\npackage\n)
}

// Transaction is a payment as WeChat Pay reports it, in a query answer or a TRANSACTION.SUCCESS
// notification (reference §4.3). For an unpaid order TransactionID, Payer, SuccessTime and
// BankType are empty.
type Transaction struct {
	AppID          string            `json:"appid"`
	MchID          string            `json:"mchid"`
	OutTradeNo     string            `json:"out_trade_no"`
	TransactionID  string            `json:"transaction_id,omitempty"`
	TradeType      string            `json:"trade_type,omitempty"`   // JSAPI
	TradeState     string            `json:"trade_state"`            // SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING, PAYERROR
	TradeStateDesc string            `json:"trade_state_desc"`       //
	BankType       string            `json:"bank_type,omitempty"`    // e.g. OTHERS, CMB_CREDIT
	Attach         string            `json:"attach,omitempty"`       //
	SuccessTime    string            `json:"success_time,omitempty"` // RFC 3339
	Payer          TransactionPayer  `json:"payer"`
	Amount         TransactionAmount `json:"amount"`
}

// TransactionPayer is who paid.
type TransactionPayer struct {
	OpenID string `json:"openid,omitempty"`
}

// TransactionAmount is in fen.
type TransactionAmount struct {
	Total         int64  `json:"total"`       // the order amount
	PayerTotal    int64  `json:"payer_total"` // what the payer paid: total minus coupons
	Currency      string `json:"currency,omitempty"`
	PayerCurrency string `json:"payer_currency,omitempty"`
}

// Trade states.
const (
	TradeSuccess = "SUCCESS"
	TradeRefund  = "REFUND"
	TradeNotPay  = "NOTPAY"
	TradeClosed  = "CLOSED"
)

// Prepay places a JSAPI order and returns the signed wx.requestPayment parameters. Calling it
// again with the same out_trade_no and identical parameters is how a prepay_id older than two
// hours is renewed; different parameters are refused (INVALID_REQUEST).
func (c *Client) Prepay(ctx context.Context, req PrepayRequest) (Payment, error) {
	const op = "prepay"
	notifyURL := req.NotifyURL
	if notifyURL == "" {
		notifyURL = c.notifyURL
	}
	switch {
	case !ValidOutTradeNo(req.OutTradeNo):
		return Payment{}, fmt.Errorf("wxpay %s: out_trade_no must be 6-32 of [0-9A-Za-z_-|*]", op)
	case req.Description == "" || utf8.RuneCountInString(req.Description) > 127:
		return Payment{}, fmt.Errorf("wxpay %s: description must have 1-127 characters", op)
	case req.Total <= 0:
		return Payment{}, fmt.Errorf("wxpay %s: total must be a positive number of fen", op)
	case req.OpenID == "":
		return Payment{}, fmt.Errorf("wxpay %s: JSAPI payments need the payer's openid", op)
	case utf8.RuneCountInString(req.Attach) > 128:
		return Payment{}, fmt.Errorf("wxpay %s: attach must have at most 128 characters", op)
	case notifyURL == "":
		return Payment{}, fmt.Errorf("wxpay %s: no notify URL (set WXPAY_NOTIFY_URL)", op)
	}
	if err := c.ready(ctx, op); err != nil {
		return Payment{}, err
	}
	body := jsapi.PrepayRequest{
		Appid:       core.String(c.appID),
		Mchid:       core.String(c.mchID),
		Description: core.String(req.Description),
		OutTradeNo:  core.String(req.OutTradeNo),
		NotifyUrl:   core.String(notifyURL),
		Amount:      &jsapi.Amount{Total: core.Int64(req.Total)},
		Payer:       &jsapi.Payer{Openid: core.String(req.OpenID)},
	}
	if req.Attach != "" {
		body.Attach = core.String(req.Attach)
	}
	if !req.TimeExpire.IsZero() {
		// The SDK formats the time in its own location; WeChat Pay documents +08:00 and whether
		// it accepts "Z" is not established (reference §12).
		body.TimeExpire = core.Time(req.TimeExpire.In(Beijing).Truncate(time.Second))
	}
	svc := jsapi.JsapiApiService{Client: c.api}
	resp, _, err := svc.Prepay(ctx, body)
	if err != nil {
		return Payment{}, classify(op, err)
	}
	if resp.PrepayId == nil || *resp.PrepayId == "" {
		return Payment{}, fmt.Errorf("wxpay %s: answer without prepay_id", op)
	}
	return c.requestPayment(ctx, *resp.PrepayId)
}

// requestPayment signs the wx.requestPayment parameters for prepayID (reference §3.2).
func (c *Client) requestPayment(ctx context.Context, prepayID string) (Payment, error) {
	nonce, err := utils.GenerateNonce()
	if err != nil {
		return Payment{}, fmt.Errorf("wxpay prepay: nonce: %w", err)
	}
	p := Payment{
		PrepayID:  prepayID,
		TimeStamp: strconv.FormatInt(c.now().Unix(), 10),
		NonceStr:  nonce,
		Package:   "prepay_id=" + prepayID,
		SignType:  "RSA",
	}
	sig, err := c.api.Sign(ctx, c.appID+"\n"+p.TimeStamp+"\n"+p.NonceStr+"\n"+p.Package+"\n")
	if err != nil {
		return Payment{}, fmt.Errorf("wxpay prepay: paySign: %w", err)
	}
	p.PaySign = sig.Signature
	return p, nil
}

// QueryByOutTradeNo asks WeChat Pay about an order by the merchant's number. An order WeChat Pay
// does not know gives an error matching ErrNotFound.
func (c *Client) QueryByOutTradeNo(ctx context.Context, outTradeNo string) (*Transaction, error) {
	const op = "query order"
	if outTradeNo == "" {
		return nil, fmt.Errorf("wxpay %s: empty out_trade_no", op)
	}
	if err := c.ready(ctx, op); err != nil {
		return nil, err
	}
	svc := jsapi.JsapiApiService{Client: c.api}
	t, _, err := svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.mchID)})
	if err != nil {
		return nil, classify(op, err)
	}
	return transactionFrom(t), nil
}

// QueryByTransactionID asks WeChat Pay about an order by its transaction id.
func (c *Client) QueryByTransactionID(ctx context.Context, transactionID string) (*Transaction, error) {
	const op = "query order by transaction id"
	if transactionID == "" {
		return nil, fmt.Errorf("wxpay %s: empty transaction_id", op)
	}
	if err := c.ready(ctx, op); err != nil {
		return nil, err
	}
	svc := jsapi.JsapiApiService{Client: c.api}
	t, _, err := svc.QueryOrderById(ctx, jsapi.QueryOrderByIdRequest{TransactionId: core.String(transactionID), Mchid: core.String(c.mchID)})
	if err != nil {
		return nil, classify(op, err)
	}
	return transactionFrom(t), nil
}

// CloseOrder closes an unpaid order; closing twice is fine. A paid order cannot be closed: on
// any error, query the order before deciding anything (reference §5.2).
func (c *Client) CloseOrder(ctx context.Context, outTradeNo string) error {
	const op = "close order"
	if outTradeNo == "" {
		return fmt.Errorf("wxpay %s: empty out_trade_no", op)
	}
	if err := c.ready(ctx, op); err != nil {
		return err
	}
	svc := jsapi.JsapiApiService{Client: c.api}
	res, err := svc.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.mchID)})
	if res != nil && res.Response != nil {
		res.Response.Body.Close()
	}
	return classify(op, err)
}

func transactionFrom(t *payments.Transaction) *Transaction {
	out := &Transaction{
		AppID:          str(t.Appid),
		MchID:          str(t.Mchid),
		OutTradeNo:     str(t.OutTradeNo),
		TransactionID:  str(t.TransactionId),
		TradeType:      str(t.TradeType),
		TradeState:     str(t.TradeState),
		TradeStateDesc: str(t.TradeStateDesc),
		BankType:       str(t.BankType),
		Attach:         str(t.Attach),
		SuccessTime:    str(t.SuccessTime),
	}
	if t.Payer != nil {
		out.Payer.OpenID = str(t.Payer.Openid)
	}
	if t.Amount != nil {
		out.Amount = TransactionAmount{Total: i64(t.Amount.Total), PayerTotal: i64(t.Amount.PayerTotal),
			Currency: str(t.Amount.Currency), PayerCurrency: str(t.Amount.PayerCurrency)}
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func i64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
