package emulator

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Shipping-information management (小程序发货信息管理, reference §9): POST
// /wxa/sec/order/upload_shipping_info on api.weixin.qq.com, with the mini-program's access token,
// about a payment made at the emulated WeChat Pay. A payment can be uploaded once and re-uploaded
// once; the emulator keeps every accepted upload for tests (ShippingUploads).

// shippingRequest is the body of POST /wxa/sec/order/upload_shipping_info.
type shippingRequest struct {
	OrderKey       *shippingOrderKey `json:"order_key"`
	LogisticsType  int               `json:"logistics_type"`
	DeliveryMode   int               `json:"delivery_mode"`
	IsAllDelivered *bool             `json:"is_all_delivered,omitempty"`
	ShippingList   []shippingInfo    `json:"shipping_list"`
	UploadTime     string            `json:"upload_time"`
	Payer          *shippingPayer    `json:"payer"`
}

type shippingOrderKey struct {
	OrderNumberType int    `json:"order_number_type"`
	TransactionID   string `json:"transaction_id,omitempty"`
	MchID           string `json:"mchid,omitempty"`
	OutTradeNo      string `json:"out_trade_no,omitempty"`
}

type shippingInfo struct {
	TrackingNo     string           `json:"tracking_no,omitempty"`
	ExpressCompany string           `json:"express_company,omitempty"`
	ItemDesc       string           `json:"item_desc"`
	Contact        *shippingContact `json:"contact,omitempty"`
}

type shippingContact struct {
	ConsignorContact string `json:"consignor_contact,omitempty"`
	ReceiverContact  string `json:"receiver_contact,omitempty"`
}

type shippingPayer struct {
	OpenID string `json:"openid"`
}

// Logistics types and delivery modes.
const (
	logisticsExpress = 1
	logisticsPickup  = 4
	deliveryUnified  = 1
	deliverySplit    = 2
	maxParcels       = 15
)

