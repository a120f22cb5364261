package emulator

import (
	"context"
	"net/http"
	"sort"
	"time"
)

// payEndpoints are the WeChat Pay control endpoints, as GET /_emu/ lists them.
var payEndpoints = []string{
	"GET " + PayPrefix + "/keys?mchid=",
	"GET " + PayPrefix + "/orders",
	"GET " + PayPrefix + "/orders/{outTradeNo}?mchid=",
	"POST " + PayPrefix + "/orders/{outTradeNo}/pay {mchid?, deliver?, payerTotal?, bankType?, evenIfClosed?}",
	"POST " + PayPrefix + "/orders/{outTradeNo}/notify {mchid?, newId?, patch?, tamper?, staleSeconds?, probe?, serialOverride?, mode?, url?}",
	"GET " + PayPrefix + "/refunds/{outRefundNo}?mchid=",
	"POST " + PayPrefix + "/refunds/{outRefundNo}/settle {status: SUCCESS|ABNORMAL|CLOSED, mchid?, deliver?, userReceivedAccount?}",
	"POST " + PayPrefix + "/refunds/{outRefundNo}/notify {same options as orders/…/notify}",
	"GET " + PayPrefix + "/bills/{YYYY-MM-DD}?type=ALL|SUCCESS|REFUND&mchid=",
	"GET|POST|DELETE " + PayPrefix + "/bills/{YYYY-MM-DD}/plant {kind, outTradeNo?, outRefundNo?, amount?, transactionId?, refundId?, mchid?}",
	"GET|DELETE " + PayPrefix + "/calls",
}

// payControlRoutes registers the WeChat Pay control endpoints. They live under the pay host's
// prefix beside the /v3/ API paths, which they never collide with; the more specific patterns win
// over the host's catch-all.
func (e *Emulator) payControlRoutes() {
	e.control(PayPrefix+"/keys", e.getPayKeys)
	e.control(PayPrefix+"/orders", e.getOrders)
	e.control(PayPrefix+"/orders/{no}", e.getOrder)
	e.control(PayPrefix+"/orders/{no}/pay", e.postPay)
	e.control(PayPrefix+"/orders/{no}/notify", e.postRenotify)
	e.control(PayPrefix+"/refunds/{no}", e.getRefund)
	e.control(PayPrefix+"/refunds/{no}/settle", e.postSettle)
	e.control(PayPrefix+"/refunds/{no}/notify", e.postRenotifyRefund)
	e.control(PayPrefix+"/bills/{date}", e.getBill)
	e.control(PayPrefix+"/bills/{date}/plant", e.billPlants)
	e.control(PayPrefix+"/calls", e.hostCalls(PayPrefix))
}

// act serves a POST control endpoint whose request decodes into Req and names a resource in the
// path; it answers 200 (the action happened; nothing new is addressable).
func act[Req, Resp any](w http.ResponseWriter, r *http.Request, f func(context.Context, string, Req) (Resp, error)) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	var req Req
	if err := decodeControl(w, r, &req, true); err != nil {
		writeControlError(w, err)
		return
	}
	resp, err := f(r.Context(), r.PathValue("no"), req)
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeControl(w, http.StatusOK, resp)
}

// get serves a GET control endpoint.
func get[Resp any](w http.ResponseWriter, r *http.Request, f func() (Resp, error)) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	resp, err := f()
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeControl(w, http.StatusOK, resp)
}

func (e *Emulator) postPay(w http.ResponseWriter, r *http.Request) { act(w, r, e.PayOrder) }

func (e *Emulator) postRenotify(w http.ResponseWriter, r *http.Request) { act(w, r, e.Renotify) }

func (e *Emulator) postSettle(w http.ResponseWriter, r *http.Request) { act(w, r, e.SettleRefund) }

func (e *Emulator) postRenotifyRefund(w http.ResponseWriter, r *http.Request) {
	act(w, r, e.RenotifyRefund)
}

func (e *Emulator) getPayKeys(w http.ResponseWriter, r *http.Request) {
	get(w, r, func() (PayKeysResponse, error) { return e.PayKeys(r.URL.Query().Get("mchid")) })
}

func (e *Emulator) getOrders(w http.ResponseWriter, r *http.Request) {
	get(w, r, func() (OrdersResponse, error) { return OrdersResponse{Orders: e.Orders()}, nil })
}

func (e *Emulator) getOrder(w http.ResponseWriter, r *http.Request) {
	get(w, r, func() (OrderInfo, error) { return e.Order(r.URL.Query().Get("mchid"), r.PathValue("no")) })
}

func (e *Emulator) getRefund(w http.ResponseWriter, r *http.Request) {
	get(w, r, func() (RefundInfo, error) { return e.Refund(r.URL.Query().Get("mchid"), r.PathValue("no")) })
}

