package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// storedNote is a notification as WeChat Pay first built it. Re-deliveries send the same body
// (same id, same ciphertext) with a fresh timestamp, nonce and signature, as WeChat Pay does.
// Immutable once built, so it is signed and sent without holding Emulator.mu.
type storedNote struct {
	mchid, url             string
	apiV3Key               string
	id, eventType, summary string
	originalType           string // also the associated data: "transaction" or "refund"
	createTime             time.Time
	plain                  []byte // the decrypted resource
	body                   []byte // the envelope
}

// newNote encrypts plain for the merchant and builds the envelope.
func newNote(m *Merchant, url, eventType, summary, originalType string, plain []byte, now time.Time) (*storedNote, error) {
	n := &storedNote{mchid: m.MchID, url: url, apiV3Key: m.APIv3Key, id: newNotificationID(), eventType: eventType,
		summary: summary, originalType: originalType, createTime: now, plain: plain}
	body, err := n.envelope(n.id, n.createTime, plain)
	if err != nil {
		return nil, err
	}
	n.body = body
	return n, nil
}

// envelope encrypts plain under a fresh 12-character nonce and wraps it as WeChat Pay does.
func (n *storedNote) envelope(id string, created time.Time, plain []byte) ([]byte, error) {
	nonce := randomString(alnum, 12)
	ct, err := sealAESGCM(n.apiV3Key, nonce, n.originalType, plain)
	if err != nil {
		return nil, fmt.Errorf("encrypt notification: %w", err)
	}
	return marshalPay(notification{
		ID: id, CreateTime: rfc3339(created), ResourceType: "encrypt-resource", EventType: n.eventType, Summary: n.summary,
		Resource: encryptedResource{OriginalType: n.originalType, Algorithm: "AEAD_AES_256_GCM", Ciphertext: ct,
			AssociatedData: n.originalType, Nonce: nonce},
	}), nil
}

// variant describes the options for logs and delivery records ("" for a faithful re-send).
func (o NotifyOptions) variant() string {
	var parts []string
	if o.NewID {
		parts = append(parts, "newId")
	}
	if len(o.Patch) > 0 {
		parts = append(parts, "patch")
	}
	if o.Tamper {
		parts = append(parts, "tamper")
	}
	if o.StaleSeconds != 0 {
		parts = append(parts, "stale="+strconv.FormatInt(o.StaleSeconds, 10)+"s")
	}
	if o.Probe {
		parts = append(parts, "probe")
	}
	if o.SerialOverride != "" {
		parts = append(parts, "serial="+o.SerialOverride)
	}
	if o.Mode != "" {
		parts = append(parts, "mode="+o.Mode)
	}
	return strings.Join(parts, ",")
}

func (o NotifyOptions) check() *ControlError {
	switch {
	case o.Mode != "" && o.Mode != PayModePublicKey && o.Mode != PayModeCert:
		return badRequest("mode must be " + PayModePublicKey + " or " + PayModeCert)
	case len(o.Patch) > 0 && !json.Valid(o.Patch):
		return badRequest("patch must be a JSON object (a merge patch)")
	case len(o.Patch) > 0 && bytes.TrimSpace(o.Patch)[0] != '{':
		return badRequest("patch must be a JSON object (a merge patch)")
	case o.URL != "" && checkNotifyURL("url", o.URL) != nil:
		return badRequest("url must be an absolute http(s) URL without a query")
	}
	return nil
}

// PayNotification is a signed notification ready to send: POST Body to URL with Header. It is a
// value, so a test can send the same notification many times at once (NewRequest builds a fresh
// *http.Request each time).
type PayNotification struct {
	URL       string
	Header    http.Header
	Body      []byte
	ID        string
	EventType string
	// Plaintext is the decrypted resource the body carries.
	Plaintext []byte
}

// NewRequest builds the POST request that delivers the notification.
func (n PayNotification) NewRequest(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(n.Body))
	if err != nil {
		return nil, fmt.Errorf("notification request: %w", err)
	}
	req.Header = n.Header.Clone()
	return req, nil
}

