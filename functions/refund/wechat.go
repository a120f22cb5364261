package refund

import (
	"time"

	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// merchant is who the client acts as, for the books' checks.
func merchant(pay *wxpay.Client) orders.Merchant {
	return orders.Merchant{AppID: pay.AppID(), MchID: pay.MchID()}
}

// resultOf turns WeChat Pay's refund (a create or query answer) into what the books apply.
func resultOf(w *wxpay.Refund) orders.RefundResult {
	res := orders.RefundResult{
		OutTradeNo:          w.OutTradeNo,
		OutRefundNo:         w.OutRefundNo,
		RefundID:            w.RefundID,
		Status:              w.Status,
		Refund:              w.Amount.Refund,
		Total:               w.Amount.Total,
		Channel:             w.Channel,
		UserReceivedAccount: w.UserReceivedAccount,
	}
	if t, err := time.Parse(time.RFC3339, w.SuccessTime); err == nil {
		res.SuccessTime = t
	}
	return res
}
