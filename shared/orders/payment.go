package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Merchant is who we are: a payment or refund that names another appid or mchid is not ours.
type Merchant struct {
	AppID string
	MchID string
}

// PaidTransaction is what WeChat Pay says about a payment, from a TRANSACTION.SUCCESS
// notification, a query, or a bill. Callers copy it from their wire types so that this package
// does not depend on any client.
type PaidTransaction struct {
	AppID         string
	MchID         string
	OutTradeNo    string
	TransactionID string
	TradeState    string // must be SUCCESS
	PayerOpenID   string
	Total         int64 // fen
	PayerTotal    int64 // fen
	Currency      string
	SuccessTime   time.Time
}

// Outcome is what applying a payment, refund result or notification did.
type Outcome string

// Outcomes. The zero value is never returned by a transition.
const (
	// Applied: this call made the transition.
	Applied Outcome = "applied"
	// Duplicate: the transition had already been made (by a redelivery, a query, reconcile).
	Duplicate Outcome = "duplicate"
	// Flagged: something did not add up; it was recorded and nothing was applied.
	Flagged Outcome = "flagged"
	// Ignored: nothing to do (an event type we do not handle, an older state).
	Ignored Outcome = "ignored"
)

// PayResult is the result of ApplyPayment.
type PayResult struct {
	Outcome Outcome
	// Reason is the flag reason when Outcome is Flagged.
	Reason string
	// Order is the order after the call (zero for FlagUnknownOrder).
	Order Order
	// Claim, when not nil, means this caller must run the after-payment work now: it is the
	// caller that moved the order to PAID, or the first to find that work unfinished after its
	// lease ran out (a crash). Pass it to RunAfterPayment.
	Claim *Claim
}

// AfterPayLease is how long a claim on an order's after-payment work lasts before another
// caller may take it over, presuming the first one died.
const AfterPayLease = 2 * time.Minute

// ApplyPayment applies a successful payment to its order: CREATED → PAID in one conditional
// update, after checking that the appid, mchid, trade state, currency, amount and payer are the
// order's. A payment that does not match, or that arrives for a CLOSED order, is flagged on the
// order and not applied. Applying the same payment again is a Duplicate that changes nothing.
// paynotify, payorder's query repair and reconcile all call this one function.
func (s *Store) ApplyPayment(ctx context.Context, m Merchant, t PaidTransaction, now time.Time) (res PayResult, err error) {
	if !ValidOutTradeNo(t.OutTradeNo) {
		return PayResult{Outcome: Flagged, Reason: FlagUnknownOrder}, nil
	}
	err = s.withLock(ctx, orderLock(t.OutTradeNo), func() error {
		res, err = s.applyPayment(ctx, m, t, now)
		return err
	})
	return res, err
}

