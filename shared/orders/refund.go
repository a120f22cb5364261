package orders

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// RefundState is a refund's state.
type RefundState string

// Refund states (package doc). PROCESSING, SUCCESS, CLOSED and ABNORMAL are WeChat Pay's own
// statuses; PENDING and FAILED are ours, for before WeChat Pay accepted the refund.
const (
	// RefundPending: recorded and its amount held on the order; WeChat Pay has not (yet)
	// accepted it. Retrying the create call with the same out_refund_no is safe.
	RefundPending    RefundState = "PENDING"
	RefundProcessing RefundState = "PROCESSING"
	RefundSuccess    RefundState = "SUCCESS"
	RefundClosed     RefundState = "CLOSED"
	// RefundAbnormal: WeChat Pay could not pay the user back (card cancelled or frozen); the
	// amount stays held until an operator resolves it into SUCCESS or CLOSED.
	RefundAbnormal RefundState = "ABNORMAL"
	// RefundFailed: WeChat Pay refused the refund definitively, or it could not be reserved; it
	// never existed there and its amount is released.
	RefundFailed RefundState = "FAILED"
)

// Final reports whether no result can change a refund in state s any more.
func (s RefundState) Final() bool {
	return s == RefundSuccess || s == RefundClosed || s == RefundFailed
}

// Refund is one document of the refunds collection, keyed by out_refund_no.
type Refund struct {
	OutRefundNo string      `bson:"_id" json:"outRefundNo"`
	OutTradeNo  string      `bson:"outTradeNo" json:"outTradeNo"`
	Amount      int64       `bson:"amount" json:"amount"` // fen
	Total       int64       `bson:"total" json:"total"`   // the order's amount, fen
	Reason      string      `bson:"reason,omitempty" json:"reason,omitempty"`
	State       RefundState `bson:"state" json:"state"`
	// Origin is "request" for refunds created through RequestRefund, "wechat" for a refund we
	// first heard of from WeChat Pay (made in the merchant portal, say).
	Origin              string    `bson:"origin" json:"origin"`
	RefundID            string    `bson:"refundId,omitempty" json:"refundId,omitempty"`
	Channel             string    `bson:"channel,omitempty" json:"channel,omitempty"`
	UserReceivedAccount string    `bson:"userReceivedAccount,omitempty" json:"userReceivedAccount,omitempty"`
	SuccessAt           time.Time `bson:"successAt,omitempty" json:"successAt,omitzero"`
	FailReason          string    `bson:"failReason,omitempty" json:"failReason,omitempty"`
	Flagged             bool      `bson:"flagged" json:"flagged"`
	Flags               []Flag    `bson:"flags,omitempty" json:"flags,omitempty"`
	CreatedAt           time.Time `bson:"createdAt" json:"createdAt"`
	UpdatedAt           time.Time `bson:"updatedAt" json:"updatedAt"`
}

// RefundRequest asks for a refund of an order.
type RefundRequest struct {
	OutTradeNo  string
	OutRefundNo string // NewOutRefundNo when the caller has none
	// Amount in fen; 0 refunds whatever is still refundable.
	Amount int64
	Reason string
}

// RequestRefund records a refund in state PENDING and holds its amount on the order, so that
// concurrent refunds can never exceed paid − refunded − refunding. Call WeChat Pay's create
// refund afterwards with the returned refund's number and amount, then ApplyRefund with the
// answer (or FailRefund when WeChat Pay refused it for good).
//
// It is idempotent on OutRefundNo: a refund that exists is returned with created false (and
// its hold completed if a crash interrupted it), or ErrConflict when the request differs
// (another order, or another non-zero amount). ErrNotEnough: more than is refundable (a refund
// created but not reservable is left FAILED). ErrState: the order is not paid. ErrNotFound: no
// such order.
func (s *Store) RequestRefund(ctx context.Context, req RefundRequest, now time.Time) (_ Refund, created bool, _ error) {
	now = dbTime(now)
	if !ValidOutRefundNo(req.OutRefundNo) {
		return Refund{}, false, fmt.Errorf("orders request refund: invalid out_refund_no %q", req.OutRefundNo)
	}
	if req.Amount < 0 {
		return Refund{}, false, fmt.Errorf("orders request refund: negative amount %d", req.Amount)
	}
	var r Refund
	err := s.withLock(ctx, orderLock(req.OutTradeNo), func() (err error) {
		r, created, err = s.requestRefund(ctx, req, now)
		return err
	})
	return r, created, err
}

