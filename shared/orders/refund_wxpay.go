package orders

import (
	"time"

	"github.com/wxfn/wxfn/shared/wxpay"
)

// RefundOf turns WeChat Pay's answer about a refund (create or query) into what ApplyRefund
// applies. The answer names no merchant (MchID stays empty); a success_time that does not parse
// is left zero (ApplyRefund then uses its own clock).
func RefundOf(w *wxpay.Refund) RefundResult {
	r := RefundResult{
		OutTradeNo: w.OutTradeNo, OutRefundNo: w.OutRefundNo, RefundID: w.RefundID, Status: w.Status,
		Refund: w.Amount.Refund, Total: w.Amount.Total, Channel: w.Channel, UserReceivedAccount: w.UserReceivedAccount,
	}
	if at, err := time.Parse(time.RFC3339, w.SuccessTime); err == nil {
		r.SuccessTime = at
	}
	return r
}