func (s *Store) applyPayment(ctx context.Context, m Merchant, t PaidTransaction, now time.Time) (PayResult, error) {
	now = dbTime(now)
	o, err := s.Get(ctx, t.OutTradeNo)
	if errors.Is(err, ErrNotFound) {
		return PayResult{Outcome: Flagged, Reason: FlagUnknownOrder}, nil
	}
	if err != nil {
		return PayResult{}, fmt.Errorf("orders apply payment: %w", err)
	}
	flag := func(reason, detail string) (PayResult, error) {
		key := reason + ":" + t.TransactionID
		if err := s.flag(ctx, o.OutTradeNo, Flag{Key: key, Reason: reason, Detail: detail, At: now}); err != nil {
			return PayResult{}, fmt.Errorf("orders apply payment: %w", err)
		}
		o, err := s.Get(ctx, o.OutTradeNo)
		if err != nil {
			return PayResult{}, fmt.Errorf("orders apply payment: %w", err)
		}
		return PayResult{Outcome: Flagged, Reason: reason, Order: o}, nil
	}
	switch {
	case t.MchID != m.MchID:
		return flag(FlagMchIDMismatch, fmt.Sprintf("mchid %q, ours %q", t.MchID, m.MchID))
	case t.AppID != m.AppID:
		return flag(FlagAppIDMismatch, fmt.Sprintf("appid %q, ours %q", t.AppID, m.AppID))
	case t.TradeState != "SUCCESS":
		return flag(FlagTradeState, fmt.Sprintf("trade_state %q", t.TradeState))
	case t.Currency != "" && t.Currency != "CNY":
		return flag(FlagCurrencyMismatch, fmt.Sprintf("currency %q", t.Currency))
	case t.Total != o.Amount:
		return flag(FlagAmountMismatch, fmt.Sprintf("paid %d fen, order amount %d fen", t.Total, o.Amount))
	case t.PayerOpenID != "" && t.PayerOpenID != o.OpenID:
		return flag(FlagPayerMismatch, "paid by another openid than the order's owner")
	case t.TransactionID == "":
		return flag(FlagTransactionMismatch, "no transaction_id")
	}

	paidAt := dbTime(t.SuccessTime)
	if paidAt.IsZero() {
		paidAt = now
	}
	claim := newClaim(o.OutTradeNo, now)
	var after Order
	err = mongo.ErrNoDocuments // an order no longer CREATED is handled below as a lost race
	if o.State == StateCreated {
		err = s.orders.FindOneAndUpdate(ctx,
			s.filter(o.OutTradeNo, bson.E{Key: "state", Value: StateCreated}, bson.E{Key: "amount", Value: t.Total}),
			bson.D{{Key: "$set", Value: bson.D{
				{Key: "state", Value: StatePaid},
				{Key: "transactionId", Value: t.TransactionID},
				{Key: "paidAt", Value: paidAt},
				{Key: "payerTotal", Value: t.PayerTotal},
				{Key: "refundable", Value: t.Total},
				{Key: "afterPay.claim", Value: claim.token},
				{Key: "afterPay.claimedUntil", Value: claim.until},
				{Key: "updatedAt", Value: now},
			}}, {Key: "$inc", Value: bson.D{{Key: "afterPay.runs", Value: 1}}}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	}
	if err == nil {
		claim.order = after
		return PayResult{Outcome: Applied, Order: after, Claim: claim}, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return PayResult{}, fmt.Errorf("orders apply payment %s: %w", o.OutTradeNo, err)
	}
	// Someone else moved the order first: find out what it is now.
	o, err = s.Get(ctx, o.OutTradeNo)
	if err != nil {
		return PayResult{}, fmt.Errorf("orders apply payment: %w", err)
	}
	switch {
	case o.State == StateClosed:
		return flag(FlagPaidAfterClose, fmt.Sprintf("transaction %s paid %d fen after the order was closed; refund it", t.TransactionID, t.Total))
	case o.State.Paid() && o.TransactionID != t.TransactionID:
		return flag(FlagTransactionMismatch, fmt.Sprintf("transaction %s, order paid by %s", t.TransactionID, o.TransactionID))
	case o.State.Paid():
		c, err := s.claimAfterPayment(ctx, o.OutTradeNo, now)
		if err != nil {
			return PayResult{}, err
		}
		return PayResult{Outcome: Duplicate, Order: o, Claim: c}, nil
	}
	// Still CREATED: the amount in the filter did not match, which the check above excludes
	// unless the order changed between the reads. Report it rather than loop.
	return PayResult{}, fmt.Errorf("orders apply payment %s: order changed concurrently (state %s)", o.OutTradeNo, o.State)
}

// Claim is the right to run an order's after-payment work, held until it is marked done or its
// lease expires.
type Claim struct {
	OutTradeNo string
	token      string
	until      time.Time
	order      Order // as read when claimed, for the hooks
}

func newClaim(outTradeNo string, now time.Time) *Claim {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return &Claim{OutTradeNo: outTradeNo, token: hex.EncodeToString(b), until: dbTime(now.Add(AfterPayLease))}
}

// ClaimAfterPayment claims a paid order's after-payment work when it is not done and nobody
// holds a live claim on it; it returns nil when there is nothing to claim.
func (s *Store) ClaimAfterPayment(ctx context.Context, outTradeNo string, now time.Time) (c *Claim, err error) {
	err = s.withLock(ctx, orderLock(outTradeNo), func() error {
		c, err = s.claimAfterPayment(ctx, outTradeNo, now)
		return err
	})
	return c, err
}

func (s *Store) claimAfterPayment(ctx context.Context, outTradeNo string, now time.Time) (*Claim, error) {
	now = dbTime(now)
	o, err := s.Get(ctx, outTradeNo)
	if err != nil {
		return nil, fmt.Errorf("orders claim after-payment: %w", err)
	}
	if !o.State.Paid() || !o.AfterPay.DoneAt.IsZero() || o.AfterPay.ClaimedUntil.After(now) {
		return nil, nil
	}
	c := newClaim(outTradeNo, now)
	res, err := s.orders.UpdateOne(ctx,
		s.filter(outTradeNo,
			bson.E{Key: "state", Value: bson.D{{Key: "$in", Value: paidStates}}},
			bson.E{Key: "afterPay.doneAt", Value: bson.D{{Key: "$exists", Value: false}}},
			bson.E{Key: "$or", Value: bson.A{
				bson.D{{Key: "afterPay.claimedUntil", Value: bson.D{{Key: "$exists", Value: false}}}},
				bson.D{{Key: "afterPay.claimedUntil", Value: bson.D{{Key: "$lte", Value: now}}}},
			}},
		),
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "afterPay.claim", Value: c.token}, {Key: "afterPay.claimedUntil", Value: c.until}}},
			{Key: "$inc", Value: bson.D{{Key: "afterPay.runs", Value: 1}}},
		})
	if err != nil {
		return nil, fmt.Errorf("orders claim after-payment %s: %w", outTradeNo, err)
	}
	if res.MatchedCount == 0 {
		return nil, nil
	}
	c.order = o
	return c, nil
}