// sign builds one delivery of the stored notification, shaped by opts.
func (e *Emulator) sign(n *storedNote, opts NotifyOptions, now time.Time) (PayNotification, error) {
	body, plain, id := n.body, n.plain, n.id
	if len(opts.Patch) > 0 {
		var err error
		if plain, err = mergePatch(n.plain, opts.Patch); err != nil {
			return PayNotification{}, err
		}
	}
	if opts.NewID {
		id = newNotificationID()
	}
	created := n.createTime
	if opts.NewID {
		created = now
	}
	if opts.NewID || (len(opts.Patch) > 0 && !opts.Tamper) {
		var err error
		if body, err = n.envelope(id, created, plain); err != nil {
			return PayNotification{}, err
		}
	}
	p := e.payCfg.platform()
	how := e.payCfg.defaultSigner()
	switch opts.Mode {
	case PayModePublicKey:
		how = signPublicKey
	case PayModeCert:
		how = signCert
	}
	ts := strconv.FormatInt(now.Unix()-opts.StaleSeconds, 10)
	nonce := randomString("0123456789ABCDEF", 32)
	sig := signMessage(p.key, responseMessage(ts, nonce, body))
	if opts.Probe {
		sig = "WECHATPAY/SIGNTEST/" + randomString(alnum, 64)
	}
	serial := p.serial(how)
	if opts.SerialOverride != "" {
		serial = opts.SerialOverride
	}
	if opts.Tamper {
		// The signature above covers body; what travels is the same content re-encrypted.
		var err error
		if body, err = n.envelope(id, created, plain); err != nil {
			return PayNotification{}, err
		}
	}
	url := n.url
	if opts.URL != "" {
		url = opts.URL
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Mozilla/4.0")
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	h.Set("Request-ID", newRequestID(0))
	return PayNotification{URL: url, Header: h, Body: body, ID: id, EventType: n.eventType, Plaintext: plain}, nil
}

// mergePatch applies an RFC 7386 JSON merge patch to the JSON object doc.
func mergePatch(doc, patch []byte) ([]byte, error) {
	decode := func(b []byte) (any, error) {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber() // keep integers (fen) exact
		var v any
		err := d.Decode(&v)
		return v, err
	}
	target, err := decode(doc)
	if err != nil {
		return nil, fmt.Errorf("merge patch: document: %w", err)
	}
	p, err := decode(patch)
	if err != nil {
		return nil, fmt.Errorf("merge patch: patch: %w", err)
	}
	return marshalPay(merge(target, p)), nil
}

func merge(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = merge(tm[k], v)
	}
	return tm
}

