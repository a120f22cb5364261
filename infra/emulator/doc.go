// Package emulator is a faithful, in-memory stand-in for the WeChat hosts wxfn's functions call,
// so that the whole stack runs and is tested offline. It speaks the real request and response
// formats, answers business errors as WeChat does (HTTP 200, {"errcode","errmsg"} with a
// " rid: …" suffix), keeps the real lifetimes (tokens 7200 s with a 5-minute grace after rotation,
// single-use codes valid 5 minutes) and uses the real cryptography, so the unchanged
// silenceper/wechat SDK and hand-written clients work against it.
//
// One Emulator is one http.Handler for every path under /_emu/ (mount it there without stripping
// the prefix). Hosts:
//
//	/_emu/wx/...    api.weixin.qq.com       (WX_API_BASE=http://HOST/_emu/wx)
//	/_emu/pay/...   api.mch.weixin.qq.com   (WXPAY_API_BASE=http://HOST/_emu/pay)
//
// Emulated api.weixin.qq.com APIs: GET /cgi-bin/token, POST /cgi-bin/stable_token,
// GET /sns/jscode2session, POST /wxa/business/getuserphonenumber, GET /wxa/checksession,
// POST /wxa/sec/order/upload_shipping_info (shipping information of a payment made at the
// emulated WeChat Pay: by mchid+out_trade_no or transaction_id, of the token's app, one re-upload,
// 10060001 for an unknown or unpaid payment).
// Semantics follow the platform: every /cgi-bin/token call issues a new token and leaves the
// previous one 5 minutes; /cgi-bin/stable_token returns the same token (expires_in = time left)
// until 5 minutes before expiry, and force_refresh (at most every 30 s, 20 a day) replaces it and
// kills the old one at once; a wx.login or phone code is single-use, valid 5 minutes, for its own
// app only (40029 otherwise); a new login code rotates the user's session_key; APIs that take
// access_token answer 41001 (missing), 40001 (unknown or superseded) or 42001 (expired).
//
// WeChat Pay APIv3 (Config.Pay registers the merchants; reference wechatpay-v3.md): POST
// /v3/pay/transactions/jsapi, GET /v3/pay/transactions/out-trade-no/{no}?mchid= and
// /v3/pay/transactions/id/{transaction_id}?mchid=, POST /v3/pay/transactions/out-trade-no/{no}/close,
// POST /v3/refund/domestic/refunds, GET /v3/refund/domestic/refunds/{out_refund_no}, GET
// /v3/bill/tradebill, GET /v3/billdownload/file, GET /v3/certificates. Every request must carry
// the merchant's WECHATPAY2-SHA256-RSA2048 Authorization over METHOD, the URL as signed (/v3/…; the
// emulator strips its own prefix), timestamp (±5 minutes of the emulator's clock), nonce and the raw
// body: 401 SIGN_ERROR otherwise. Every answer is signed with the platform key (Wechatpay-* headers
// over the exact bytes, 204 included): with the public key when the request's Wechatpay-Serial is
// the public key id, with the platform certificate when it is the certificate serial, otherwise as
// PayConfig.Mode says, which also decides notifications. Errors are {"code","message"} with WeChat
// Pay's statuses (PARAM_ERROR, INVALID_REQUEST for a re-entry with other parameters or a refund
// beyond what is left, APPID_MCHID_NOT_MATCH, ORDER_CLOSED, ORDERPAID, ORDER_NOT_EXIST,
// RESOURCE_NOT_EXISTS, NO_STATEMENT_EXIST…); faults add SYSTEM_ERROR, FREQUENCY_LIMITED, NOT_ENOUGH,
// STATEMENT_CREATING. Refunds start PROCESSING and are settled through the control API. Trade bills
// are built from the emulator's own payments and refunds of the Beijing day, in the real file
// layout, for any day of the last three months including today; the download_url points at
// https://api.mch.weixin.qq.com like the real one (PayConfig.DownloadBase changes that), so a
// client that redirects WeChat Pay calls to the emulator redirects it too. Times in answers, in
// signatures and in bills come from Config.Now: the SDK checks signature timestamps against the
// wall clock, so keep a fake clock within five minutes of it when verifying with the SDK.
//
// Notifications (TRANSACTION.SUCCESS, REFUND.SUCCESS/ABNORMAL/CLOSED) are POSTed to the notify_url
// (loopback http allowed) with PayConfig.Client, signed and encrypted (AEAD_AES_256_GCM under the
// merchant's APIv3 key) as WeChat Pay sends them. WeChat Pay retries a delivery that was not
// answered 200/204 on a 15 s … 6 h schedule; the emulator does not retry on its own, so that a
// test decides when a re-delivery happens: POST …/notify re-sends the same notification (same id,
// fresh timestamp, nonce and signature) or a bad variant (probe, stale, tampered, wrong serial,
// other key, patched content).
//
// The control API (JSON; errors as {"error":{"code","message"}} with a 4xx) lets a developer or a
// test act as WeChat:
//
//	POST   /_emu/wx/codes        {appid?, openid?, unionid?, sessionKey?} → {code, openid, unionid, sessionKey, …}
//	POST   /_emu/wx/phone-codes  {phoneNumber, countryCode?, appid?}      → {code, phoneNumber, purePhoneNumber, countryCode, …}
//	POST   /_emu/wx/encrypt      {openid, data, appid?, watermarkAppid?, timestamp?} → {encryptedData, iv}
//	GET    /_emu/wx/calls        calls per api.weixin.qq.com path (DELETE zeroes the counts)
//	POST   /_emu/faults          {path, count?, errcode?, code?, httpStatus?, errmsg?}: fail the next count calls to path
//	GET    /_emu/faults          pending faults; DELETE clears them
//	GET    /_emu/calls           calls per full path, every host
//	POST   /_emu/reset           forget every token, code, user, order, refund, plant, fault and count
//	GET    /_emu/                this list and the registered appids and merchants
//
//	GET    /_emu/pay/keys?mchid= platform private key and public key (PEM), public key id, platform
//	                             certificate and serial, the merchant's public key and APIv3 key
//	GET    /_emu/pay/orders      every order; GET /_emu/pay/orders/{outTradeNo} one, with its refunds,
//	                             notification deliveries and shipping uploads
//	POST   /_emu/pay/orders/{outTradeNo}/pay     {deliver?, payerTotal?, bankType?, evenIfClosed?}
//	                             → {transactionId, notificationId, delivered, status}
//	POST   /_emu/pay/orders/{outTradeNo}/notify  {newId?, patch?, tamper?, staleSeconds?, probe?,
//	                             serialOverride?, mode?, url?} → the delivery
//	GET    /_emu/pay/refunds/{outRefundNo}
//	POST   /_emu/pay/refunds/{outRefundNo}/settle {status: SUCCESS|ABNORMAL|CLOSED} → the delivery
//	POST   /_emu/pay/refunds/{outRefundNo}/notify (options as for orders)
//	GET    /_emu/pay/bills/{YYYY-MM-DD}?type=    the bill file as the API would issue it now
//	POST   /_emu/pay/bills/{YYYY-MM-DD}/plant    {kind: extra_payment|amount|missing|extra_refund|
//	                             refund_amount|missing_refund, outTradeNo?, outRefundNo?, amount?}
//	                             (GET lists, DELETE clears)
//	GET    /_emu/pay/calls       calls per WeChat Pay path
//
// Control calls that name an order or refund take an optional mchid (body or ?mchid=) when
// several merchants use the same number.
//
// For example, against `make dev`:
//
//	curl -s -XPOST localhost:8080/_emu/wx/codes
//	curl -s -XPOST localhost:8080/_emu/faults -d '{"path":"/sns/jscode2session","errcode":-1,"count":2}'
//	curl -s -XPOST localhost:8080/_emu/pay/orders/ORD20240501A/pay
//	curl -s -XPOST localhost:8080/_emu/faults -d '{"path":"/v3/refund/domestic/refunds","code":"NOT_ENOUGH"}'
//
// Tests in Go can use the same operations directly: MintCode, MintPhoneCode, Encrypt,
// InjectFault, Calls, Reset; for WeChat Pay GenerateMerchant, PayKeys, PlatformPublicKey,
// PublicKeyID, PlatformCertificate, PayOrder, Renotify, NotificationFor (a signed notification
// not yet sent, to deliver it many times at once), SettleRefund, RenotifyRefund,
// RefundNotificationFor, Order, Orders, Refund, TradeBill, PlantBill, BillPlants, ClearBillPlants
// and ShippingUploads.
package emulator
