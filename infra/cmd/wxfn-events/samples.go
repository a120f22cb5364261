package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wxfn/wxfn/shared/wxpay"
)

// sampleTime is when the samples were "sent". Fixed, so that regenerating them changes nothing.
var sampleTime = time.Date(2026, 11, 21, 12, 12, 9, 0, wxpay.Beijing)

// sample is one committed notification event.
type sample struct {
	file         string
	cloud        string // aws or scf
	id           string
	eventType    string
	summary      string
	originalType string
	plain        any
	// variant is "" (validly signed), "probe" (a signature probe) or "unsigned" (no signature
	// headers at all).
	variant string
	nonce   string // the resource's 12-byte GCM nonce
}

const (
	sampleOutTradeNo  = "20261121121000vIpM0nTh1y"
	sampleTxnID       = "4200002026112112120912345678"
	sampleOpenID      = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	sampleOutRefundNo = "R20261121121500rEfUnD0001"
	sampleRefundID    = "50300002026112112150012345678"
)

func transactionPlain() wxpay.Transaction {
	return wxpay.Transaction{
		AppID: testAppID, MchID: testMchID, OutTradeNo: sampleOutTradeNo, TransactionID: sampleTxnID,
		TradeType: "JSAPI", TradeState: "SUCCESS", TradeStateDesc: "支付成功", BankType: "OTHERS",
		SuccessTime: sampleTime.Add(-time.Second).Format(time.RFC3339),
		Payer:       wxpay.TransactionPayer{OpenID: sampleOpenID},
		Amount:      wxpay.TransactionAmount{Total: 1500, PayerTotal: 1500, Currency: "CNY", PayerCurrency: "CNY"},
	}
}

func refundPlain(status string) wxpay.RefundNotice {
	n := wxpay.RefundNotice{
		MchID: testMchID, OutTradeNo: sampleOutTradeNo, TransactionID: sampleTxnID,
		OutRefundNo: sampleOutRefundNo, RefundID: sampleRefundID, RefundStatus: status,
		UserReceivedAccount: "支付用户零钱",
		Amount:              wxpay.RefundNoticeAmount{Total: 1500, Refund: 1500, PayerTotal: 1500, PayerRefund: 1500},
	}
	if status == "SUCCESS" {
		n.SuccessTime = sampleTime.Add(-time.Second).Format(time.RFC3339)
	}
	return n
}

func samples() []sample {
	txn := func(file, cloud, id, variant, nonce string) sample {
		return sample{file: file, cloud: cloud, id: id, eventType: wxpay.EventTransactionSuccess, summary: "支付成功",
			originalType: "transaction", plain: transactionPlain(), variant: variant, nonce: nonce}
	}
	refund := func(file, status, summary, id, nonce string) sample {
		return sample{file: file, cloud: "aws", id: id, eventType: "REFUND." + status, summary: summary,
			originalType: "refund", plain: refundPlain(status), nonce: nonce}
	}
	return []sample{
		txn("aws-url-transaction-success.json", "aws", "5f1e7c2a-0b3d-5e8f-9a4c-1d2e3f4a5b6c", "", "Xq3mZ8pL2vR7"),
		txn("scf-url-transaction-success.json", "scf", "6a2f8d3b-1c4e-5f90-8b5d-2e3f4a5b6c7d", "", "Yr4nA9qM3wS8"),
		refund("aws-url-refund-success.json", "SUCCESS", "退款成功", "7b3a9e4c-2d5f-5a01-9c6e-3f4a5b6c7d8e", "Zs5oB0rN4xT9"),
		refund("aws-url-refund-abnormal.json", "ABNORMAL", "退款异常", "8c4b0f5d-3e6a-5b12-8d7f-4a5b6c7d8e9f", "At6pC1sO5yU0"),
		refund("aws-url-refund-closed.json", "CLOSED", "退款关闭", "9d5c1a6e-4f7b-5c23-9e8a-5b6c7d8e9f0a", "Bu7qD2tP6zV1"),
		txn("aws-url-probe.json", "aws", "ad6d2b7f-5a8c-5d34-8f9b-6c7d8e9f0a1b", "probe", "Cv8rE3uQ7aW2"),
		txn("aws-url-unsigned.json", "aws", "be7e3c8a-6b9d-5e45-9a0c-7d8e9f0a1b2c", "unsigned", "Dw9sF4vR8bX3"),
	}
}

// build renders a sample event with the test-only keys.
func (s sample) build() ([]byte, error) {
	k := testKeys()
	plain, err := json.Marshal(s.plain)
	if err != nil {
		return nil, err
	}
	body, err := envelope(k, s.id, sampleTime.Format(time.RFC3339), s.eventType, s.summary, s.originalType, s.nonce, plain)
	if err != nil {
		return nil, err
	}
	headers := map[string]string{}
	switch s.variant {
	case "":
		headers, err = signHeaders(k, body, sampleTime, "n"+s.nonce+"0123456789abcdefghij")
		if err != nil {
			return nil, err
		}
	case "probe":
		headers, err = signHeaders(k, body, sampleTime, "n"+s.nonce+"0123456789abcdefghij")
		if err != nil {
			return nil, err
		}
		// WeChat Pay's probes carry a deliberately wrong signature with this prefix (reference §2.4).
		headers["wechatpay-signature"] = "WECHATPAY/SIGNTEST/" + headers["wechatpay-signature"][:40]
	case "unsigned":
	}
	return wrap(s.cloud, headers, body, sampleTime, fmt.Sprintf("%s-%s", s.id[:8], "0000-4000-8000-000000000000"))
}

func writeSamples(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, s := range samples() {
		b, err := s.build()
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.file), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
