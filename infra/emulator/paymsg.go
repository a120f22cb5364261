package emulator

import "encoding/json"

// Wire formats of api.mch.weixin.qq.com (WeChat Pay APIv3) as the emulator speaks them: snake_case
// JSON, money in integer fen, times in RFC 3339 with +08:00. Samples of each are in testdata/pay/.

// payErrorBody is every failed call's body: {"code","message"} and, for some codes, a detail.
type payErrorBody struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Detail  *payErrorDetail `json:"detail,omitempty"`
}

// payErrorDetail says which input was wrong; SIGN_ERROR adds what the server signed.
type payErrorDetail struct {
	Field           string           `json:"field,omitempty"`
	Value           any              `json:"value,omitempty"`
	Issue           string           `json:"issue,omitempty"`
	Location        string           `json:"location,omitempty"`
	SignInformation *signInformation `json:"sign_information,omitempty"`
}

// signInformation helps a merchant debug a SIGN_ERROR: the message the server built, truncated.
type signInformation struct {
	Method               string `json:"method"`
	URL                  string `json:"url"`
	SignMessageLength    int    `json:"sign_message_length"`
	TruncatedSignMessage string `json:"truncated_sign_message"`
}

// prepayRequest is the body of POST /v3/pay/transactions/jsapi. Optional objects the emulator does
// not interpret (detail, scene_info, settle_info) are kept raw: they only take part in the
// re-entry comparison.
type prepayRequest struct {
	AppID         string          `json:"appid"`
	MchID         string          `json:"mchid"`
	Description   string          `json:"description"`
	OutTradeNo    string          `json:"out_trade_no"`
	TimeExpire    string          `json:"time_expire,omitempty"`
	Attach        string          `json:"attach,omitempty"`
	NotifyURL     string          `json:"notify_url"`
	GoodsTag      string          `json:"goods_tag,omitempty"`
	SupportFapiao *bool           `json:"support_fapiao,omitempty"`
	LimitPay      []string        `json:"limit_pay,omitempty"`
	Amount        *prepayAmount   `json:"amount"`
	Payer         *prepayPayer    `json:"payer"`
	Detail        json.RawMessage `json:"detail,omitempty"`
	SceneInfo     json.RawMessage `json:"scene_info,omitempty"`
	SettleInfo    json.RawMessage `json:"settle_info,omitempty"`
}

type prepayAmount struct {
	Total    *int64 `json:"total"`
	Currency string `json:"currency,omitempty"`
}

type prepayPayer struct {
	OpenID string `json:"openid"`
}

// prepayResponse answers a prepay: the prepay_id wx.requestPayment's package names.
type prepayResponse struct {
	PrepayID string `json:"prepay_id"`
}

// closeRequest is the body of POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close.
type closeRequest struct {
	MchID string `json:"mchid"`
}

// transaction answers both order queries and is the decrypted resource of TRANSACTION.SUCCESS.
// Fields that exist only once paid are left out before.
type transaction struct {
	AppID          string            `json:"appid"`
	MchID          string            `json:"mchid"`
	OutTradeNo     string            `json:"out_trade_no"`
	TransactionID  string            `json:"transaction_id,omitempty"`
	TradeType      string            `json:"trade_type,omitempty"`
	TradeState     string            `json:"trade_state"`
	TradeStateDesc string            `json:"trade_state_desc"`
	BankType       string            `json:"bank_type,omitempty"`
	Attach         string            `json:"attach,omitempty"`
	SuccessTime    string            `json:"success_time,omitempty"`
	Payer          *transactionPayer `json:"payer,omitempty"`
	Amount         transactionAmount `json:"amount"`
}

type transactionPayer struct {
	OpenID string `json:"openid"`
}

type transactionAmount struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