func (s *Store) requestRefund(ctx context.Context, req RefundRequest, now time.Time) (_ Refund, created bool, _ error) {
	existing, err := s.GetRefund(ctx, req.OutRefundNo)
	switch {
	case err == nil:
		r, err := s.resume(ctx, existing, req)
		return r, false, err
	case !errors.Is(err, ErrNotFound):
		return Refund{}, false, fmt.Errorf("orders request refund: %w", err)
	}
	o, err := s.Get(ctx, req.OutTradeNo)
	if err != nil {
		return Refund{}, false, fmt.Errorf("orders request refund: %w", err)
	}
	if o.State != StatePaid && o.State != StatePartiallyRefunded {
		return Refund{}, false, fmt.Errorf("orders request refund %s: order is %s: %w", o.OutTradeNo, o.State, ErrState)
	}
	amount := req.Amount
	if amount == 0 {
		amount = o.Refundable
	}
	if amount <= 0 || amount > o.Refundable {
		return Refund{}, false, fmt.Errorf("orders request refund %s: %d fen asked, %d refundable: %w", o.OutTradeNo, amount, o.Refundable, ErrNotEnough)
	}
	r := Refund{
		OutRefundNo: req.OutRefundNo, OutTradeNo: o.OutTradeNo, Amount: amount, Total: o.Amount,
		Reason: req.Reason, State: RefundPending, Origin: "request", CreatedAt: now, UpdatedAt: now,
	}
	if _, err := s.refunds.InsertOne(ctx, r); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			// A concurrent request with the same number won the insert.
			existing, gerr := s.GetRefund(ctx, req.OutRefundNo)
			if gerr != nil {
				return Refund{}, false, fmt.Errorf("orders request refund: %w", gerr)
			}
			r, err := s.resume(ctx, existing, req)
			return r, false, err
		}
		return Refund{}, false, fmt.Errorf("orders request refund: %w", err)
	}
	if err := s.hold(ctx, r, now); err != nil {
		return r, true, err
	}
	return r, true, nil
}

// resume returns an existing refund for a repeated request, completing its hold if it is still
// PENDING (a crash between recording it and holding its amount).
func (s *Store) resume(ctx context.Context, r Refund, req RefundRequest) (Refund, error) {
	if r.OutTradeNo != req.OutTradeNo || (req.Amount != 0 && req.Amount != r.Amount) {
		return r, fmt.Errorf("orders request refund: out_refund_no %s is for %s, %d fen: %w", r.OutRefundNo, r.OutTradeNo, r.Amount, ErrConflict)
	}
	if r.State != RefundPending {
		return r, nil
	}
	if err := s.hold(ctx, r, r.UpdatedAt); err != nil {
		return r, err
	}
	return s.GetRefund(ctx, r.OutRefundNo)
}

