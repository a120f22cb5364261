// Package payorder is the mini-program's side of WeChat Pay: it prices an order from the
// products collection (never from the client), records it, places the JSAPI prepay and hands
// back the wx.requestPayment parameters. The owner can read an order (an order still unpaid after
// a short while is checked with WeChat Pay, which repairs a missed notification) and close it;
// an admin uploads the shipping of physical goods.
package payorder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/deps/paydeps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/wechat"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// New builds the payorder function over an environment. Nothing is read or connected until the
// first request.
func New(lookup config.Lookup) fn.Function {
	return NewWithDeps(deps.New(lookup))
}

// NewWithDeps builds the payorder function over existing dependencies (tests and the local
// gateway share them).
func NewWithDeps(d *deps.Deps) fn.Function {
	return newFunction(d, time.Now)
}

func newFunction(d *deps.Deps, now func() time.Time) fn.Function {
	h := &handler{deps: d, now: now}
	return fn.Function{
		Spec: Spec,
		HTTP: fn.NewRouter(d.Authenticator(),
			fn.Route{Method: http.MethodPost, Pattern: "/", Access: fn.User, Handle: h.create},
			fn.Route{Method: http.MethodGet, Pattern: "/{outTradeNo}", Access: fn.User, Handle: h.get},
			fn.Route{Method: http.MethodPost, Pattern: "/{outTradeNo}/close", Access: fn.User, Handle: h.close},
			fn.Route{Method: http.MethodPost, Pattern: "/{outTradeNo}/ship", Access: fn.Admin, Handle: h.ship},
		),
	}
}

type handler struct {
	deps *deps.Deps
	now  func() time.Time
}

// prepayLifetime is how long a prepay_id is trusted: WeChat Pay keeps it 2 hours (reference
// §3.1); a margin keeps a client from starting a payment with one about to expire.
const prepayLifetime = 2*time.Hour - 10*time.Minute

// maxQty bounds one line's quantity.
const maxQty = 99

// books opens the payment books and the pay client, the two things every route needs.
func (h *handler) books(ctx context.Context) (*orders.Store, *wxpay.Client, error) {
	pay, err := paydeps.Client(ctx, h.deps)
	if err != nil {
		return nil, nil, err
	}
	db, err := h.deps.DB(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := orders.Open(ctx, db)
	if err != nil {
		return nil, nil, storeError(err)
	}
	return s, pay, nil
}

func (h *handler) create(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	cfg, err := loadSettings(h.deps.Lookup())
	if err != nil {
		return nil, deps.Misconfigured(err)
	}
	var body createRequest
	if err := fn.DecodeJSON(req, &body); err != nil {
		return nil, err
	}
	lines, err := validItems(body.Items, cfg.maxItems)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(body.Attach) > 128 || !utf8.ValidString(body.Attach) {
		return nil, fn.BadRequest("invalid_attach", "attach must be at most 128 characters")
	}
	key := req.Header.Get("Idempotency-Key")
	if !validKey(key) {
		return nil, fn.BadRequest("invalid_idempotency_key", "Idempotency-Key must be 1–64 characters of [A-Za-z0-9_.:-]")
	}
	openid := req.Principal.OpenID
	store, pay, err := h.books(ctx)
	if err != nil {
		return nil, err
	}

	catalogue, err := store.Products(ctx, skusOf(lines))
	if err != nil {
		return nil, storeError(err)
	}
	var items []orders.Item
	var total int64
	for _, l := range lines {
		p, ok := catalogue[l.SKU]
		if !ok {
			return nil, fn.BadRequest("unknown_sku", "there is no product %q", l.SKU)
		}
		if !p.Active {
			return nil, fn.BadRequest("inactive_sku", "product %q is not for sale", l.SKU)
		}
		items = append(items, orders.Item{SKU: p.SKU, Name: p.Name, Price: p.Price, Qty: l.Qty, Kind: p.Kind})
		total += p.Price * l.Qty
	}
	if total > cfg.maxTotal {
		return nil, fn.BadRequest("total_too_large", "the order comes to %d fen, more than the limit of %d", total, cfg.maxTotal)
	}

	now := h.now()
	o, created, err := store.Create(ctx, orders.Order{
		OutTradeNo:     orders.NewOutTradeNo(now),
		OpenID:         openid,
		Items:          items,
		Amount:         total,
		Description:    orders.Summary(items, 127),
		Attach:         body.Attach,
		TimeExpire:     now.Add(cfg.expire).Truncate(time.Second),
		IdempotencyKey: key,
		RequestHash:    requestHash(lines, body.Attach),
	}, now)
	switch {
	case errors.Is(err, orders.ErrConflict):
		return nil, &fn.Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused",
			Message: "this Idempotency-Key was used for a different order", Cause: err}
	case err != nil:
		return nil, storeError(err)
	}
	if created {
		slog.InfoContext(ctx, "order created", "outTradeNo", o.OutTradeNo, "amount", o.Amount, "items", len(o.Items))
	}
	o, err = h.ensurePrepay(ctx, store, pay, o)
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	resp := fn.JSON(status, viewOf(o))
	if !created {
		resp.Status = http.StatusOK
		resp.Header.Set("Idempotent-Replayed", "true")
	}
	return resp, nil
}

