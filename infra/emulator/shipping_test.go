package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/miniprogram/order"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// wxToken fetches an access token from the pay tests' emulator.
func (p *payEnv) wxToken(t *testing.T, appid, secret string) string {
	t.Helper()
	status, raw := controlCall(t, p, http.MethodGet, WXPrefix+"/cgi-bin/token?grant_type=client_credential&appid="+appid+"&secret="+secret, "")
	var tok tokenResponse
	if status != 200 || json.Unmarshal(raw, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %s", status, raw)
	}
	return tok.AccessToken
}

// upload posts a shipping upload and returns the errcode.
func (p *payEnv) upload(t *testing.T, token string, body any) int {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	status, raw := controlCall(t, p, http.MethodPost, WXPrefix+"/wxa/sec/order/upload_shipping_info?access_token="+token, string(b))
	var r errorResponse
	if status != 200 || json.Unmarshal(raw, &r) != nil {
		t.Fatalf("upload: %d %s", status, raw)
	}
	if r.Errcode != 0 && !strings.Contains(r.Errmsg, " rid: ") {
		t.Errorf("error without rid: %s", raw)
	}
	if r.Errcode == 0 && r.Errmsg != "ok" {
		t.Errorf("success answer %s", raw)
	}
	return r.Errcode
}

// shipment is an express upload for merchant A's order, in the silenceper SDK's own types (the
// body a Go client sends).
func shipment(outTradeNo string, at time.Time) *order.UploadShippingInfoRequest {
	return &order.UploadShippingInfoRequest{
		OrderKey:      &order.ShippingOrderKey{OrderNumberType: 1, Mchid: mchA, OutTradeNo: outTradeNo},
		LogisticsType: 1,
		DeliveryMode:  order.DeliveryModeUnifiedDelivery,
		ShippingList: []*order.ShippingInfo{{TrackingNo: "SF1234567890123", ExpressCompany: "SF", ItemDesc: "测试商品*1",
			Contact: order.ShippingContact{ReceiverContact: "138****8000"}}},
		UploadTime: &at,
		Payer:      &order.ShippingPayer{Openid: "oUser0000000000000000000001"},
	}
}