// hold reserves a PENDING refund's amount on its order, once. When that is impossible (not
// enough left, order not paid) the refund becomes FAILED and the error says why.
func (s *Store) hold(ctx context.Context, r Refund, now time.Time) error {
	for attempt := 0; ; attempt++ {
		o, err := s.Get(ctx, r.OutTradeNo)
		if err != nil {
			return fmt.Errorf("orders hold refund: %w", err)
		}
		if slices.Contains(o.RefundHolds, r.OutRefundNo) || slices.Contains(o.RefundsSettled, r.OutRefundNo) {
			return nil // already held (an earlier attempt)
		}
		var why error
		switch {
		case o.State != StatePaid && o.State != StatePartiallyRefunded:
			why = fmt.Errorf("order is %s: %w", o.State, ErrState)
		case o.Refundable < r.Amount:
			why = fmt.Errorf("%d fen asked, %d refundable: %w", r.Amount, o.Refundable, ErrNotEnough)
		}
		if why != nil {
			if _, ferr := s.failRefund(ctx, r.OutRefundNo, why.Error(), now); ferr != nil {
				return fmt.Errorf("orders hold refund %s: %w (and marking it failed: %v)", r.OutRefundNo, why, ferr)
			}
			return fmt.Errorf("orders hold refund %s: %w", r.OutRefundNo, why)
		}
		res, err := s.orders.UpdateOne(ctx,
			s.filter(r.OutTradeNo,
				bson.E{Key: "state", Value: bson.D{{Key: "$in", Value: []State{StatePaid, StatePartiallyRefunded}}}},
				bson.E{Key: "refundable", Value: bson.D{{Key: "$gte", Value: r.Amount}}},
				bson.E{Key: "refundHolds", Value: bson.D{{Key: "$ne", Value: r.OutRefundNo}}},
				bson.E{Key: "refundsSettled", Value: bson.D{{Key: "$ne", Value: r.OutRefundNo}}},
			),
			bson.D{
				{Key: "$inc", Value: bson.D{{Key: "refundable", Value: -r.Amount}, {Key: "refunding", Value: r.Amount}}},
				{Key: "$push", Value: bson.D{{Key: "refundHolds", Value: r.OutRefundNo}}},
				{Key: "$set", Value: bson.D{{Key: "updatedAt", Value: now}}},
			})
		if err != nil {
			return fmt.Errorf("orders hold refund %s: %w", r.OutRefundNo, err)
		}
		if res.MatchedCount == 1 {
			return nil
		}
		if attempt >= 5 {
			return fmt.Errorf("orders hold refund %s: order keeps changing", r.OutRefundNo)
		}
		// The order changed between the read and the update (MongoDB without the lock's
		// protection); read it again.
	}
}

// FailRefund records that WeChat Pay refused a PENDING refund for good (PENDING → FAILED) and
// releases its hold. Failing a FAILED refund again changes nothing; any other state is ErrState.
func (s *Store) FailRefund(ctx context.Context, outRefundNo, why string, now time.Time) (r Refund, err error) {
	r, err = s.GetRefund(ctx, outRefundNo)
	if err != nil {
		return r, fmt.Errorf("orders fail refund: %w", err)
	}
	err = s.withLock(ctx, orderLock(r.OutTradeNo), func() error {
		r, err = s.failRefund(ctx, outRefundNo, why, now)
		return err
	})
	return r, err
}

func (s *Store) failRefund(ctx context.Context, outRefundNo, why string, now time.Time) (Refund, error) {
	now = dbTime(now)
	r, won, err := s.moveRefund(ctx, outRefundNo, []RefundState{RefundPending}, bson.D{
		{Key: "state", Value: RefundFailed}, {Key: "failReason", Value: why}, {Key: "updatedAt", Value: now},
	})
	if err != nil {
		return r, fmt.Errorf("orders fail refund: %w", err)
	}
	if !won && r.State != RefundFailed {
		return r, fmt.Errorf("orders fail refund %s: refund is %s: %w", outRefundNo, r.State, ErrState)
	}
	if _, err := s.release(ctx, r, now); err != nil {
		return r, err
	}
	return r, nil
}

// RefundResult is what WeChat Pay says about a refund: from the create or query answer, or a
// REFUND.* notification.
type RefundResult struct {
	MchID       string // empty when the source has none (create and query answers)
	OutTradeNo  string
	OutRefundNo string
	RefundID    string
	// Status is SUCCESS, CLOSED, ABNORMAL or PROCESSING.
	Status              string
	Refund              int64 // fen
	Total               int64 // fen, the order's amount
	Channel             string
	UserReceivedAccount string
	SuccessTime         time.Time
}