// wxUploadShipping is POST /wxa/sec/order/upload_shipping_info?access_token=…
func (e *Emulator) wxUploadShipping(r *http.Request, body []byte, now time.Time) (any, *wxError) {
	appid, werr := e.tokenApp(r.URL.Query(), now)
	if werr != nil {
		return nil, werr
	}
	var req shippingRequest
	if werr := decodeWXBody(body, &req); werr != nil {
		return nil, werr
	}
	param := func(msg string) *wxError { return &wxError{code: ErrcodeShipInvalidParam, msg: "参数错误: " + msg} }
	if req.OrderKey == nil {
		return nil, param("order_key is required")
	}
	if werr := checkShipping(&req); werr != nil {
		return nil, werr
	}
	upload, err := time.Parse(time.RFC3339, req.UploadTime)
	if err != nil {
		return nil, wxErr(ErrcodeShipInvalidUploadTime)
	}
	if req.Payer == nil || req.Payer.OpenID == "" {
		return nil, param("payer.openid is required")
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	var o *payOrder
	switch k := req.OrderKey; k.OrderNumberType {
	case 1:
		if k.MchID == "" || k.OutTradeNo == "" {
			return nil, param("order_number_type 1 needs mchid and out_trade_no")
		}
		o = e.pay.orders[payKey{k.MchID, k.OutTradeNo}]
	case 2:
		if k.TransactionID == "" {
			return nil, param("order_number_type 2 needs transaction_id")
		}
		o = e.pay.byTxn[k.TransactionID]
	default:
		return nil, param("order_number_type must be 1 or 2")
	}
	if o == nil || !o.paid() || o.appid != appid {
		return nil, wxErr(ErrcodeShipOrderNotFound)
	}
	switch {
	case req.Payer.OpenID != o.openid:
		return nil, param("payer.openid is not the payer of this order")
	case o.refunded() >= o.total:
		return nil, wxErr(ErrcodeShipNotShippable)
	case len(o.shipping) >= maxShipUploads:
		return nil, wxErr(ErrcodeShipReshipUsed)
	}
	if n := len(o.shipping); n > 0 {
		if prev, err := time.Parse(time.RFC3339, o.shipping[n-1].UploadTime); err == nil && !upload.After(prev) {
			return nil, param("upload_time must be later than the previous upload's")
		}
	}
	u := ShippingUpload{
		AppID: appid, MchID: o.mchid, OutTradeNo: o.outTradeNo, TransactionID: o.transactionID,
		LogisticsType: req.LogisticsType, DeliveryMode: req.DeliveryMode, UploadTime: req.UploadTime,
		PayerOpenID: req.Payer.OpenID, ReceivedAt: rfc3339(now), Body: append([]byte(nil), body...),
	}
	if req.IsAllDelivered != nil {
		u.IsAllDelivered = *req.IsAllDelivered
	}
	for _, s := range req.ShippingList {
		it := ShippingItem{TrackingNo: s.TrackingNo, ExpressCompany: s.ExpressCompany, ItemDesc: s.ItemDesc}
		if s.Contact != nil {
			it.ConsignorContact, it.ReceiverContact = s.Contact.ConsignorContact, s.Contact.ReceiverContact
		}
		u.Items = append(u.Items, it)
	}
	o.shipping = append(o.shipping, u)
	e.log.Info("emulator: shipping uploaded", "mchid", o.mchid, "out_trade_no", o.outTradeNo, "upload", len(o.shipping))
	return okResponse{Errcode: 0, Errmsg: "ok"}, nil
}

// checkShipping validates the logistics part of an upload.
func checkShipping(req *shippingRequest) *wxError {
	switch {
	case req.LogisticsType < logisticsExpress || req.LogisticsType > logisticsPickup:
		return wxErr(ErrcodeShipLogisticsType)
	case req.DeliveryMode != deliveryUnified && req.DeliveryMode != deliverySplit:
		return wxErr(ErrcodeShipInvalidMode)
	case req.DeliveryMode == deliverySplit && req.LogisticsType != logisticsExpress:
		return wxErr(ErrcodeShipSplitNotExpress)
	case req.DeliveryMode == deliverySplit && req.IsAllDelivered == nil:
		return wxErr(ErrcodeShipSplitNeedsAll)
	case len(req.ShippingList) == 0:
		return &wxError{code: ErrcodeShipInvalidParam, msg: "参数错误: shipping_list is required"}
	case len(req.ShippingList) > maxParcels:
		return wxErr(ErrcodeShipTooManyParcels)
	case req.DeliveryMode == deliveryUnified && len(req.ShippingList) > 1:
		return &wxError{code: ErrcodeShipInvalidParam, msg: "参数错误: unified delivery ships one parcel"}
	}
	for _, s := range req.ShippingList {
		switch {
		case strings.TrimSpace(s.ItemDesc) == "":
			return wxErr(ErrcodeShipNoItemDesc)
		case utf8.RuneCountInString(s.ItemDesc) > 120:
			return wxErr(ErrcodeShipItemDescTooLong)
		case len(s.TrackingNo) > 128:
			return wxErr(ErrcodeShipTrackingTooLong)
		case len(s.ExpressCompany) > 128:
			return wxErr(ErrcodeShipCompanyTooLong)
		case req.LogisticsType == logisticsExpress && (s.TrackingNo == "" || s.ExpressCompany == ""):
			return &wxError{code: ErrcodeShipInvalidParam, msg: "参数错误: express delivery needs tracking_no and express_company"}
		}
	}
	return nil
}

// ShippingUploads returns the accepted shipping uploads of the order with outTradeNo (of any
// merchant), oldest first.
func (e *Emulator) ShippingUploads(outTradeNo string) []ShippingUpload {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []ShippingUpload
	for k, o := range e.pay.orders {
		if k.no == outTradeNo {
			out = append(out, o.shipping...)
		}
	}
	return out
}
