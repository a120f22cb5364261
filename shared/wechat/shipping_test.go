package wechat_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/wechat"
	"github.com/wxfn/wxfn/shared/wxpay"
	"github.com/wxfn/wxfn/shared/wxtoken"
)

var (
	emu     *emulator.Emulator
	emuURL  string
	pay     *wxpay.Client
	uploads = emulator.WXPrefix + "/wxa/sec/order/upload_shipping_info"
)

func TestMain(m *testing.M) {
	merchant, key, err := emulator.GenerateMerchant(emulator.DefaultMchID)
	if err != nil {
		panic(err)
	}
	emu = emulator.New(emulator.Config{Pay: emulator.PayConfig{Merchants: []emulator.Merchant{merchant}}})
	srv := httptest.NewServer(emu)
	emuURL = srv.URL
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(emu.PlatformPublicKey())
	cfg, err := config.LoadPay(config.Map(map[string]string{
		"WX_APPID": emulator.DefaultAppID, "WXPAY_MCHID": merchant.MchID, "WXPAY_CERT_SERIAL": merchant.CertSerial,
		"WXPAY_PRIVATE_KEY": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})), "WXPAY_APIV3_KEY": merchant.APIv3Key,
		"WXPAY_PUBLIC_KEY_ID": emu.PublicKeyID(), "WXPAY_PUBLIC_KEY": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"WXPAY_NOTIFY_URL": srv.URL + "/notify", "WXPAY_API_BASE": srv.URL + emulator.PayPrefix,
	}))
	if err != nil {
		panic(err)
	}
	if pay, err = wxpay.New(context.Background(), cfg, nil); err != nil {
		panic(err)
	}
	defer srv.Close()
	dbtest.Main(m)
}

func mini(t *testing.T) *wechat.MiniProgram {
	db := dbtest.Database(t)
	cfg := config.MiniProgram{AppID: emulator.DefaultAppID, Secret: emulator.DefaultAppSecret, APIBase: emuURL + emulator.WXPrefix}
	return wechat.NewMiniProgram(cfg, wxtoken.New(func(context.Context) (*mongo.Database, error) { return db, nil }))
}

const payer = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