// ensurePrepay gives a CREATED order a valid prepay: the stored one while it lasts, otherwise a
// new prepay call with exactly the order's parameters (WeChat Pay answers a re-entry with the
// same parameters with a prepay_id; different ones are refused).
func (h *handler) ensurePrepay(ctx context.Context, store *orders.Store, pay *wxpay.Client, o orders.Order) (orders.Order, error) {
	now := h.now()
	if o.State != orders.StateCreated || (o.Payment != nil && now.Before(o.PrepayExpiresAt)) {
		return o, nil
	}
	p, err := pay.Prepay(ctx, wxpay.PrepayRequest{
		OutTradeNo: o.OutTradeNo, Description: o.Description, Total: o.Amount,
		OpenID: o.OpenID, Attach: o.Attach, TimeExpire: o.TimeExpire,
	})
	if err != nil {
		// Keep the order CREATED (a retry re-enters prepay with the same out_trade_no) and say why.
		if serr := store.SetPrepayError(context.WithoutCancel(ctx), o.OutTradeNo, prepayFailure(err), now); serr != nil {
			slog.WarnContext(ctx, "recording a prepay failure failed", "outTradeNo", o.OutTradeNo, "err", serr)
		}
		if wxpay.Code(err) == "ORDER_CLOSED" {
			if _, cerr := store.Close(ctx, o.OutTradeNo, "closed at WeChat Pay", now); cerr != nil && !errors.Is(cerr, orders.ErrState) {
				return o, storeError(cerr)
			}
			return o, &fn.Error{Status: http.StatusConflict, Code: "order_closed", Message: "the order is closed; place a new one", Cause: err}
		}
		return o, payError("prepay", err)
	}
	o, err = store.SetPrepay(ctx, o.OutTradeNo, p.PrepayID, now.Add(prepayLifetime), orders.Payment{
		TimeStamp: p.TimeStamp, NonceStr: p.NonceStr, Package: p.Package, SignType: p.SignType, PaySign: p.PaySign,
	}, now)
	if errors.Is(err, orders.ErrState) {
		// Paid or closed while we were at WeChat Pay: the order as it is now says so.
		return store.Get(ctx, o.OutTradeNo)
	}
	if err != nil {
		return o, storeError(err)
	}
	return o, nil
}