// refundRequest is the body of POST /v3/refund/domestic/refunds. Exactly one of TransactionID and
// OutTradeNo names the order.
type refundRequest struct {
	TransactionID string               `json:"transaction_id,omitempty"`
	OutTradeNo    string               `json:"out_trade_no,omitempty"`
	OutRefundNo   string               `json:"out_refund_no"`
	Reason        string               `json:"reason,omitempty"`
	NotifyURL     string               `json:"notify_url,omitempty"`
	FundsAccount  string               `json:"funds_account,omitempty"`
	Amount        *refundRequestAmount `json:"amount"`
	GoodsDetail   json.RawMessage      `json:"goods_detail,omitempty"`
}

type refundRequestAmount struct {
	Refund   *int64          `json:"refund"`
	Total    *int64          `json:"total"`
	Currency string          `json:"currency"`
	From     json.RawMessage `json:"from,omitempty"`
}

// refund answers refund create and query.
type refund struct {
	RefundID            string       `json:"refund_id"`
	OutRefundNo         string       `json:"out_refund_no"`
	TransactionID       string       `json:"transaction_id"`
	OutTradeNo          string       `json:"out_trade_no"`
	Channel             string       `json:"channel"`
	UserReceivedAccount string       `json:"user_received_account"`
	SuccessTime         string       `json:"success_time,omitempty"`
	CreateTime          string       `json:"create_time"`
	Status              string       `json:"status"`
	FundsAccount        string       `json:"funds_account"`
	Amount              refundAmount `json:"amount"`
	PromotionDetail     []struct{}   `json:"promotion_detail"`
}

type refundAmount struct {
	Total            int64      `json:"total"`
	Refund           int64      `json:"refund"`
	From             []struct{} `json:"from"`
	PayerTotal       int64      `json:"payer_total"`
	PayerRefund      int64      `json:"payer_refund"`
	SettlementRefund int64      `json:"settlement_refund"`
	SettlementTotal  int64      `json:"settlement_total"`
	DiscountRefund   int64      `json:"discount_refund"`
	Currency         string     `json:"currency"`
	RefundFee        int64      `json:"refund_fee"`
}

// refundNotice is the decrypted resource of REFUND.SUCCESS, REFUND.ABNORMAL and REFUND.CLOSED
// (note refund_status, not status).
type refundNotice struct {
	MchID               string             `json:"mchid"`
	OutTradeNo          string             `json:"out_trade_no"`
	TransactionID       string             `json:"transaction_id"`
	OutRefundNo         string             `json:"out_refund_no"`
	RefundID            string             `json:"refund_id"`
	RefundStatus        string             `json:"refund_status"`
	SuccessTime         string             `json:"success_time,omitempty"`
	UserReceivedAccount string             `json:"user_received_account"`
	Amount              refundNoticeAmount `json:"amount"`
}

type refundNoticeAmount struct {
	Total       int64 `json:"total"`
	Refund      int64 `json:"refund"`
	PayerTotal  int64 `json:"payer_total"`
	PayerRefund int64 `json:"payer_refund"`
}

// notification is the body WeChat Pay POSTs to a notify_url.
type notification struct {
	ID           string            `json:"id"`
	CreateTime   string            `json:"create_time"`
	ResourceType string            `json:"resource_type"`
	EventType    string            `json:"event_type"`
	Summary      string            `json:"summary"`
	Resource     encryptedResource `json:"resource"`
}

// encryptedResource is AEAD_AES_256_GCM under the APIv3 key: Base64(ciphertext‖tag), a 12-character
// nonce and the associated data ("transaction", "refund" or "certificate").
type encryptedResource struct {
	OriginalType   string `json:"original_type,omitempty"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// billResponse answers GET /v3/bill/tradebill.
type billResponse struct {
	HashType    string `json:"hash_type"`
	HashValue   string `json:"hash_value"`
	DownloadURL string `json:"download_url"`
}

// certificatesResponse answers GET /v3/certificates.
type certificatesResponse struct {
	Data []platformCertificate `json:"data"`
}

type platformCertificate struct {
	SerialNo           string            `json:"serial_no"`
	EffectiveTime      string            `json:"effective_time"`
	ExpireTime         string            `json:"expire_time"`
	EncryptCertificate encryptedResource `json:"encrypt_certificate"`
}