// RefundApplyResult is the result of ApplyRefund.
type RefundApplyResult struct {
	Outcome Outcome
	Reason  string // the flag reason when Flagged
	Refund  Refund
}

// ApplyRefund applies WeChat Pay's word on a refund, each status through one conditional update
// of the refund and an idempotent update of its order:
//
//	SUCCESS    PENDING|PROCESSING|ABNORMAL → SUCCESS; the amount moves from refunding to
//	           refunded and the order becomes PARTIALLY_REFUNDED or REFUNDED
//	CLOSED     PENDING|PROCESSING|ABNORMAL → CLOSED; the amount goes back to refundable
//	ABNORMAL   PENDING|PROCESSING → ABNORMAL; the amount stays held
//	PROCESSING PENDING → PROCESSING
//
// A result for a refund already in that state is a Duplicate, but the order's part is re-run,
// so a delivery that died half-way is completed by the next one. A result that contradicts the
// refund (another order or amount, CLOSED after SUCCESS) is flagged, not applied. A refund we
// never asked for is recorded (origin "wechat"), flagged, and applied: the money did move.
func (s *Store) ApplyRefund(ctx context.Context, m Merchant, res RefundResult, now time.Time) (out RefundApplyResult, err error) {
	if !ValidOutRefundNo(res.OutRefundNo) {
		return RefundApplyResult{Outcome: Flagged, Reason: FlagUnknownRefund}, nil
	}
	// The lock is the order's: find which order the refund belongs to.
	orderNo := res.OutTradeNo
	r, err := s.GetRefund(ctx, res.OutRefundNo)
	switch {
	case err == nil:
		orderNo = r.OutTradeNo
	case !errors.Is(err, ErrNotFound):
		return out, fmt.Errorf("orders apply refund: %w", err)
	}
	if !ValidOutTradeNo(orderNo) {
		return RefundApplyResult{Outcome: Flagged, Reason: FlagUnknownOrder}, nil
	}
	err = s.withLock(ctx, orderLock(orderNo), func() error {
		out, err = s.applyRefund(ctx, m, res, now)
		return err
	})
	return out, err
}

