package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Hook is after-payment work: fulfilment, a shipping upload for virtual goods, a "paid"
// message. Hooks run once per PAID transition, in the process that made it (or that took over
// the work after a crash), after the notification's transition is stored. A hook must not fail
// the payment: its error is logged and kept on the order; a hook that needs a retry records
// that itself (as the shipping hook does).
type Hook interface {
	AfterPayment(ctx context.Context, o Order) error
}

// HookFunc adapts a function to Hook.
type HookFunc func(ctx context.Context, o Order) error

// AfterPayment calls f.
func (f HookFunc) AfterPayment(ctx context.Context, o Order) error { return f(ctx, o) }

// RunAfterPayment runs hooks for a claimed order, in order, then marks its after-payment work
// done (only if the claim is still this caller's). Hook errors are logged and recorded on the
// order, and returned joined for the caller's log; they do not undo anything.
func (s *Store) RunAfterPayment(ctx context.Context, c *Claim, hooks []Hook, now time.Time) error {
	if c == nil {
		return nil
	}
	o := c.order
	if o.OutTradeNo == "" {
		var err error
		if o, err = s.Get(ctx, c.OutTradeNo); err != nil {
			return fmt.Errorf("orders after-payment: %w", err)
		}
	}
	var errs []string
	for i, h := range hooks {
		if err := runHook(ctx, h, o); err != nil {
			slog.ErrorContext(ctx, "after-payment hook failed", "outTradeNo", o.OutTradeNo, "hook", i, "err", err)
			errs = append(errs, err.Error())
		}
	}
	set := bson.D{{Key: "afterPay.doneAt", Value: dbTime(now)}, {Key: "updatedAt", Value: dbTime(now)}}
	if len(errs) > 0 {
		set = append(set, bson.E{Key: "afterPay.errors", Value: errs})
	}
	err := s.withLock(ctx, orderLock(c.OutTradeNo), func() error {
		o, err := s.Get(ctx, c.OutTradeNo)
		if err != nil || o.AfterPay.Claim != c.token {
			return err // someone took the work over: theirs is the word on it
		}
		_, err = s.orders.UpdateOne(ctx,
			s.filter(c.OutTradeNo, bson.E{Key: "afterPay.claim", Value: c.token}),
			bson.D{{Key: "$set", Value: set}})
		return err
	})
	if err != nil {
		return fmt.Errorf("orders after-payment done %s: %w", c.OutTradeNo, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("orders after-payment %s: %d hook(s) failed", c.OutTradeNo, len(errs))
	}
	return nil
}

// runHook keeps a panicking hook from taking the notification down with it.
func runHook(ctx context.Context, h Hook, o Order) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("hook panicked: %v", r)
		}
	}()
	return h.AfterPayment(ctx, o)
}

// SetShipment records the outcome of a shipping upload on an order: uploaded (with what was
// sent) or failed (with the error, for a later retry). Attempts counts every upload tried.
func (s *Store) SetShipment(ctx context.Context, outTradeNo string, sh Shipment, now time.Time) (o Order, err error) {
	err = s.withLock(ctx, orderLock(outTradeNo), func() error {
		o, err = s.setShipment(ctx, outTradeNo, sh, now)
		return err
	})
	return o, err
}

func (s *Store) setShipment(ctx context.Context, outTradeNo string, sh Shipment, now time.Time) (Order, error) {
	now = dbTime(now)
	set := bson.D{
		{Key: "shipping.state", Value: sh.State},
		{Key: "shipping.updatedAt", Value: now},
		{Key: "updatedAt", Value: now},
	}
	if sh.State == ShipUploaded {
		set = append(set,
			bson.E{Key: "shipping.logisticsType", Value: sh.LogisticsType},
			bson.E{Key: "shipping.trackingNo", Value: sh.TrackingNo},
			bson.E{Key: "shipping.expressCompany", Value: sh.ExpressCompany},
			bson.E{Key: "shipping.itemDesc", Value: sh.ItemDesc},
			bson.E{Key: "shipping.uploadedAt", Value: now},
			bson.E{Key: "shipping.lastError", Value: ""})
	} else {
		set = append(set, bson.E{Key: "shipping.lastError", Value: sh.LastError})
	}
	o, err := s.Get(ctx, outTradeNo)
	if err != nil {
		return o, fmt.Errorf("orders set shipment: %w", err)
	}
	if !o.State.Paid() {
		return o, fmt.Errorf("orders set shipment %s: order is %s: %w", outTradeNo, o.State, ErrState)
	}
	var after Order
	err = s.orders.FindOneAndUpdate(ctx,
		s.filter(outTradeNo, bson.E{Key: "state", Value: bson.D{{Key: "$in", Value: paidStates}}}),
		bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: bson.D{{Key: "shipping.attempts", Value: 1}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return o, s.stateError(ctx, "set shipment", outTradeNo)
	}
	if err != nil {
		return o, fmt.Errorf("orders set shipment %s: %w", outTradeNo, err)
	}
	return after, nil
}
