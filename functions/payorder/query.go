package payorder

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// shipRetryAfter spaces automatic retries of a failed virtual-goods shipping upload (WeChat Pay
// answers 10060001 for up to about a minute after a payment).
const shipRetryAfter = 30 * time.Second

// owned returns the caller's order outTradeNo. Someone else's order is "not found", exactly like
// one that does not exist, so that order numbers cannot be probed.
func owned(ctx context.Context, store *orders.Store, req *fn.Request) (orders.Order, error) {
	no := req.Param("outTradeNo")
	if !orders.ValidOutTradeNo(no) {
		return orders.Order{}, fn.ErrNotFound
	}
	o, err := store.Get(ctx, no)
	if errors.Is(err, orders.ErrNotFound) {
		return o, fn.ErrNotFound
	}
	if err != nil {
		return o, storeError(err)
	}
	if req.Principal.Kind != fn.PrincipalAdmin && o.OpenID != req.Principal.OpenID {
		return orders.Order{}, fn.ErrNotFound
	}
	return o, nil
}

func (h *handler) get(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	cfg, err := loadSettings(h.deps.Lookup())
	if err != nil {
		return nil, deps.Misconfigured(err)
	}
	store, pay, err := h.books(ctx)
	if err != nil {
		return nil, err
	}
	o, err := owned(ctx, store, req)
	if err != nil {
		return nil, err
	}
	now := h.now()
	if o.State == orders.StateCreated && now.Sub(o.CreatedAt) >= cfg.queryAfter {
		o = h.repair(ctx, store, pay, o)
	}
	if orders.ShipmentDue(o, now, shipRetryAfter) {
		if shipped, err := store.Ship(ctx, shipper{h.deps}, pay.MchID(), o, orders.ShipRequest{}, now); err != nil {
			slog.WarnContext(ctx, "shipping upload retry failed", "outTradeNo", o.OutTradeNo, "err", err)
		} else {
			o = shipped
		}
	}
	return fn.OK(viewOf(o))
}

// repair asks WeChat Pay about a CREATED order and applies the answer through the same
// transitions as paynotify: SUCCESS pays it (with the same checks, and the after-payment work
// if this call made the transition), CLOSED closes it. Failures only cost the repair: the order
// is returned as it was, and the next GET tries again.
func (h *handler) repair(ctx context.Context, store *orders.Store, pay *wxpay.Client, o orders.Order) orders.Order {
	t, err := pay.QueryByOutTradeNo(ctx, o.OutTradeNo)
	switch {
	case errors.Is(err, wxpay.ErrNotFound):
		return o // prepay never reached WeChat Pay
	case err != nil:
		slog.WarnContext(ctx, "order query failed", "outTradeNo", o.OutTradeNo, "code", wxpay.Code(err), "err", err)
		return o
	}
	now := h.now()
	switch t.TradeState {
	case wxpay.TradeSuccess, wxpay.TradeRefund:
		// REFUND means paid and then (partly) refunded: the payment happened all the same.
		paid := orders.PaidOf(t)
		paid.TradeState = wxpay.TradeSuccess
		res, err := store.ApplyPayment(ctx, orders.MerchantOf(pay), paid, now)
		if err != nil {
			slog.WarnContext(ctx, "applying a queried payment failed", "outTradeNo", o.OutTradeNo, "err", err)
			return o
		}
		switch res.Outcome {
		case orders.Applied:
			slog.InfoContext(ctx, "missed payment notification repaired by a query", "outTradeNo", o.OutTradeNo, "transactionId", t.TransactionID)
		case orders.Flagged:
			slog.WarnContext(ctx, "queried payment flagged", "outTradeNo", o.OutTradeNo, "reason", res.Reason)
		}
		if res.Claim != nil {
			if err := store.RunAfterPayment(ctx, res.Claim, h.hooks(store, pay), now); err != nil {
				slog.WarnContext(ctx, "after-payment work incomplete", "outTradeNo", o.OutTradeNo, "err", err)
			}
		}
	case wxpay.TradeClosed:
		if _, err := store.Close(ctx, o.OutTradeNo, "closed at WeChat Pay", now); err != nil {
			slog.WarnContext(ctx, "closing an order closed at WeChat Pay failed", "outTradeNo", o.OutTradeNo, "err", err)
			return o
		}
	default:
		return o // NOTPAY, USERPAYING: nothing to apply yet
	}
	if fresh, err := store.Get(ctx, o.OutTradeNo); err == nil {
		return fresh
	}
	return o
}

