package orders

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/wxfn/wxfn/shared/wechat"
)

// Shipper uploads shipping information (小程序发货信息管理, reference §9);
// *wechat.MiniProgram is one.
type Shipper interface {
	UploadShippingInfo(ctx context.Context, info wechat.ShippingInfo) error
}

// ShipRequest is what an operator says about a physical shipment. Virtual orders need nothing.
type ShipRequest struct {
	TrackingNo     string
	ExpressCompany string // carrier id from get_delivery_list, e.g. SF, YTO, ZTO
	ItemDesc       string // optional; defaults to the order's items
}

// Ship uploads an order's shipping and records the outcome on the order (SetShipment): express
// delivery with the request's tracking number for physical goods, "virtual goods, nothing
// shipped" (logistics_type 3) for virtual ones. The order must be paid and not fully refunded
// (ErrState). An upload WeChat refuses is recorded as failed, for a retry, and returned.
func (s *Store) Ship(ctx context.Context, sh Shipper, mchID string, o Order, req ShipRequest, now time.Time) (Order, error) {
	if o.State != StatePaid && o.State != StatePartiallyRefunded {
		return o, fmt.Errorf("orders ship %s: order is %s: %w", o.OutTradeNo, o.State, ErrState)
	}
	desc := req.ItemDesc
	if desc == "" {
		desc = itemSummary(o.Items, 120)
	}
	item := wechat.ShippingItem{ItemDesc: desc}
	rec := Shipment{State: ShipUploaded, ItemDesc: desc}
	if o.Virtual {
		rec.LogisticsType = wechat.LogisticsVirtual
	} else {
		if req.TrackingNo == "" || req.ExpressCompany == "" {
			return o, fmt.Errorf("orders ship %s: physical goods need a tracking number and an express company", o.OutTradeNo)
		}
		rec.LogisticsType = wechat.LogisticsExpress
		item.TrackingNo, item.ExpressCompany = req.TrackingNo, req.ExpressCompany
		rec.TrackingNo, rec.ExpressCompany = req.TrackingNo, req.ExpressCompany
	}
	info := wechat.ShippingInfo{
		OrderKey:      wechat.ShippingOrderKey{OrderNumberType: wechat.OrderByOutTradeNo, MchID: mchID, OutTradeNo: o.OutTradeNo},
		LogisticsType: rec.LogisticsType,
		DeliveryMode:  wechat.DeliveryUnified,
		ShippingList:  []wechat.ShippingItem{item},
		UploadTime:    wechat.ShippingTime(now),
		Payer:         wechat.ShippingPayer{OpenID: o.OpenID},
	}
	upErr := sh.UploadShippingInfo(ctx, info)
	if upErr != nil {
		rec = Shipment{State: ShipFailed, LastError: upErr.Error()}
	}
	got, err := s.SetShipment(ctx, o.OutTradeNo, rec, now)
	if err != nil {
		return o, errors.Join(upErr, err)
	}
	if upErr != nil {
		return got, fmt.Errorf("orders ship %s: %w", o.OutTradeNo, upErr)
	}
	return got, nil
}

// ShipVirtual is the after-payment hook that uploads the shipping of virtual goods at once (they
// have nothing to ship, and until the upload the payment's funds stay frozen). Physical orders
// are left to an operator. A failed upload is recorded on the order for a retry (WeChat often
// answers 10060001 in the first seconds after a payment) and returned for the log.
func ShipVirtual(s *Store, sh Shipper, mchID string, now func() time.Time) Hook {
	return HookFunc(func(ctx context.Context, o Order) error {
		if !o.Virtual {
			return nil
		}
		_, err := s.Ship(ctx, sh, mchID, o, ShipRequest{}, now())
		return err
	})
}

// StandardHooks is the after-payment work of every function that can move an order to PAID
// (paynotify, payorder's query repair, reconcile's repair), so that all of them run the same
// work whichever of them wins. Add new after-payment work here (a "paid" subscribe message, say).
func StandardHooks(s *Store, sh Shipper, mchID string, now func() time.Time) []Hook {
	return []Hook{ShipVirtual(s, sh, mchID, now)}
}

// ShipmentDue reports whether an order's shipping upload should be retried now: a paid virtual
// order whose automatic upload failed (or never ran) at least retryAfter ago.
func ShipmentDue(o Order, now time.Time, retryAfter time.Duration) bool {
	if !o.Virtual || (o.State != StatePaid && o.State != StatePartiallyRefunded) {
		return false
	}
	if o.Shipping == nil {
		return !o.AfterPay.DoneAt.IsZero() && now.Sub(o.AfterPay.DoneAt) >= retryAfter
	}
	return o.Shipping.State == ShipFailed && now.Sub(o.Shipping.UpdatedAt) >= retryAfter
}

// Summary describes an order's items in at most max characters, for the WeChat Pay description
// (127) and the shipping item_desc (120): "乌龙茶 250g×2 等3件".
func Summary(items []Item, max int) string { return itemSummary(items, max) }

func itemSummary(items []Item, max int) string {
	if len(items) == 0 {
		return ""
	}
	var total int64
	for _, it := range items {
		total += it.Qty
	}
	s := items[0].Name
	if items[0].Qty > 1 {
		s += fmt.Sprintf("×%d", items[0].Qty)
	}
	if len(items) > 1 {
		s += fmt.Sprintf(" 等%d件", total)
	}
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}
