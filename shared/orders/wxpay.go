package orders

import (
	"time"

	"github.com/wxfn/wxfn/shared/wxpay"
)

// MerchantOf is who a WeChat Pay client acts as, for the books' checks.
func MerchantOf(c *wxpay.Client) Merchant { return Merchant{AppID: c.AppID(), MchID: c.MchID()} }

// PaidOf turns WeChat Pay's word on a payment (a TRANSACTION.SUCCESS notification or a query
// answer) into what ApplyPayment checks and applies. A success_time that does not parse is left
// zero (ApplyPayment then uses its own clock).
func PaidOf(t *wxpay.Transaction) PaidTransaction {
	p := PaidTransaction{
		AppID: t.AppID, MchID: t.MchID, OutTradeNo: t.OutTradeNo, TransactionID: t.TransactionID,
		TradeState: t.TradeState, PayerOpenID: t.Payer.OpenID,
		Total: t.Amount.Total, PayerTotal: t.Amount.PayerTotal, Currency: t.Amount.Currency,
	}
	if at, err := time.Parse(time.RFC3339, t.SuccessTime); err == nil {
		p.SuccessTime = at
	}
	return p
}

// RefundNoticeOf turns a REFUND.* notification into what ApplyRefund applies.
func RefundNoticeOf(n *wxpay.RefundNotice) RefundResult {
	r := RefundResult{
		MchID: n.MchID, OutTradeNo: n.OutTradeNo, OutRefundNo: n.OutRefundNo, RefundID: n.RefundID,
		Status: n.RefundStatus, Refund: n.Amount.Refund, Total: n.Amount.Total,
		UserReceivedAccount: n.UserReceivedAccount,
	}
	if at, err := time.Parse(time.RFC3339, n.SuccessTime); err == nil {
		r.SuccessTime = at
	}
	return r
}