// getBill is GET /_emu/pay/bills/{date}: the bill file as the API would issue it now, for a
// developer with curl.
func (e *Emulator) getBill(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	q := r.URL.Query()
	data, err := e.TradeBill(q.Get("mchid"), r.PathValue("date"), q.Get("type"))
	if err != nil {
		writeControlError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	_, _ = w.Write(data)
}

// billPlants is /_emu/pay/bills/{date}/plant: POST plants one discrepancy, GET lists them, DELETE
// clears them.
func (e *Emulator) billPlants(w http.ResponseWriter, r *http.Request) {
	date, mchid := r.PathValue("date"), r.URL.Query().Get("mchid")
	switch r.Method {
	case http.MethodPost:
		var p BillPlant
		if err := decodeControl(w, r, &p, false); err != nil {
			writeControlError(w, err)
			return
		}
		if _, err := e.PlantBill(date, p); err != nil {
			writeControlError(w, err)
			return
		}
		writeControl(w, http.StatusCreated, PlantsResponse{Plants: e.BillPlants(p.MchID, date)})
	case http.MethodGet:
		writeControl(w, http.StatusOK, PlantsResponse{Plants: e.BillPlants(mchid, date)})
	case http.MethodDelete:
		e.ClearBillPlants(mchid, date)
		writeControl(w, http.StatusOK, PlantsResponse{Plants: []BillPlant{}})
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPost, http.MethodDelete)
	}
}

// PayKeys returns the key material of WeChat Pay and of the merchant (mchid empty: the default
// merchant); see PayKeysResponse.
func (e *Emulator) PayKeys(mchid string) (PayKeysResponse, error) {
	mchid, cerr := e.merchantID(mchid)
	if cerr != nil {
		return PayKeysResponse{}, cerr
	}
	m := e.payCfg.merchants[mchid]
	p := e.payCfg.platform()
	priv, err := pemPrivateKey(p.key)
	if err != nil {
		return PayKeysResponse{}, err
	}
	pub, err := pemPublicKey(&p.key.PublicKey)
	if err != nil {
		return PayKeysResponse{}, err
	}
	mpub, err := pemPublicKey(m.PublicKey)
	if err != nil {
		return PayKeysResponse{}, err
	}
	return PayKeysResponse{
		MchID: m.MchID, AppIDs: append([]string{}, m.AppIDs...), Mode: e.payCfg.mode,
		PlatformPrivateKey: priv, PublicKeyID: p.keyID, PlatformPublicKey: pub,
		PlatformCertificate: p.certPEM, PlatformCertSerial: p.certSerial,
		MerchantPublicKey: mpub, MerchantCertSerial: m.CertSerial, APIv3Key: m.APIv3Key,
	}, nil
}

// Order returns the emulator's view of an order (mchid empty: whichever merchant has it).
func (e *Emulator) Order(mchid, outTradeNo string) (OrderInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, cerr := e.pay.findOrder(mchid, outTradeNo)
	if cerr != nil {
		return OrderInfo{}, cerr
	}
	return o.info(e.now()), nil
}

// Orders lists every order, oldest first.
func (e *Emulator) Orders() []OrderInfo {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	list := make([]*payOrder, 0, len(e.pay.orders))
	for _, o := range e.pay.orders {
		list = append(list, o)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].createdAt.Equal(list[j].createdAt) {
			return list[i].createdAt.Before(list[j].createdAt)
		}
		return list[i].outTradeNo < list[j].outTradeNo
	})
	out := make([]OrderInfo, 0, len(list))
	for _, o := range list {
		out = append(out, o.info(now))
	}
	return out
}

// Refund returns the emulator's view of a refund (mchid empty: whichever merchant has it).
func (e *Emulator) Refund(mchid, outRefundNo string) (RefundInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, cerr := e.pay.findRefund(mchid, outRefundNo)
	if cerr != nil {
		return RefundInfo{}, cerr
	}
	return r.info(), nil
}

// info renders the order for the control API. Expects Emulator.mu held.
func (o *payOrder) info(now time.Time) OrderInfo {
	out := OrderInfo{
		MchID: o.mchid, AppID: o.appid, OutTradeNo: o.outTradeNo, Description: o.description, Attach: o.attach,
		NotifyURL: o.notifyURL, OpenID: o.openid, Total: o.total, TradeState: o.state(now), PrepayID: o.prepayID,
		CreateTime: rfc3339(o.createdAt), ExpireTime: rfc3339(o.expireAt), TransactionID: o.transactionID,
		BankType: o.bankType, PayerTotal: o.payerTotal, Refunded: o.refunded(), Committed: o.committed(),
		Refunds: []RefundInfo{}, Deliveries: append([]Delivery{}, o.deliveries...),
		Shipping: append([]ShippingUpload{}, o.shipping...),
	}
	if o.paid() {
		out.SuccessTime = rfc3339(o.successTime)
	}
	if o.note != nil {
		out.NotificationID = o.note.id
	}
	for _, r := range o.refunds {
		out.Refunds = append(out.Refunds, r.info())
	}
	return out
}

// info renders the refund for the control API. Expects Emulator.mu held.
func (r *payRefund) info() RefundInfo {
	out := RefundInfo{
		MchID: r.mchid, OutTradeNo: r.order.outTradeNo, OutRefundNo: r.outRefundNo, RefundID: r.refundID,
		Amount: r.amount, Status: r.status, Reason: r.reason, NotifyURL: r.notifyURL, CreateTime: rfc3339(r.createdAt),
		Deliveries: append([]Delivery{}, r.deliveries...),
	}
	if r.status == refundSuccess {
		out.SuccessTime = rfc3339(r.successTime)
	}
	if r.note != nil {
		out.NotificationID = r.note.id
	}
	return out
}