// validItems checks the lines and merges repeated skus, keeping the first-seen order.
func validItems(in []itemRequest, maxItems int) ([]itemRequest, error) {
	if len(in) == 0 {
		return nil, fn.BadRequest("no_items", "an order needs at least one item")
	}
	var out []itemRequest
	at := map[string]int{}
	for i, it := range in {
		if it.SKU == "" || len(it.SKU) > 32 {
			return nil, fn.BadRequest("invalid_sku", "items[%d].sku must be 1–32 characters", i)
		}
		if it.Qty < 1 || it.Qty > maxQty {
			return nil, fn.BadRequest("invalid_qty", "items[%d].qty must be from 1 to %d", i, maxQty)
		}
		if j, seen := at[it.SKU]; seen {
			out[j].Qty += it.Qty
			if out[j].Qty > maxQty {
				return nil, fn.BadRequest("invalid_qty", "the quantities of %q add up to more than %d", it.SKU, maxQty)
			}
			continue
		}
		at[it.SKU] = len(out)
		out = append(out, it)
	}
	if len(out) > maxItems {
		return nil, fn.BadRequest("too_many_items", "an order may have at most %d different products", maxItems)
	}
	return out, nil
}

func skusOf(lines []itemRequest) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.SKU
	}
	return out
}

// requestHash fingerprints what the client asked for, so that an Idempotency-Key reused for a
// different order is refused. Lines are sorted: the same basket in another order is the same.
func requestHash(lines []itemRequest, attach string) string {
	sorted := append([]itemRequest(nil), lines...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].SKU < sorted[j].SKU })
	h := sha256.New()
	for _, l := range sorted {
		fmt.Fprintf(h, "%s\x00%d\x00", l.SKU, l.Qty)
	}
	h.Write([]byte(attach))
	return hex.EncodeToString(h.Sum(nil))
}

func validKey(k string) bool {
	if k == "" {
		return true
	}
	if len(k) > 64 {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// storeError is deps.DBError, named for the many call sites here.
func storeError(err error) error { return deps.DBError(err) }

// payError maps a WeChat Pay failure: retryable ones are a 503 the client may retry (with the
// same Idempotency-Key), anything else a 502 (a configuration or WeChat-side refusal).
func payError(op string, err error) error {
	var fe *fn.Error
	if errors.As(err, &fe) {
		return err
	}
	if wxpay.IsRetryable(err) {
		return fn.Unavailable("wechatpay_unavailable", "WeChat Pay is busy or unreachable; try again", err)
	}
	slog.Error("wechat pay call failed", "op", op, "code", wxpay.Code(err), "err", err)
	return &fn.Error{Status: http.StatusBadGateway, Code: "wechatpay_error", Message: "WeChat Pay refused the request", Cause: err}
}

// prepayFailure is what is kept on the order about a failed prepay: the code, never a message
// that might carry request details.
func prepayFailure(err error) string {
	if c := wxpay.Code(err); c != "" {
		return c
	}
	if wxpay.IsRetryable(err) {
		return "unreachable"
	}
	return "error"
}

// shipper uploads shipping with the mini-program client, built on first use.
type shipper struct{ d *deps.Deps }

func (s shipper) UploadShippingInfo(ctx context.Context, info wechat.ShippingInfo) error {
	mp, err := s.d.MiniProgram()
	if err != nil {
		return err
	}
	return mp.UploadShippingInfo(ctx, info)
}

// hooks is the after-payment work, run when this function's query repair moves an order to PAID.
func (h *handler) hooks(store *orders.Store, pay *wxpay.Client) []orders.Hook {
	return orders.StandardHooks(store, shipper{h.deps}, pay.MchID(), h.now)
}

// shipError maps a failed shipping upload: WeChat not ready yet (10060001, right after a
// payment) or unreachable is a retryable 503; any other refusal a 502 naming the errcode.
func shipError(err error) error {
	if orders.IsTransient(err) {
		return storeError(err)
	}
	code, isAPI := wechat.Code(err)
	switch {
	case isAPI && code == wechat.CodeShippingNoOrder, wechat.IsTemporary(err):
		return fn.Unavailable("shipping_not_ready", "WeChat does not accept the shipping yet; try again in a minute", err)
	case isAPI:
		return &fn.Error{Status: http.StatusBadGateway, Code: "shipping_refused",
			Message: "WeChat refused the shipping upload (errcode " + strconv.FormatInt(code, 10) + ")", Cause: err}
	}
	return err
}
