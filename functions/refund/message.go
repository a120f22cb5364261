package refund

import (
	"time"

	"github.com/wxfn/wxfn/shared/orders"
)

// createRequest is the body of POST /.
type createRequest struct {
	// OutTradeNo is the paid order to refund.
	OutTradeNo string `json:"outTradeNo"`
	// Amount in fen; absent refunds whatever is still refundable.
	Amount *int64 `json:"amount,omitempty"`
	// Reason is shown to the user in their refund message (at most 80 characters).
	Reason string `json:"reason,omitempty"`
	// OutRefundNo makes the request idempotent; absent, the server generates one and returns it.
	// Retry a request whose outcome is unknown with the number it returned, never a new one.
	OutRefundNo string `json:"outRefundNo,omitempty"`
}

// refundView is the answer of POST / and GET /{outRefundNo}: the refund as recorded, and where
// its order's money stands after it.
type refundView struct {
	orders.Refund
	Order orderMoney `json:"order"`
	// Checked is set when this request asked WeChat Pay about the refund.
	Checked *check `json:"checked,omitempty"`
}

// orderMoney is an order's refund accounting, in fen: amount = refundable + refunding + refunded.
type orderMoney struct {
	State      orders.State `json:"state"`
	Amount     int64        `json:"amount"`
	Refunded   int64        `json:"refunded"`
	Refunding  int64        `json:"refunding"`
	Refundable int64        `json:"refundable"`
}

// check reports a query of WeChat Pay made while answering GET.
type check struct {
	At time.Time `json:"at"`
	// Status is WeChat Pay's status of the refund, or NOT_FOUND.
	Status string `json:"status,omitempty"`
	// Outcome is what applying it did: applied, duplicate, flagged or ignored.
	Outcome orders.Outcome `json:"outcome,omitempty"`
	// Error says why WeChat Pay could not be asked (the stored state is answered).
	Error string `json:"error,omitempty"`
	// Hint tells the operator what to do next, when there is something to do.
	Hint string `json:"hint,omitempty"`
}

func moneyOf(o orders.Order) orderMoney {
	return orderMoney{State: o.State, Amount: o.Amount, Refunded: o.Refunded, Refunding: o.Refunding, Refundable: o.Refundable}
}
