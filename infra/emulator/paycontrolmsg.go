package emulator

import "encoding/json"

// Wire formats of the WeChat Pay part of the control API (JSON, camelCase like the rest of wxfn's
// own APIs). Samples of each are in testdata/control/pay_*.json.

// NotifyOptions shape one delivery of a notification, to send the bad variants a merchant must
// refuse (and the good variants it must accept). The zero value re-sends the notification as
// WeChat Pay does: the same id and body, a fresh timestamp, nonce and signature.
type NotifyOptions struct {
	// MchID picks the merchant when an out_trade_no or out_refund_no exists for several.
	MchID string `json:"mchid,omitempty"`
	// NewID gives the notification a new id and create_time (a distinct event, not a re-send).
	NewID bool `json:"newId,omitempty"`
	// Patch is a JSON merge patch (RFC 7386) applied to the decrypted resource before it is
	// encrypted, e.g. {"amount":{"total":1}} or {"appid":"wx0"}: content that does not match the
	// order, validly signed.
	Patch json.RawMessage `json:"patch,omitempty"`
	// Tamper changes the body after signing: the signature covers the notification as stored,
	// and the body sent is re-encrypted (with Patch applied, if any) under a new nonce. It still
	// decrypts; only signature verification catches it.
	Tamper bool `json:"tamper,omitempty"`
	// StaleSeconds moves the signed timestamp that many seconds into the past (negative: the
	// future). The signature is valid; beyond 300 s the merchant must refuse it.
	StaleSeconds int64 `json:"staleSeconds,omitempty"`
	// Probe sends a signature probe: Wechatpay-Signature is WECHATPAY/SIGNTEST/… (reference §2.4).
	Probe bool `json:"probe,omitempty"`
	// SerialOverride puts this value in Wechatpay-Serial instead of the signing key's.
	SerialOverride string `json:"serialOverride,omitempty"`
	// Mode signs this delivery with the public key ("pubkey") or the platform certificate ("cert")
	// instead of the configured mode's key, as during a migration.
	Mode string `json:"mode,omitempty"`
	// URL delivers to this URL instead of the notify_url.
	URL string `json:"url,omitempty"`
}

// Delivery is one attempt to deliver a notification, as the control API reports it.
type Delivery struct {
	NotificationID string `json:"notificationId"`
	EventType      string `json:"eventType"`
	URL            string `json:"url"`
	At             string `json:"at"`
	// Variant lists the NotifyOptions that shaped it ("" for a faithful one).
	Variant string `json:"variant,omitempty"`
	// Status is the HTTP status the merchant answered (0 when the request failed).
	Status int `json:"status"`
	// Delivered is WeChat Pay's verdict: the merchant answered 200 or 204.
	Delivered bool   `json:"delivered"`
	Error     string `json:"error,omitempty"`
}

// PayRequest marks an order paid (POST /_emu/pay/orders/{outTradeNo}/pay). Every field is
// optional.
type PayRequest struct {
	MchID string `json:"mchid,omitempty"`
	// Deliver sends TRANSACTION.SUCCESS to the notify_url (default true). false pays without
	// notifying: a missed notification, to be repaired by a query or reconciliation.
	Deliver *bool `json:"deliver,omitempty"`
	// PayerTotal is what the user paid (default the order total; less means a coupon).
	PayerTotal *int64 `json:"payerTotal,omitempty"`
	// BankType is the payer's bank (default OTHERS).
	BankType string `json:"bankType,omitempty"`
	// EvenIfClosed pays an order that is closed or expired: the race in which the user paid just
	// before the close reached WeChat Pay, so that a late TRANSACTION.SUCCESS can be tested.
	EvenIfClosed bool `json:"evenIfClosed,omitempty"`
}