// deliver POSTs n and reports the merchant's answer. WeChat Pay would retry a failed delivery on
// its 15 s … 6 h schedule; the emulator does not retry on its own, so that tests decide when a
// re-delivery happens (Renotify).
func (e *Emulator) deliver(ctx context.Context, n PayNotification, variant string) Delivery {
	d := Delivery{NotificationID: n.ID, EventType: n.EventType, URL: n.URL, At: rfc3339(e.now()), Variant: variant}
	req, err := n.NewRequest(ctx)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	resp, err := e.payCfg.client.Do(req)
	if err != nil {
		d.Error = err.Error()
		e.log.Info("emulator: notification not delivered", "id", n.ID, "event", n.EventType, "err", err)
		return d
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	d.Status = resp.StatusCode
	d.Delivered = resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent
	e.log.Info("emulator: notification sent", "id", n.ID, "event", n.EventType, "variant", variant, "status", d.Status)
	return d
}

var bankTypePattern = regexp.MustCompile(`^[A-Z0-9_]{1,32}$`)

// PayOrder acts as the payer: it marks the order paid (a 28-digit transaction id, success_time
// now) and, unless req.Deliver is false, delivers a signed, encrypted TRANSACTION.SUCCESS to the
// order's notify_url. It fails with a *ControlError, changing nothing, for an unknown order, one
// already paid, or one closed (unless EvenIfClosed).
func (e *Emulator) PayOrder(ctx context.Context, outTradeNo string, req PayRequest) (PayResponse, error) {
	bank := req.BankType
	if bank == "" {
		bank = "OTHERS"
	}
	if !bankTypePattern.MatchString(bank) {
		return PayResponse{}, badRequest("bankType must be an upper-case bank code such as OTHERS or CMB_CREDIT")
	}
	now := e.now()
	e.mu.Lock()
	o, cerr := e.pay.findOrder(req.MchID, outTradeNo)
	if cerr != nil {
		e.mu.Unlock()
		return PayResponse{}, cerr
	}
	switch o.state(now) {
	case tradeSuccess, tradeRefund:
		e.mu.Unlock()
		return PayResponse{}, &ControlError{Status: http.StatusConflict, Code: "already_paid",
			Message: "order " + outTradeNo + " is already paid; POST …/notify delivers its notification again"}
	case tradeClosed:
		if !req.EvenIfClosed {
			e.mu.Unlock()
			return PayResponse{}, &ControlError{Status: http.StatusConflict, Code: "order_closed",
				Message: "order " + outTradeNo + " is closed or expired; evenIfClosed pays it anyway"}
		}
	}
	payer := o.total
	if req.PayerTotal != nil {
		payer = *req.PayerTotal
	}
	if payer <= 0 || payer > o.total {
		e.mu.Unlock()
		return PayResponse{}, badRequest("payerTotal must be between 1 and the order total " + strconv.FormatInt(o.total, 10))
	}
	m := e.payCfg.merchants[o.mchid]
	prev := *o
	o.transactionID, o.bankType, o.payerTotal, o.successTime = newTransactionID(now), bank, payer, now
	plain := marshalPay(o.transaction(now))
	note, err := newNote(m, o.notifyURL, "TRANSACTION.SUCCESS", "支付成功", "transaction", plain, now)
	if err != nil {
		*o = prev
		e.mu.Unlock()
		return PayResponse{}, err
	}
	o.note = note
	e.pay.byTxn[o.transactionID] = o
	resp := PayResponse{TransactionID: o.transactionID, NotificationID: note.id}
	e.mu.Unlock()
	e.log.Info("emulator: pay order paid", "mchid", o.mchid, "out_trade_no", outTradeNo, "transaction_id", resp.TransactionID)

	if req.Deliver != nil && !*req.Deliver {
		return resp, nil
	}
	d, err := e.deliverNote(ctx, note, NotifyOptions{}, func(d Delivery) { o.deliveries = appendDelivery(o.deliveries, d) })
	if err != nil {
		return resp, err
	}
	resp.Delivered, resp.Status, resp.Error = d.Delivered, d.Status, d.Error
	return resp, nil
}

// deliverNote signs one delivery of n, sends it and records it with record (called under
// Emulator.mu).
func (e *Emulator) deliverNote(ctx context.Context, n *storedNote, opts NotifyOptions, record func(Delivery)) (Delivery, error) {
	pn, err := e.sign(n, opts, e.now())
	if err != nil {
		return Delivery{}, err
	}
	d := e.deliver(ctx, pn, opts.variant())
	e.mu.Lock()
	record(d)
	e.mu.Unlock()
	return d, nil
}

// paidNote returns the order's TRANSACTION.SUCCESS notification.
func (e *Emulator) paidNote(outTradeNo string, opts NotifyOptions) (*payOrder, *storedNote, error) {
	if cerr := opts.check(); cerr != nil {
		return nil, nil, cerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o, cerr := e.pay.findOrder(opts.MchID, outTradeNo)
	if cerr != nil {
		return nil, nil, cerr
	}
	if o.note == nil {
		return nil, nil, &ControlError{Status: http.StatusConflict, Code: "not_paid",
			Message: "order " + outTradeNo + " is not paid, so it has no notification; POST …/pay pays it"}
	}
	return o, o.note, nil
}

// Renotify delivers the order's TRANSACTION.SUCCESS again (see NotifyOptions for the variants) and
// reports the merchant's answer.
func (e *Emulator) Renotify(ctx context.Context, outTradeNo string, opts NotifyOptions) (Delivery, error) {
	o, n, err := e.paidNote(outTradeNo, opts)
	if err != nil {
		return Delivery{}, err
	}
	return e.deliverNote(ctx, n, opts, func(d Delivery) { o.deliveries = appendDelivery(o.deliveries, d) })
}

// NotificationFor returns the order's TRANSACTION.SUCCESS signed and ready to send, without
// sending it: to deliver one notification many times at once, or to keep as a sample. The
// timestamp is now, so it must be sent within five minutes.
func (e *Emulator) NotificationFor(outTradeNo string, opts NotifyOptions) (PayNotification, error) {
	_, n, err := e.paidNote(outTradeNo, opts)
	if err != nil {
		return PayNotification{}, err
	}
	return e.sign(n, opts, e.now())
}

var refundEvents = map[string][2]string{
	refundSuccess:  {"REFUND.SUCCESS", "退款成功"},
	refundAbnormal: {"REFUND.ABNORMAL", "退款异常"},
	refundClosed:   {"REFUND.CLOSED", "退款关闭"},
}

// SettleRefund moves a refund to its outcome and, unless req.Deliver is false, delivers
// REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED to the refund's notify_url (else the merchant's
// RefundNotifyURL, else the order's notify_url). A CLOSED refund gives its amount back to the
// order's refundable remainder. It fails with a *ControlError, changing nothing, for an unknown
// refund, an invalid status or a final refund.
func (e *Emulator) SettleRefund(ctx context.Context, outRefundNo string, req SettleRequest) (SettleResponse, error) {
	ev, ok := refundEvents[req.Status]
	if !ok {
		return SettleResponse{}, badRequest("status must be SUCCESS, ABNORMAL or CLOSED")
	}
	if utf8.RuneCountInString(req.UserReceivedAccount) > 64 {
		return SettleResponse{}, badRequest("userReceivedAccount is at most 64 characters")
	}
	now := e.now()
	e.mu.Lock()
	r, cerr := e.pay.findRefund(req.MchID, outRefundNo)
	if cerr != nil {
		e.mu.Unlock()
		return SettleResponse{}, cerr
	}
	if r.status == refundSuccess || r.status == refundClosed || r.status == req.Status {
		e.mu.Unlock()
		return SettleResponse{}, &ControlError{Status: http.StatusConflict, Code: "refund_settled",
			Message: "refund " + outRefundNo + " is " + r.status + "; it cannot become " + req.Status}
	}
	m := e.payCfg.merchants[r.mchid]
	prev := *r
	r.status = req.Status
	if req.Status == refundSuccess {
		r.successTime = now
	}
	if req.UserReceivedAccount != "" {
		r.account = req.UserReceivedAccount
	}
	url := r.notifyURL
	if url == "" {
		url = m.RefundNotifyURL
	}
	if url == "" {
		url = r.order.notifyURL
	}
	note, err := newNote(m, url, ev[0], ev[1], "refund", marshalPay(r.notice()), now)
	if err != nil {
		*r = prev
		e.mu.Unlock()
		return SettleResponse{}, err
	}
	r.note = note
	resp := SettleResponse{RefundID: r.refundID, RefundStatus: r.status, NotificationID: note.id}
	e.mu.Unlock()
	e.log.Info("emulator: refund settled", "mchid", r.mchid, "out_refund_no", outRefundNo, "status", req.Status)

	if req.Deliver != nil && !*req.Deliver {
		return resp, nil
	}
	d, err := e.deliverNote(ctx, note, NotifyOptions{}, func(d Delivery) { r.deliveries = appendDelivery(r.deliveries, d) })
	if err != nil {
		return resp, err
	}
	resp.Delivered, resp.Status, resp.Error = d.Delivered, d.Status, d.Error
	return resp, nil
}

// refundNote returns the refund's latest REFUND.* notification.
func (e *Emulator) refundNote(outRefundNo string, opts NotifyOptions) (*payRefund, *storedNote, error) {
	if cerr := opts.check(); cerr != nil {
		return nil, nil, cerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	r, cerr := e.pay.findRefund(opts.MchID, outRefundNo)
	if cerr != nil {
		return nil, nil, cerr
	}
	if r.note == nil {
		return nil, nil, &ControlError{Status: http.StatusConflict, Code: "not_settled",
			Message: "refund " + outRefundNo + " is still PROCESSING, so it has no notification; POST …/settle settles it"}
	}
	return r, r.note, nil
}

// RenotifyRefund delivers the refund's latest notification again (see NotifyOptions).
func (e *Emulator) RenotifyRefund(ctx context.Context, outRefundNo string, opts NotifyOptions) (Delivery, error) {
	r, n, err := e.refundNote(outRefundNo, opts)
	if err != nil {
		return Delivery{}, err
	}
	return e.deliverNote(ctx, n, opts, func(d Delivery) { r.deliveries = appendDelivery(r.deliveries, d) })
}

// RefundNotificationFor is NotificationFor for the refund's latest notification.
func (e *Emulator) RefundNotificationFor(outRefundNo string, opts NotifyOptions) (PayNotification, error) {
	_, n, err := e.refundNote(outRefundNo, opts)
	if err != nil {
		return PayNotification{}, err
	}
	return e.sign(n, opts, e.now())
}