func (s *Store) applyRefund(ctx context.Context, m Merchant, res RefundResult, now time.Time) (RefundApplyResult, error) {
	now = dbTime(now)
	r, err := s.GetRefund(ctx, res.OutRefundNo)
	if errors.Is(err, ErrNotFound) {
		r, err = s.adoptRefund(ctx, res, now)
		if errors.Is(err, ErrNotFound) {
			return RefundApplyResult{Outcome: Flagged, Reason: FlagUnknownOrder}, nil
		}
	}
	if err != nil {
		return RefundApplyResult{}, fmt.Errorf("orders apply refund: %w", err)
	}
	flag := func(reason, detail string) (RefundApplyResult, error) {
		f := Flag{Key: reason + ":" + res.Status, Reason: reason, Detail: detail, At: now}
		if err := s.flagRefund(ctx, r.OutRefundNo, f); err != nil {
			return RefundApplyResult{}, err
		}
		f.Key = reason + ":" + r.OutRefundNo + ":" + res.Status
		if err := s.flag(ctx, r.OutTradeNo, f); err != nil {
			return RefundApplyResult{}, fmt.Errorf("orders apply refund: %w", err)
		}
		r, _ = s.GetRefund(ctx, r.OutRefundNo)
		return RefundApplyResult{Outcome: Flagged, Reason: reason, Refund: r}, nil
	}
	switch {
	case res.MchID != "" && res.MchID != m.MchID:
		return flag(FlagMchIDMismatch, fmt.Sprintf("mchid %q, ours %q", res.MchID, m.MchID))
	case res.OutTradeNo != "" && res.OutTradeNo != r.OutTradeNo:
		return flag(FlagRefundMismatch, fmt.Sprintf("for order %s, recorded for %s", res.OutTradeNo, r.OutTradeNo))
	case res.Refund != r.Amount:
		return flag(FlagRefundMismatch, fmt.Sprintf("refund %d fen, recorded %d fen", res.Refund, r.Amount))
	case res.Total != 0 && res.Total != r.Total:
		return flag(FlagRefundMismatch, fmt.Sprintf("total %d fen, order amount %d fen", res.Total, r.Total))
	}

	details := bson.D{{Key: "updatedAt", Value: now}}
	if res.RefundID != "" {
		details = append(details, bson.E{Key: "refundId", Value: res.RefundID})
	}
	if res.Channel != "" {
		details = append(details, bson.E{Key: "channel", Value: res.Channel})
	}
	if res.UserReceivedAccount != "" {
		details = append(details, bson.E{Key: "userReceivedAccount", Value: res.UserReceivedAccount})
	}
	var (
		target RefundState
		from   []RefundState
	)
	switch res.Status {
	case string(RefundSuccess):
		target, from = RefundSuccess, []RefundState{RefundPending, RefundProcessing, RefundAbnormal}
		at := dbTime(res.SuccessTime)
		if at.IsZero() {
			at = now
		}
		details = append(details, bson.E{Key: "successAt", Value: at})
	case string(RefundClosed):
		target, from = RefundClosed, []RefundState{RefundPending, RefundProcessing, RefundAbnormal}
	case string(RefundAbnormal):
		target, from = RefundAbnormal, []RefundState{RefundPending, RefundProcessing}
	case string(RefundProcessing):
		target, from = RefundProcessing, []RefundState{RefundPending}
	default:
		return RefundApplyResult{Outcome: Ignored, Refund: r}, nil
	}
	details = append(details, bson.E{Key: "state", Value: target})
	r, won, err := s.moveRefund(ctx, r.OutRefundNo, from, details)
	if err != nil {
		return RefundApplyResult{}, fmt.Errorf("orders apply refund: %w", err)
	}
	outcome := Duplicate
	if won {
		outcome = Applied
	}
	switch {
	case r.State == target:
	case target == RefundSuccess || target == RefundClosed:
		// SUCCESS after CLOSED/FAILED or CLOSED after SUCCESS: WeChat Pay and we disagree about
		// money, which an operator must look at.
		return flag(FlagRefundContradiction, fmt.Sprintf("%s for a refund that is %s", res.Status, r.State))
	default:
		// A late ABNORMAL or PROCESSING for a refund that has moved on.
		return RefundApplyResult{Outcome: Ignored, Refund: r}, nil
	}
	var changed bool
	switch r.State {
	case RefundSuccess:
		changed, err = s.settle(ctx, r, now)
	case RefundClosed:
		changed, err = s.release(ctx, r, now)
	}
	if err != nil {
		return RefundApplyResult{}, err
	}
	if changed && outcome == Duplicate {
		outcome = Applied // this call completed what an earlier one left half-done
	}
	return RefundApplyResult{Outcome: outcome, Refund: r}, nil
}

// adoptRefund records a refund WeChat Pay knows and we do not, flagged, so that ApplyRefund can
// account for it. ErrNotFound when its order is not ours either.
func (s *Store) adoptRefund(ctx context.Context, res RefundResult, now time.Time) (Refund, error) {
	o, err := s.Get(ctx, res.OutTradeNo)
	if err != nil {
		return Refund{}, err
	}
	r := Refund{
		OutRefundNo: res.OutRefundNo, OutTradeNo: o.OutTradeNo, Amount: res.Refund, Total: o.Amount,
		State: RefundPending, Origin: "wechat", Flagged: true, CreatedAt: now, UpdatedAt: now,
		Flags: []Flag{{Key: FlagUnknownRefund, Reason: FlagUnknownRefund, Detail: "refund not requested through wxfn", At: now}},
	}
	if _, err := s.refunds.InsertOne(ctx, r); err != nil && !mongo.IsDuplicateKeyError(err) {
		return Refund{}, fmt.Errorf("orders adopt refund: %w", err)
	}
	if err := s.flag(ctx, o.OutTradeNo, Flag{Key: FlagUnknownRefund + ":" + r.OutRefundNo, Reason: FlagUnknownRefund,
		Detail: fmt.Sprintf("refund %s of %d fen was not requested through wxfn", r.OutRefundNo, r.Amount), At: now}); err != nil {
		return Refund{}, fmt.Errorf("orders adopt refund: %w", err)
	}
	return s.GetRefund(ctx, res.OutRefundNo)
}