func (h *handler) close(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	store, pay, err := h.books(ctx)
	if err != nil {
		return nil, err
	}
	o, err := owned(ctx, store, req)
	if err != nil {
		return nil, err
	}
	switch {
	case o.State == orders.StateClosed:
		return fn.OK(viewOf(o))
	case o.State != orders.StateCreated:
		return nil, notClosable(o)
	}
	// WeChat Pay first: once it has closed the order nobody can pay it, so closing locally after
	// cannot race a payment. A paid order refuses; the query tells us so and applies it.
	if err := pay.CloseOrder(ctx, o.OutTradeNo); err != nil && !errors.Is(err, wxpay.ErrNotFound) && wxpay.Code(err) != "ORDER_CLOSED" {
		if wxpay.IsRetryable(err) {
			return nil, payError("close", err)
		}
		fresh := h.repair(ctx, store, pay, o)
		if fresh.State != orders.StateCreated {
			return nil, notClosable(fresh)
		}
		return nil, payError("close", err)
	}
	closed, err := store.Close(ctx, o.OutTradeNo, "closed by its owner", h.now())
	if errors.Is(err, orders.ErrState) {
		return nil, notClosable(closed)
	}
	if err != nil {
		return nil, storeError(err)
	}
	slog.InfoContext(ctx, "order closed", "outTradeNo", o.OutTradeNo)
	return fn.OK(viewOf(closed))
}

func notClosable(o orders.Order) error {
	return &fn.Error{Status: http.StatusConflict, Code: "order_not_closable", Message: "the order is " + string(o.State) + " and cannot be closed"}
}

func (h *handler) ship(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	var body shipRequest
	if len(req.Body) > 0 {
		if err := fn.DecodeJSON(req, &body); err != nil {
			return nil, err
		}
	}
	switch {
	case len(body.TrackingNo) > 128:
		return nil, fn.BadRequest("invalid_tracking_no", "trackingNo must be at most 128 characters")
	case len(body.ExpressCompany) > 64:
		return nil, fn.BadRequest("invalid_express_company", "expressCompany must be at most 64 characters")
	case len([]rune(body.ItemDesc)) > 120:
		return nil, fn.BadRequest("invalid_item_desc", "itemDesc must be at most 120 characters")
	}
	store, pay, err := h.books(ctx)
	if err != nil {
		return nil, err
	}
	o, err := owned(ctx, store, req)
	if err != nil {
		return nil, err
	}
	if o.State != orders.StatePaid && o.State != orders.StatePartiallyRefunded {
		return nil, &fn.Error{Status: http.StatusConflict, Code: "order_not_shippable", Message: "the order is " + string(o.State) + "; only paid orders ship"}
	}
	if !o.Virtual && (body.TrackingNo == "" || body.ExpressCompany == "") {
		return nil, fn.BadRequest("missing_tracking", "physical goods need trackingNo and expressCompany")
	}
	shipped, err := store.Ship(ctx, shipper{h.deps}, pay.MchID(), o, orders.ShipRequest{
		TrackingNo: body.TrackingNo, ExpressCompany: body.ExpressCompany, ItemDesc: body.ItemDesc,
	}, h.now())
	if err != nil {
		return nil, shipError(err)
	}
	slog.InfoContext(ctx, "shipping uploaded", "outTradeNo", o.OutTradeNo, "logisticsType", shipped.Shipping.LogisticsType)
	return fn.OK(viewOf(shipped))
}
