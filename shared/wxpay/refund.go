package wxpay

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// RefundRequest asks for (part of) a paid order back.
type RefundRequest struct {
	OutTradeNo  string // the paid order
	OutRefundNo string // the merchant's refund number; the same number only ever refunds once
	Reason      string // optional, ≤ 80 characters, shown to the user
	Refund      int64  // fen to refund, > 0
	Total       int64  // the order's total, fen (WeChat checks it)
	NotifyURL   string // optional: defaults to the configured WXPAY_NOTIFY_URL
}

// Refund is a refund as WeChat Pay reports it on creation and query (reference §6.2). Creation
// only means accepted; the outcome comes by notification or query.
type Refund struct {
	RefundID            string       `json:"refund_id"`
	OutRefundNo         string       `json:"out_refund_no"`
	TransactionID       string       `json:"transaction_id"`
	OutTradeNo          string       `json:"out_trade_no"`
	Channel             string       `json:"channel"`                         // ORIGINAL, BALANCE, OTHER_BALANCE, OTHER_BANKCARD
	UserReceivedAccount string       `json:"user_received_account,omitempty"` // e.g. 支付用户零钱
	SuccessTime         string       `json:"success_time,omitempty"`          // RFC 3339, +08:00; only when SUCCESS
	CreateTime          string       `json:"create_time"`                     // RFC 3339, +08:00
	Status              string       `json:"status"`                          // SUCCESS, CLOSED, PROCESSING, ABNORMAL
	Amount              RefundAmount `json:"amount"`
}

// RefundAmount is in fen.
type RefundAmount struct {
	Total       int64  `json:"total"`
	Refund      int64  `json:"refund"`
	PayerTotal  int64  `json:"payer_total"`
	PayerRefund int64  `json:"payer_refund"`
	Currency    string `json:"currency,omitempty"`
}

// Refund statuses (Refund.Status and RefundNotice.RefundStatus).
const (
	RefundSuccess    = "SUCCESS"
	RefundClosed     = "CLOSED"
	RefundProcessing = "PROCESSING"
	RefundAbnormal   = "ABNORMAL"
)

// CreateRefund asks WeChat Pay to refund. Retry a failed or unknown attempt with the same
// OutRefundNo (never a new one, which would refund twice).
func (c *Client) CreateRefund(ctx context.Context, req RefundRequest) (*Refund, error) {
	const op = "create refund"
	notifyURL := req.NotifyURL
	if notifyURL == "" {
		notifyURL = c.notifyURL
	}
	switch {
	case !ValidOutTradeNo(req.OutTradeNo):
		return nil, fmt.Errorf("wxpay %s: out_trade_no must be 6-32 of [0-9A-Za-z_-|*]", op)
	case !ValidOutRefundNo(req.OutRefundNo):
		return nil, fmt.Errorf("wxpay %s: out_refund_no must be 1-64 of [0-9A-Za-z_-|*@]", op)
	case req.Refund <= 0 || req.Total <= 0 || req.Refund > req.Total:
		return nil, fmt.Errorf("wxpay %s: refund must be positive and at most the order total", op)
	case utf8.RuneCountInString(req.Reason) > 80:
		return nil, fmt.Errorf("wxpay %s: reason must have at most 80 characters", op)
	}
	if err := c.ready(ctx, op); err != nil {
		return nil, err
	}
	body := refunddomestic.CreateRequest{
		OutTradeNo:  core.String(req.OutTradeNo),
		OutRefundNo: core.String(req.OutRefundNo),
		Amount:      &refunddomestic.AmountReq{Refund: core.Int64(req.Refund), Total: core.Int64(req.Total), Currency: core.String("CNY")},
	}
	if req.Reason != "" {
		body.Reason = core.String(req.Reason)
	}
	if notifyURL != "" {
		body.NotifyUrl = core.String(notifyURL)
	}
	svc := refunddomestic.RefundsApiService{Client: c.api}
	r, _, err := svc.Create(ctx, body)
	if err != nil {
		return nil, classify(op, err)
	}
	return refundFrom(r), nil
}

// QueryRefund asks WeChat Pay about a refund. An unknown refund gives an error matching
// ErrNotFound.
func (c *Client) QueryRefund(ctx context.Context, outRefundNo string) (*Refund, error) {
	const op = "query refund"
	if !ValidOutRefundNo(outRefundNo) {
		return nil, fmt.Errorf("wxpay %s: out_refund_no must be 1-64 of [0-9A-Za-z_-|*@]", op)
	}
	if err := c.ready(ctx, op); err != nil {
		return nil, err
	}
	svc := refunddomestic.RefundsApiService{Client: c.api}
	r, _, err := svc.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	if err != nil {
		return nil, classify(op, err)
	}
	return refundFrom(r), nil
}

func refundFrom(r *refunddomestic.Refund) *Refund {
	out := &Refund{
		RefundID:            str(r.RefundId),
		OutRefundNo:         str(r.OutRefundNo),
		TransactionID:       str(r.TransactionId),
		OutTradeNo:          str(r.OutTradeNo),
		UserReceivedAccount: str(r.UserReceivedAccount),
		SuccessTime:         timeString(r.SuccessTime),
		CreateTime:          timeString(r.CreateTime),
	}
	if r.Channel != nil {
		out.Channel = string(*r.Channel)
	}
	if r.Status != nil {
		out.Status = string(*r.Status)
	}
	if a := r.Amount; a != nil {
		out.Amount = RefundAmount{Total: i64(a.Total), Refund: i64(a.Refund), PayerTotal: i64(a.PayerTotal),
			PayerRefund: i64(a.PayerRefund), Currency: str(a.Currency)}
	}
	return out
}

// timeString renders the SDK's parsed time the way WeChat Pay writes it.
func timeString(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(Beijing).Format(time.RFC3339)
}

// RefundNotice is the decrypted resource of a REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED
// notification (reference §6.4); the SDK has no model for it. Note refund_status, not status;
// PROCESSING is never notified.
type RefundNotice struct {
	MchID               string             `json:"mchid"`
	OutTradeNo          string             `json:"out_trade_no"`
	TransactionID       string             `json:"transaction_id"`
	OutRefundNo         string             `json:"out_refund_no"`
	RefundID            string             `json:"refund_id"`
	RefundStatus        string             `json:"refund_status"`
	SuccessTime         string             `json:"success_time,omitempty"`
	UserReceivedAccount string             `json:"user_received_account,omitempty"`
	Amount              RefundNoticeAmount `json:"amount"`
}

// RefundNoticeAmount is in fen.
type RefundNoticeAmount struct {
	Total       int64 `json:"total"`
	Refund      int64 `json:"refund"`
	PayerTotal  int64 `json:"payer_total"`
	PayerRefund int64 `json:"payer_refund"`
}
