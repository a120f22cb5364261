package wechat

import (
	"context"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/util"

	"github.com/wxfn/wxfn/shared/config"
)

// ShippingInfo is the body of upload_shipping_info (小程序发货信息管理, reference
// wechatpay-v3.md §9): for mini-programs with the service on, a payment's funds stay frozen until
// its shipping is uploaded and the user confirms receipt.
type ShippingInfo struct {
	OrderKey       ShippingOrderKey `json:"order_key"`
	LogisticsType  int              `json:"logistics_type"`   // LogisticsExpress … LogisticsPickUp
	DeliveryMode   int              `json:"delivery_mode"`    // DeliveryUnified or DeliverySplit
	IsAllDelivered bool             `json:"is_all_delivered"` // split delivery: the last parcel (required there, so always sent)
	ShippingList   []ShippingItem   `json:"shipping_list"`    // 1 to 15
	UploadTime     string           `json:"upload_time"`      // RFC 3339 with ms, +08:00; ShippingTime; empty = now
	Payer          ShippingPayer    `json:"payer"`
}

// ShippingOrderKey names the payment: by merchant and out_trade_no (OrderByOutTradeNo) or by
// transaction id (OrderByTransactionID).
type ShippingOrderKey struct {
	OrderNumberType int    `json:"order_number_type"`
	MchID           string `json:"mchid,omitempty"`
	OutTradeNo      string `json:"out_trade_no,omitempty"`
	TransactionID   string `json:"transaction_id,omitempty"`
}

// ShippingItem is one parcel, or the one line of a shipment without logistics.
type ShippingItem struct {
	TrackingNo     string           `json:"tracking_no,omitempty"`     // express: required
	ExpressCompany string           `json:"express_company,omitempty"` // express: carrier id (get_delivery_list)
	ItemDesc       string           `json:"item_desc"`                 // ≤ 120 characters
	Contact        *ShippingContact `json:"contact,omitempty"`         // required for SF Express
}

// ShippingContact holds masked phone numbers (the last four digits in clear).
type ShippingContact struct {
	ConsignorContact string `json:"consignor_contact,omitempty"`
	ReceiverContact  string `json:"receiver_contact,omitempty"`
}

// ShippingPayer is the payer's openid under the mini-program.
type ShippingPayer struct {
	OpenID string `json:"openid"`
}

// Values of ShippingOrderKey.OrderNumberType, ShippingInfo.LogisticsType and DeliveryMode.
const (
	OrderByOutTradeNo    = 1
	OrderByTransactionID = 2

	LogisticsExpress  = 1 // a carrier delivers
	LogisticsSameCity = 2 // same-city delivery
	LogisticsVirtual  = 3 // virtual goods: nothing is shipped
	LogisticsPickUp   = 4 // the user picks it up

	DeliveryUnified = 1 // one shipment
	DeliverySplit   = 2 // several parcels (express only)
)

// Shipping errcodes worth acting on.
const (
	// CodeShippingNoOrder (10060001, 支付单不存在): right after the payment notification the
	// order may not be indexed yet; retry after some seconds, for up to about a minute.
	CodeShippingNoOrder = 10060001
	// CodeShippingBadState (10060004): the payment cannot be shipped in its current state.
	CodeShippingBadState = 10060004
)

// ShippingTime formats t as upload_time wants it: RFC 3339 with milliseconds in +08:00.
func ShippingTime(t time.Time) string {
	return t.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04:05.000Z07:00")
}

// UploadShippingInfo uploads a payment's shipping (POST /wxa/sec/order/upload_shipping_info)
// with the shared access token, refreshed and retried once if WeChat refuses it. A business
// refusal is an *APIError with the errcode (CodeShippingNoOrder deserves a retry a little later).
func (m *MiniProgram) UploadShippingInfo(ctx context.Context, info ShippingInfo) error {
	const op = "upload_shipping_info"
	if info.UploadTime == "" {
		info.UploadTime = ShippingTime(time.Now())
	}
	if err := info.validate(); err != nil {
		return fmt.Errorf("wechat %s: %w", op, err)
	}
	return m.WithToken(ctx, op, func(ctx context.Context) error {
		token, err := m.AccessToken(ctx)
		if err != nil {
			return err
		}
		uri := config.DefaultWXAPIBase + "/wxa/sec/order/upload_shipping_info?access_token=" + url.QueryEscape(token)
		resp, err := util.PostJSONContext(ctx, uri, info)
		if err != nil {
			return err
		}
		return util.DecodeWithCommonError(resp, op)
	})
}

// validate applies the documented rules that can be checked before calling.
func (s ShippingInfo) validate() error {
	switch s.OrderKey.OrderNumberType {
	case OrderByOutTradeNo:
		if s.OrderKey.MchID == "" || s.OrderKey.OutTradeNo == "" {
			return fmt.Errorf("order_key by out_trade_no needs mchid and out_trade_no")
		}
	case OrderByTransactionID:
		if s.OrderKey.TransactionID == "" {
			return fmt.Errorf("order_key by transaction id needs transaction_id")
		}
	default:
		return fmt.Errorf("order_key.order_number_type must be 1 (out_trade_no) or 2 (transaction_id)")
	}
	if s.LogisticsType < LogisticsExpress || s.LogisticsType > LogisticsPickUp {
		return fmt.Errorf("logistics_type must be 1 to 4")
	}
	switch s.DeliveryMode {
	case DeliveryUnified:
		if len(s.ShippingList) != 1 {
			return fmt.Errorf("unified delivery has exactly one shipping_list entry")
		}
	case DeliverySplit:
		if s.LogisticsType != LogisticsExpress {
			return fmt.Errorf("split delivery is for express logistics only")
		}
		if len(s.ShippingList) < 1 || len(s.ShippingList) > 15 {
			return fmt.Errorf("shipping_list must have 1 to 15 entries")
		}
	default:
		return fmt.Errorf("delivery_mode must be 1 (unified) or 2 (split)")
	}
	for i, it := range s.ShippingList {
		if it.ItemDesc == "" || utf8.RuneCountInString(it.ItemDesc) > 120 {
			return fmt.Errorf("shipping_list[%d].item_desc must have 1 to 120 characters", i)
		}
		if s.LogisticsType == LogisticsExpress && (it.TrackingNo == "" || it.ExpressCompany == "") {
			return fmt.Errorf("shipping_list[%d]: express delivery needs tracking_no and express_company", i)
		}
	}
	if s.Payer.OpenID == "" {
		return fmt.Errorf("payer.openid is required")
	}
	if _, err := time.Parse(time.RFC3339, s.UploadTime); err != nil {
		return fmt.Errorf("upload_time must be RFC 3339 (see ShippingTime)")
	}
	return nil
}
