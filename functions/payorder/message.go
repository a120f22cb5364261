package payorder

import (
	"time"

	"github.com/wxfn/wxfn/shared/orders"
)

// createRequest is the body of POST /.
type createRequest struct {
	Items  []itemRequest `json:"items"`
	Attach string        `json:"attach,omitempty"`
}

// itemRequest is one line the mini-program asks for; prices come from the catalogue only.
type itemRequest struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

// shipRequest is the body of POST /{outTradeNo}/ship (admin). Virtual goods need none.
type shipRequest struct {
	TrackingNo     string `json:"trackingNo"`
	ExpressCompany string `json:"expressCompany"`
	ItemDesc       string `json:"itemDesc,omitempty"`
}

// orderView is an order as its owner (and an admin) sees it. Payment is set while the order can
// be paid: the wx.requestPayment parameters.
type orderView struct {
	OutTradeNo    string          `json:"outTradeNo"`
	State         orders.State    `json:"state"`
	Amount        int64           `json:"amount"`
	Description   string          `json:"description"`
	Attach        string          `json:"attach,omitempty"`
	Items         []itemView      `json:"items"`
	Payment       *orders.Payment `json:"payment,omitempty"`
	TimeExpire    time.Time       `json:"timeExpire"`
	CreatedAt     time.Time       `json:"createdAt"`
	PaidAt        *time.Time      `json:"paidAt,omitempty"`
	TransactionID string          `json:"transactionId,omitempty"`
	ClosedAt      *time.Time      `json:"closedAt,omitempty"`
	Refunded      int64           `json:"refunded,omitempty"`
	Refunding     int64           `json:"refunding,omitempty"`
	Shipping      *shippingView   `json:"shipping,omitempty"`
}

// itemView is one line of an order.
type itemView struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Price int64  `json:"price"`
	Qty   int64  `json:"qty"`
}

// shippingView is the state of the shipping upload.
type shippingView struct {
	State          string     `json:"state"`
	TrackingNo     string     `json:"trackingNo,omitempty"`
	ExpressCompany string     `json:"expressCompany,omitempty"`
	UploadedAt     *time.Time `json:"uploadedAt,omitempty"`
}

func viewOf(o orders.Order) orderView {
	v := orderView{
		OutTradeNo: o.OutTradeNo, State: o.State, Amount: o.Amount, Description: o.Description,
		Attach: o.Attach, TimeExpire: o.TimeExpire, CreatedAt: o.CreatedAt,
		TransactionID: o.TransactionID, Refunded: o.Refunded, Refunding: o.Refunding,
	}
	for _, it := range o.Items {
		v.Items = append(v.Items, itemView{SKU: it.SKU, Name: it.Name, Price: it.Price, Qty: it.Qty})
	}
	if o.State == orders.StateCreated {
		v.Payment = o.Payment
	}
	if !o.PaidAt.IsZero() {
		v.PaidAt = &o.PaidAt
	}
	if !o.ClosedAt.IsZero() {
		v.ClosedAt = &o.ClosedAt
	}
	if s := o.Shipping; s != nil {
		v.Shipping = &shippingView{State: s.State, TrackingNo: s.TrackingNo, ExpressCompany: s.ExpressCompany}
		if !s.UploadedAt.IsZero() {
			v.Shipping.UploadedAt = &s.UploadedAt
		}
	}
	return v
}
