package emulator

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// TestPayWireSamples checks that every WeChat Pay and pay-control sample decodes strictly into its
// message type and encodes back to the same JSON.
func TestPayWireSamples(t *testing.T) {
	cases := []struct {
		file string
		v    any
	}{
		{"pay/prepay_request.json", &prepayRequest{}},
		{"pay/prepay_response.json", &prepayResponse{}},
		{"pay/close_request.json", &closeRequest{}},
		{"pay/transaction.json", &transaction{}},
		{"pay/transaction_notpay.json", &transaction{}},
		{"pay/refund_request.json", &refundRequest{}},
		{"pay/refund.json", &refund{}},
		{"pay/refund_notice.json", &refundNotice{}},
		{"pay/notification.json", &notification{}},
		{"pay/notification_refund.json", &notification{}},
		{"pay/tradebill.json", &billResponse{}},
		{"pay/certificates.json", &certificatesResponse{}},
		{"pay/error.json", &payErrorBody{}},
		{"pay/sign_error.json", &payErrorBody{}},
		{"wx/upload_shipping_info_request.json", &shippingRequest{}},
		{"control/pay_request.json", &PayRequest{}},
		{"control/pay_response.json", &PayResponse{}},
		{"control/pay_notify_request.json", &NotifyOptions{}},
		{"control/pay_delivery.json", &Delivery{}},
		{"control/pay_settle_request.json", &SettleRequest{}},
		{"control/pay_settle_response.json", &SettleResponse{}},
		{"control/pay_keys_response.json", &PayKeysResponse{}},
		{"control/pay_order_info.json", &OrderInfo{}},
		{"control/pay_bill_plant.json", &BillPlant{}},
		{"control/pay_plants_response.json", &PlantsResponse{}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) { roundTrip(t, tc.file, tc.v) })
	}
}

// TestPaySamplesMatchSDK decodes the samples with wechatpay-go's own models and re-encodes the
// request samples with them: what the emulator answers is what the SDK reads, and what it reads
// is what the SDK sends.
func TestPaySamplesMatchSDK(t *testing.T) {
	var txn payments.Transaction
	if err := json.Unmarshal(readSample(t, "pay/transaction.json"), &txn); err != nil || *txn.TradeState != "SUCCESS" ||
		*txn.Amount.PayerTotal != 10000 || *txn.Payer.Openid == "" || *txn.TransactionId == "" {
		t.Errorf("SDK transaction: %+v, %v", txn, err)
	}
	var rf refunddomestic.Refund
	if err := json.Unmarshal(readSample(t, "pay/refund.json"), &rf); err != nil || *rf.Status != refunddomestic.STATUS_PROCESSING ||
		*rf.Amount.Refund != 5000 || rf.CreateTime == nil || *rf.FundsAccount != refunddomestic.FUNDSACCOUNT_UNSETTLED {
		t.Errorf("SDK refund: %+v, %v", rf, err)
	}
	for file, v := range map[string]any{"pay/prepay_request.json": &jsapi.PrepayRequest{}, "pay/refund_request.json": &refunddomestic.CreateRequest{}} {
		raw := readSample(t, file)
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		back, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: SDK encode: %v", file, err)
		}
		var want, got any
		_ = json.Unmarshal(raw, &want)
		_ = json.Unmarshal(back, &got)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: the SDK sends\n%s\nthe sample says\n%s", file, back, raw)
		}
	}
}