// PayResponse reports the payment and its notification's delivery.
type PayResponse struct {
	TransactionID  string `json:"transactionId"`
	NotificationID string `json:"notificationId"`
	Delivered      bool   `json:"delivered"`
	// Status is the HTTP status the merchant answered (0 when not delivered or unreachable).
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// SettleRequest settles a refund (POST /_emu/pay/refunds/{outRefundNo}/settle).
type SettleRequest struct {
	MchID string `json:"mchid,omitempty"`
	// Status is SUCCESS, ABNORMAL or CLOSED. A PROCESSING refund can become any of them, an
	// ABNORMAL one SUCCESS or CLOSED; SUCCESS and CLOSED are final.
	Status string `json:"status"`
	// Deliver sends the REFUND.* notification (default true).
	Deliver *bool `json:"deliver,omitempty"`
	// UserReceivedAccount is where the money went (default 支付用户零钱).
	UserReceivedAccount string `json:"userReceivedAccount,omitempty"`
}

// SettleResponse reports the settled refund and its notification's delivery.
type SettleResponse struct {
	RefundID       string `json:"refundId"`
	RefundStatus   string `json:"refundStatus"`
	NotificationID string `json:"notificationId"`
	Delivered      bool   `json:"delivered"`
	Status         int    `json:"status"`
	Error          string `json:"error,omitempty"`
}

// PayKeysResponse is GET /_emu/pay/keys: everything a tool needs to act as WeChat Pay towards the
// merchant (sign notifications, verify responses) or to check what the merchant signed (paySign).
// The platform private key and the APIv3 key are the emulator's own, generated for it, and open
// nothing real; that is why the emulator may hand them out.
type PayKeysResponse struct {
	MchID  string   `json:"mchid"`
	AppIDs []string `json:"appids"`
	// Mode is how notifications are signed: pubkey, cert or pubkey-only.
	Mode string `json:"mode"`
	// PlatformPrivateKey is WeChat Pay's signing key, PKCS#8 PEM.
	PlatformPrivateKey string `json:"platformPrivateKey"`
	PublicKeyID        string `json:"publicKeyId"`
	// PlatformPublicKey is the WeChat Pay public key (pub_key.pem, PKIX PEM).
	PlatformPublicKey   string `json:"platformPublicKey"`
	PlatformCertificate string `json:"platformCertificate"`
	PlatformCertSerial  string `json:"platformCertSerial"`
	// MerchantPublicKey verifies what the merchant signs: requests and wx.requestPayment's paySign.
	MerchantPublicKey  string `json:"merchantPublicKey"`
	MerchantCertSerial string `json:"merchantCertSerial"`
	APIv3Key           string `json:"apiv3Key"`
}

// OrderInfo is the emulator's view of an order (GET /_emu/pay/orders/{outTradeNo}), for tests and
// developers; amounts in fen.
type OrderInfo struct {
	MchID         string `json:"mchid"`
	AppID         string `json:"appid"`
	OutTradeNo    string `json:"outTradeNo"`
	Description   string `json:"description"`
	Attach        string `json:"attach,omitempty"`
	NotifyURL     string `json:"notifyUrl"`
	OpenID        string `json:"openid"`
	Total         int64  `json:"total"`
	TradeState    string `json:"tradeState"`
	PrepayID      string `json:"prepayId"`
	CreateTime    string `json:"createTime"`
	ExpireTime    string `json:"expireTime"`
	TransactionID string `json:"transactionId,omitempty"`
	BankType      string `json:"bankType,omitempty"`
	SuccessTime   string `json:"successTime,omitempty"`
	PayerTotal    int64  `json:"payerTotal,omitempty"`
	// Refunded is what SUCCESS refunds returned; Committed adds the refunds still in flight.
	Refunded       int64            `json:"refunded"`
	Committed      int64            `json:"committed"`
	Refunds        []RefundInfo     `json:"refunds"`
	NotificationID string           `json:"notificationId,omitempty"`
	Deliveries     []Delivery       `json:"deliveries"`
	Shipping       []ShippingUpload `json:"shipping"`
}

// RefundInfo is the emulator's view of a refund (GET /_emu/pay/refunds/{outRefundNo}).
type RefundInfo struct {
	MchID          string     `json:"mchid"`
	OutTradeNo     string     `json:"outTradeNo"`
	OutRefundNo    string     `json:"outRefundNo"`
	RefundID       string     `json:"refundId"`
	Amount         int64      `json:"amount"`
	Status         string     `json:"status"`
	Reason         string     `json:"reason,omitempty"`
	NotifyURL      string     `json:"notifyUrl,omitempty"`
	CreateTime     string     `json:"createTime"`
	SuccessTime    string     `json:"successTime,omitempty"`
	NotificationID string     `json:"notificationId,omitempty"`
	Deliveries     []Delivery `json:"deliveries"`
}

// OrdersResponse lists the orders (GET /_emu/pay/orders).
type OrdersResponse struct {
	Orders []OrderInfo `json:"orders"`
}

// PlantsResponse lists the discrepancies planted in a day's bill.
type PlantsResponse struct {
	Plants []BillPlant `json:"plants"`
}

// ShippingUpload is one accepted /wxa/sec/order/upload_shipping_info call.
type ShippingUpload struct {
	AppID          string         `json:"appid"`
	MchID          string         `json:"mchid"`
	OutTradeNo     string         `json:"outTradeNo"`
	TransactionID  string         `json:"transactionId"`
	LogisticsType  int            `json:"logisticsType"`
	DeliveryMode   int            `json:"deliveryMode"`
	IsAllDelivered bool           `json:"isAllDelivered"`
	Items          []ShippingItem `json:"items"`
	UploadTime     string         `json:"uploadTime"`
	PayerOpenID    string         `json:"payerOpenid"`
	ReceivedAt     string         `json:"receivedAt"`
	// Body is the request body exactly as received.
	Body json.RawMessage `json:"body"`
}

// ShippingItem is one parcel of a shipping upload.
type ShippingItem struct {
	TrackingNo       string `json:"trackingNo,omitempty"`
	ExpressCompany   string `json:"expressCompany,omitempty"`
	ItemDesc         string `json:"itemDesc"`
	ConsignorContact string `json:"consignorContact,omitempty"`
	ReceiverContact  string `json:"receiverContact,omitempty"`
}