// moveRefund sets fields of a refund whose state is in from, and returns the refund as it is
// after the attempt and whether this call's update matched.
func (s *Store) moveRefund(ctx context.Context, outRefundNo string, from []RefundState, set bson.D) (Refund, bool, error) {
	r, err := s.GetRefund(ctx, outRefundNo)
	if err != nil || !slices.Contains(from, r.State) {
		return r, false, err
	}
	var after Refund
	err = s.refunds.FindOneAndUpdate(ctx,
		s.filter(outRefundNo, bson.E{Key: "state", Value: bson.D{{Key: "$in", Value: from}}}),
		bson.D{{Key: "$set", Value: set}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if err == nil {
		return after, true, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return r, false, fmt.Errorf("move refund %s: %w", outRefundNo, err)
	}
	r, err = s.GetRefund(ctx, outRefundNo)
	return r, false, err
}

// settle counts a successful refund on its order, once: from refunding (when it was held) or
// straight from refundable (a refund we never held), moving the order to PARTIALLY_REFUNDED or
// REFUNDED. The update is conditional on the refunded total it read, so that the state it
// computes is right under concurrent settlements. It reports whether it changed the order.
func (s *Store) settle(ctx context.Context, r Refund, now time.Time) (bool, error) {
	for attempt := 0; attempt < 10; attempt++ {
		o, err := s.Get(ctx, r.OutTradeNo)
		if err != nil {
			return false, fmt.Errorf("orders settle refund: %w", err)
		}
		if slices.Contains(o.RefundsSettled, r.OutRefundNo) {
			return false, nil
		}
		if !o.State.Paid() {
			// WeChat Pay refunded an order we do not know as paid (its payment notification is
			// still to come, or was lost): leave the refund SUCCESS and unsettled; reconcile or the
			// next delivery settles it once the payment is applied.
			err := s.flag(ctx, o.OutTradeNo, Flag{Key: FlagRefundMismatch + ":unpaid:" + r.OutRefundNo, Reason: FlagRefundMismatch,
				Detail: fmt.Sprintf("refund %s succeeded for an order that is %s", r.OutRefundNo, o.State), At: now})
			return false, err
		}
		held := slices.Contains(o.RefundHolds, r.OutRefundNo)
		refunded := o.Refunded + r.Amount
		state := StatePartiallyRefunded
		if refunded >= o.Amount {
			state = StateRefunded
		}
		cond := []bson.E{
			{Key: "state", Value: bson.D{{Key: "$in", Value: paidStates}}},
			{Key: "refunded", Value: o.Refunded},
			{Key: "refundsSettled", Value: bson.D{{Key: "$ne", Value: r.OutRefundNo}}},
		}
		inc := bson.D{{Key: "refunded", Value: r.Amount}}
		update := bson.D{
			{Key: "$set", Value: bson.D{{Key: "state", Value: state}, {Key: "updatedAt", Value: now}}},
			{Key: "$push", Value: bson.D{{Key: "refundsSettled", Value: r.OutRefundNo}}},
		}
		if held {
			cond = append(cond, bson.E{Key: "refundHolds", Value: r.OutRefundNo})
			inc = append(inc, bson.E{Key: "refunding", Value: -r.Amount})
			update = append(update, bson.E{Key: "$pull", Value: bson.D{{Key: "refundHolds", Value: r.OutRefundNo}}})
		} else {
			cond = append(cond, bson.E{Key: "refundHolds", Value: bson.D{{Key: "$ne", Value: r.OutRefundNo}}})
			inc = append(inc, bson.E{Key: "refundable", Value: -r.Amount})
		}
		update = append(update, bson.E{Key: "$inc", Value: inc})
		res, err := s.orders.UpdateOne(ctx, s.filter(o.OutTradeNo, cond...), update)
		if err != nil {
			return false, fmt.Errorf("orders settle refund %s: %w", r.OutRefundNo, err)
		}
		if res.MatchedCount == 0 {
			continue // another settlement or hold got there first; read again
		}
		if refunded > o.Amount || (!held && o.Refundable < r.Amount) {
			err := s.flag(ctx, o.OutTradeNo, Flag{Key: FlagOverRefunded + ":" + r.OutRefundNo, Reason: FlagOverRefunded,
				Detail: fmt.Sprintf("refund %s of %d fen brings the refunds to %d fen of %d", r.OutRefundNo, r.Amount, refunded, o.Amount), At: now})
			return true, err
		}
		return true, nil
	}
	return false, fmt.Errorf("orders settle refund %s: order keeps changing", r.OutRefundNo)
}

// release gives a held refund amount back to refundable, once, and reports whether it did.
func (s *Store) release(ctx context.Context, r Refund, now time.Time) (bool, error) {
	o, err := s.Get(ctx, r.OutTradeNo)
	if err != nil {
		return false, fmt.Errorf("orders release refund: %w", err)
	}
	if !slices.Contains(o.RefundHolds, r.OutRefundNo) {
		return false, nil
	}
	res, err := s.orders.UpdateOne(ctx,
		s.filter(r.OutTradeNo, bson.E{Key: "refundHolds", Value: r.OutRefundNo}),
		bson.D{
			{Key: "$inc", Value: bson.D{{Key: "refunding", Value: -r.Amount}, {Key: "refundable", Value: r.Amount}}},
			{Key: "$pull", Value: bson.D{{Key: "refundHolds", Value: r.OutRefundNo}}},
			{Key: "$set", Value: bson.D{{Key: "updatedAt", Value: now}}},
		})
	if err != nil {
		return false, fmt.Errorf("orders release refund %s: %w", r.OutRefundNo, err)
	}
	return res.MatchedCount == 1, nil
}

func (s *Store) flagRefund(ctx context.Context, outRefundNo string, f Flag) error {
	r, err := s.GetRefund(ctx, outRefundNo)
	if err != nil {
		return fmt.Errorf("orders flag refund: %w", err)
	}
	return s.pushFlag(ctx, s.refunds, outRefundNo, r.Flags, f, "flag refund")
}

// GetRefund returns the refund outRefundNo, or ErrNotFound.
func (s *Store) GetRefund(ctx context.Context, outRefundNo string) (Refund, error) {
	var r Refund
	if err := findOne(ctx, s.refunds, outRefundNo, &r); err != nil {
		return r, fmt.Errorf("orders get refund %s: %w", outRefundNo, err)
	}
	return r, nil
}

// RefundsOf returns an order's refunds, oldest first.
func (s *Store) RefundsOf(ctx context.Context, outTradeNo string) ([]Refund, error) {
	return findAll[Refund](ctx, s.refunds, "refunds of "+outTradeNo, bson.D{{Key: "outTradeNo", Value: outTradeNo}}, bson.D{{Key: "createdAt", Value: 1}}, 0)
}

// EachRefundSucceededBetween calls f for every refund that succeeded in [from, to) (by
// successAt), for reconciliation. It stops at f's first error and returns it.
func (s *Store) EachRefundSucceededBetween(ctx context.Context, from, to time.Time, f func(Refund) error) error {
	return eachBetween(ctx, s.refunds, "refunds between", "successAt", from, to, f)
}