// paidOrder places an order at the emulated WeChat Pay and pays it (without a notification).
func paidOrder(t *testing.T, no string) emulator.PayResponse {
	t.Helper()
	ctx := context.Background()
	if _, err := pay.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: no, Description: "微信红包抱枕", Total: 990, OpenID: payer}); err != nil {
		t.Fatal(err)
	}
	no2 := false
	r, err := emu.PayOrder(ctx, no, emulator.PayRequest{Deliver: &no2})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var uploadTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$`)

func TestUploadShippingInfo(t *testing.T) {
	ctx := context.Background()
	m := mini(t)

	// Express, by out_trade_no; upload_time filled in as WeChat wants it.
	no := "SHIP" + time.Now().Format("150405.000000")[7:] + "A"
	paidOrder(t, no)
	err := m.UploadShippingInfo(ctx, wechat.ShippingInfo{
		OrderKey:      wechat.ShippingOrderKey{OrderNumberType: wechat.OrderByOutTradeNo, MchID: emulator.DefaultMchID, OutTradeNo: no},
		LogisticsType: wechat.LogisticsExpress, DeliveryMode: wechat.DeliveryUnified,
		ShippingList: []wechat.ShippingItem{{TrackingNo: "SF1234567890123", ExpressCompany: "SF", ItemDesc: "微信红包抱枕*1个",
			Contact: &wechat.ShippingContact{ReceiverContact: "189****1234"}}},
		Payer: wechat.ShippingPayer{OpenID: payer},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := emu.ShippingUploads(no)
	if len(got) != 1 {
		t.Fatalf("%d uploads recorded", len(got))
	}
	u := got[0]
	if u.LogisticsType != 1 || u.DeliveryMode != 1 || u.PayerOpenID != payer || len(u.Items) != 1 || u.Items[0].TrackingNo != "SF1234567890123" || u.Items[0].ReceiverContact != "189****1234" {
		t.Fatalf("upload as received: %+v", u)
	}
	if !uploadTime.MatchString(u.UploadTime) {
		t.Fatalf("upload_time %q is not RFC 3339 with milliseconds in +08:00", u.UploadTime)
	}
	var body map[string]any
	if err := json.Unmarshal(u.Body, &body); err != nil || body["order_key"].(map[string]any)["out_trade_no"] != no {
		t.Fatalf("wire body: %s", u.Body)
	}

	// Virtual goods by transaction id, the upload paynotify makes right after payment.
	no = "SHIP" + time.Now().Format("150405.000000")[7:] + "B"
	paid := paidOrder(t, no)
	err = m.UploadShippingInfo(ctx, wechat.ShippingInfo{
		OrderKey:      wechat.ShippingOrderKey{OrderNumberType: wechat.OrderByTransactionID, TransactionID: paid.TransactionID},
		LogisticsType: wechat.LogisticsVirtual, DeliveryMode: wechat.DeliveryUnified,
		ShippingList: []wechat.ShippingItem{{ItemDesc: "会员月卡*1"}},
		UploadTime:   wechat.ShippingTime(time.Now()),
		Payer:        wechat.ShippingPayer{OpenID: payer},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := emu.ShippingUploads(no); len(got) != 1 || got[0].LogisticsType != wechat.LogisticsVirtual || got[0].TransactionID != paid.TransactionID {
		t.Fatalf("virtual upload: %+v", got)
	}

	// Split delivery sends is_all_delivered even when false (WeChat requires it there).
	no = "SHIP" + time.Now().Format("150405.000000")[7:] + "C"
	paidOrder(t, no)
	split := wechat.ShippingInfo{
		OrderKey:      wechat.ShippingOrderKey{OrderNumberType: wechat.OrderByOutTradeNo, MchID: emulator.DefaultMchID, OutTradeNo: no},
		LogisticsType: wechat.LogisticsExpress, DeliveryMode: wechat.DeliverySplit, IsAllDelivered: false,
		ShippingList: []wechat.ShippingItem{{TrackingNo: "YT1", ExpressCompany: "YTO", ItemDesc: "上衣"}, {TrackingNo: "YT2", ExpressCompany: "YTO", ItemDesc: "裤子"}},
		Payer:        wechat.ShippingPayer{OpenID: payer},
	}
	if err := m.UploadShippingInfo(ctx, split); err != nil {
		t.Fatal(err)
	}
	if got := emu.ShippingUploads(no); len(got) != 1 || len(got[0].Items) != 2 || got[0].IsAllDelivered {
		t.Fatalf("split upload: %+v", got)
	}
}

func TestUploadShippingInfoErrors(t *testing.T) {
	ctx := context.Background()
	m := mini(t)
	valid := func(no string) wechat.ShippingInfo {
		return wechat.ShippingInfo{
			OrderKey:      wechat.ShippingOrderKey{OrderNumberType: wechat.OrderByOutTradeNo, MchID: emulator.DefaultMchID, OutTradeNo: no},
			LogisticsType: wechat.LogisticsVirtual, DeliveryMode: wechat.DeliveryUnified,
			ShippingList: []wechat.ShippingItem{{ItemDesc: "会员月卡*1"}},
			Payer:        wechat.ShippingPayer{OpenID: payer},
		}
	}

	// A payment WeChat does not know (yet): 10060001, worth a retry a little later.
	err := m.UploadShippingInfo(ctx, valid("NOSUCHPAYMENT01"))
	if c, ok := wechat.Code(err); !ok || c != wechat.CodeShippingNoOrder {
		t.Fatalf("unknown payment: %v", err)
	}

	// Refused input never reaches WeChat.
	emu.ResetCalls()
	for name, mut := range map[string]func(*wechat.ShippingInfo){
		"no order number type":      func(s *wechat.ShippingInfo) { s.OrderKey.OrderNumberType = 0 },
		"by out_trade_no, no mchid": func(s *wechat.ShippingInfo) { s.OrderKey.MchID = "" },
		"by transaction id, no id":  func(s *wechat.ShippingInfo) { s.OrderKey.OrderNumberType = wechat.OrderByTransactionID },
		"logistics type 5":          func(s *wechat.ShippingInfo) { s.LogisticsType = 5 },
		"delivery mode 0":           func(s *wechat.ShippingInfo) { s.DeliveryMode = 0 },
		"express without tracking":  func(s *wechat.ShippingInfo) { s.LogisticsType = wechat.LogisticsExpress },
		"split for virtual goods":   func(s *wechat.ShippingInfo) { s.DeliveryMode = wechat.DeliverySplit },
		"two entries for unified":   func(s *wechat.ShippingInfo) { s.ShippingList = append(s.ShippingList, s.ShippingList[0]) },
		"no shipping list":          func(s *wechat.ShippingInfo) { s.ShippingList = nil },
		"no item_desc":              func(s *wechat.ShippingInfo) { s.ShippingList = []wechat.ShippingItem{{}} },
		"item_desc over 120": func(s *wechat.ShippingInfo) {
			s.ShippingList = []wechat.ShippingItem{{ItemDesc: strings.Repeat("货", 121)}}
		},
		"no payer":                 func(s *wechat.ShippingInfo) { s.Payer.OpenID = "" },
		"upload_time not RFC 3339": func(s *wechat.ShippingInfo) { s.UploadTime = "2024-05-01 12:00:00" },
	} {
		s := valid("ANYORDER0001")
		mut(&s)
		if err := m.UploadShippingInfo(ctx, s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := emu.CallCount(uploads); n != 0 {
		t.Fatalf("refused input reached WeChat %d times", n)
	}

	// WeChat refuses the token once: a fresh one is fetched and the upload goes through, once.
	no := "SHIP" + time.Now().Format("150405.000000")[7:] + "D"
	paidOrder(t, no)
	if _, err := m.AccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	if err := emu.InjectFault(emulator.Fault{Path: "/wxa/sec/order/upload_shipping_info", Errcode: wechat.CodeInvalidToken, Count: 1}); err != nil {
		t.Fatal(err)
	}
	emu.ResetCalls()
	if err := m.UploadShippingInfo(ctx, valid(no)); err != nil {
		t.Fatalf("after a refused token: %v", err)
	}
	if n := emu.CallCount(uploads); n != 2 {
		t.Fatalf("upload calls = %d, want 2 (refused, then retried)", n)
	}
	if got := emu.ShippingUploads(no); len(got) != 1 {
		t.Fatalf("%d uploads recorded, want 1", len(got))
	}

	// The access token never appears in an error.
	emu.InjectFault(emulator.Fault{Path: "/wxa/sec/order/upload_shipping_info", HTTPStatus: 502, Count: 1})
	err = m.UploadShippingInfo(ctx, valid(no))
	tok, _ := m.AccessToken(ctx)
	if err == nil || !wechat.IsTemporary(err) || strings.Contains(err.Error(), tok) {
		t.Fatalf("bad gateway: %v", err)
	}
}

// The sample bodies in testdata decode into ShippingInfo without a field left over.
func TestShippingSamples(t *testing.T) {
	for _, f := range []string{"testdata/upload-shipping-info.json", "testdata/upload-shipping-info-virtual.json"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s wechat.ShippingInfo
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if s.Payer.OpenID == "" || len(s.ShippingList) != 1 || !uploadTime.MatchString(s.UploadTime) {
			t.Fatalf("%s: %+v", f, s)
		}
	}
}