func TestShippingUpload(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	c := p.client(t)
	tok := p.wxToken(t, appA, secretA)
	paid := p.paidOrder(t, c, "ORD_SHIP1", 100, "")
	at := p.clock.Now()

	if code := p.upload(t, tok, shipment("ORD_SHIP1", at)); code != 0 {
		t.Fatalf("upload: errcode %d", code)
	}
	ups := p.emu.ShippingUploads("ORD_SHIP1")
	if len(ups) != 1 || ups[0].TransactionID != paid.TransactionID || ups[0].AppID != appA || ups[0].LogisticsType != 1 ||
		len(ups[0].Items) != 1 || ups[0].Items[0].TrackingNo != "SF1234567890123" || ups[0].Items[0].ReceiverContact != "138****8000" ||
		!json.Valid(ups[0].Body) {
		t.Errorf("stored upload: %+v", ups)
	}
	// One re-upload (later), then no more; an upload not later than the last is refused.
	if code := p.upload(t, tok, shipment("ORD_SHIP1", at)); code != ErrcodeShipInvalidParam {
		t.Errorf("re-upload with the same upload_time: %d", code)
	}
	if code := p.upload(t, tok, shipment("ORD_SHIP1", at.Add(time.Second))); code != 0 {
		t.Errorf("re-upload: %d", code)
	}
	if code := p.upload(t, tok, shipment("ORD_SHIP1", at.Add(2*time.Second))); code != ErrcodeShipReshipUsed {
		t.Errorf("third upload: %d", code)
	}

	// Virtual goods by transaction_id, as paynotify uploads them right after payment.
	virt := p.paidOrder(t, c, "ORD_SHIP2", 100, "")
	v := map[string]any{"order_key": map[string]any{"order_number_type": 2, "transaction_id": virt.TransactionID},
		"logistics_type": 3, "delivery_mode": 1, "shipping_list": []any{map[string]any{"item_desc": "会员月卡"}},
		"upload_time": at.In(cst).Format("2006-01-02T15:04:05.000Z07:00"), "payer": map[string]any{"openid": "oUser0000000000000000000001"}}
	if code := p.upload(t, tok, v); code != 0 {
		t.Errorf("virtual goods upload: %d", code)
	}

	// Orders that cannot be shipped, and tokens that do not authenticate.
	p.prepay(t, c, "ORD_SHIP3", 100, "")
	tokB := p.wxToken(t, appB, secretB)
	for name, tc := range map[string]struct {
		token string
		body  any
		code  int
	}{
		"unpaid":          {tok, shipment("ORD_SHIP3", at), ErrcodeShipOrderNotFound},
		"unknown":         {tok, shipment("ORD_NOPE1", at), ErrcodeShipOrderNotFound},
		"another app":     {tokB, shipment("ORD_SHIP2", at.Add(time.Second)), ErrcodeShipOrderNotFound},
		"unknown token":   {"86_nope", shipment("ORD_SHIP2", at), ErrcodeInvalidCredential},
		"no token":        {"", shipment("ORD_SHIP2", at), ErrcodeMissingToken},
		"unknown txn":     {tok, map[string]any{"order_key": map[string]any{"order_number_type": 2, "transaction_id": "4200"}, "logistics_type": 3, "delivery_mode": 1, "shipping_list": []any{map[string]any{"item_desc": "x"}}, "upload_time": at.Format(time.RFC3339), "payer": map[string]any{"openid": "o"}}, ErrcodeShipOrderNotFound},
		"bad number type": {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.OrderKey.OrderNumberType = 3 }), ErrcodeShipInvalidParam},
		"logistics type":  {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.LogisticsType = 5 }), ErrcodeShipLogisticsType},
		"delivery mode":   {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.DeliveryMode = 3 }), ErrcodeShipInvalidMode},
		"split virtual":   {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.LogisticsType, r.DeliveryMode = 3, 2 }), ErrcodeShipSplitNotExpress},
		"no tracking no":  {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.ShippingList[0].TrackingNo = "" }), ErrcodeShipInvalidParam},
		"no item_desc":    {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.ShippingList[0].ItemDesc = " " }), ErrcodeShipNoItemDesc},
		"long item_desc":  {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.ShippingList[0].ItemDesc = strings.Repeat("货", 121) }), ErrcodeShipItemDescTooLong},
		"no parcels":      {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.ShippingList = nil }), ErrcodeShipInvalidParam},
		"two parcels":     {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.ShippingList = append(r.ShippingList, r.ShippingList[0]) }), ErrcodeShipInvalidParam},
		"sixteen parcels": {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) {
			r.DeliveryMode = 2
			r.ShippingList = repeat(r.ShippingList[0], 16)
		}), ErrcodeShipTooManyParcels},
		"someone else":     {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.Payer.Openid = "oOther" }), ErrcodeShipInvalidParam},
		"no order key":     {tok, edit(shipment("ORD_SHIP2", at), func(r *order.UploadShippingInfoRequest) { r.OrderKey = nil }), ErrcodeShipInvalidParam},
		"bad upload time":  {tok, map[string]any{"order_key": map[string]any{"order_number_type": 1, "mchid": mchA, "out_trade_no": "ORD_SHIP2"}, "logistics_type": 3, "delivery_mode": 1, "shipping_list": []any{map[string]any{"item_desc": "x"}}, "upload_time": "2024-05-01 12:00:00", "payer": map[string]any{"openid": "oUser0000000000000000000001"}}, ErrcodeShipInvalidUploadTime},
		"null body":        {tok, nil, ErrcodeShipInvalidParam},
		"split needs flag": {tok, map[string]any{"order_key": map[string]any{"order_number_type": 1, "mchid": mchA, "out_trade_no": "ORD_SHIP2"}, "logistics_type": 1, "delivery_mode": 2, "shipping_list": []any{map[string]any{"item_desc": "x", "tracking_no": "1", "express_company": "SF"}}, "upload_time": at.Format(time.RFC3339), "payer": map[string]any{"openid": "oUser0000000000000000000001"}}, ErrcodeShipSplitNeedsAll},
	} {
		t.Run(name, func(t *testing.T) {
			if code := p.upload(t, tc.token, tc.body); code != tc.code {
				t.Errorf("errcode %d, want %d", code, tc.code)
			}
		})
	}
	for body, want := range map[string]int{"": ErrcodeEmptyPostData, "{": ErrcodeBadJSON} {
		_, raw := controlCall(t, p, http.MethodPost, WXPrefix+"/wxa/sec/order/upload_shipping_info?access_token="+tok, body)
		if !strings.Contains(string(raw), `"errcode":`+strconv.Itoa(want)) {
			t.Errorf("body %q: %s", body, raw)
		}
	}
	if n := len(p.emu.ShippingUploads("ORD_SHIP2")); n != 1 {
		t.Errorf("refused uploads were stored: %d uploads", n)
	}

	// A fully refunded payment cannot ship; a fault answers before anything is looked at.
	if _, _, err := (&refunddomestic.RefundsApiService{Client: c}).Create(ctx, refundReq("ORD_SHIP2", "RF_SHIP2", 100, 100, "")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.emu.SettleRefund(ctx, "RF_SHIP2", SettleRequest{Status: "SUCCESS", Deliver: core.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if code := p.upload(t, tok, edit(shipment("ORD_SHIP2", at.Add(time.Minute)), func(r *order.UploadShippingInfoRequest) {})); code != ErrcodeShipNotShippable {
		t.Errorf("refunded payment: %d", code)
	}
	mustPayFault(t, p, Fault{Path: "/wxa/sec/order/upload_shipping_info", Errcode: ErrcodeShipOrderNotFound})
	if code := p.upload(t, tok, shipment("ORD_SHIP1", at.Add(time.Hour))); code != ErrcodeShipOrderNotFound {
		t.Errorf("faulted upload: %d", code)
	}
	if o, _ := p.emu.Order("", "ORD_SHIP1"); len(o.Shipping) != 2 {
		t.Errorf("order info shows %d uploads", len(o.Shipping))
	}
}

func edit(r *order.UploadShippingInfoRequest, f func(*order.UploadShippingInfoRequest)) *order.UploadShippingInfoRequest {
	f(r)
	return r
}

func repeat(s *order.ShippingInfo, n int) []*order.ShippingInfo {
	out := make([]*order.ShippingInfo, n)
	for i := range out {
		out[i] = s
	}
	return out
}
