package orders

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/shared/wxpay"
)

// State is an order's state.
type State string

// Order states (package doc: they only move forward).
const (
	StateCreated           State = "CREATED"
	StatePaid              State = "PAID"
	StatePartiallyRefunded State = "PARTIALLY_REFUNDED"
	StateRefunded          State = "REFUNDED"
	StateClosed            State = "CLOSED"
)

// Paid reports whether money was received for an order in state s (whatever was refunded since).
func (s State) Paid() bool {
	return s == StatePaid || s == StatePartiallyRefunded || s == StateRefunded
}

// paidStates are the states of an order whose money was received.
var paidStates = []State{StatePaid, StatePartiallyRefunded, StateRefunded}

// Item is one line of an order, priced from the catalogue when the order was created.
type Item struct {
	SKU   string `bson:"sku" json:"sku"`
	Name  string `bson:"name" json:"name"`
	Price int64  `bson:"price" json:"price"` // fen, per unit
	Qty   int64  `bson:"qty" json:"qty"`
	Kind  Kind   `bson:"kind" json:"kind"`
}

// Payment is what wx.requestPayment needs, kept with the order so that a retried request returns
// the very same parameters while the prepay id is valid.
type Payment struct {
	TimeStamp string `bson:"timeStamp" json:"timeStamp"`
	NonceStr  string `bson:"nonceStr" json:"nonceStr"`
	Package   string `bson:"package" json:"package"`
	SignType  string `bson:"signType" json:"signType"`
	PaySign   string `bson:"paySign" json:"paySign"`
}

// Flag records something about an order or refund that does not add up. Key makes recording
// the same problem twice (a redelivered notification) a no-op.
type Flag struct {
	Key    string    `bson:"key" json:"key"`
	Reason string    `bson:"reason" json:"reason"`
	Detail string    `bson:"detail,omitempty" json:"detail,omitempty"`
	At     time.Time `bson:"at" json:"at"`
}

// Flag reasons.
const (
	FlagUnknownOrder        = "unknown_order"        // a payment for an out_trade_no we never created
	FlagAppIDMismatch       = "appid_mismatch"       // the payment names another mini-program
	FlagMchIDMismatch       = "mchid_mismatch"       // the payment names another merchant
	FlagAmountMismatch      = "amount_mismatch"      // amount.total is not the order's amount
	FlagCurrencyMismatch    = "currency_mismatch"    // not CNY
	FlagPayerMismatch       = "payer_mismatch"       // paid by another openid than the order's owner
	FlagTradeState          = "trade_state"          // a "success" whose trade_state is not SUCCESS
	FlagPaidAfterClose      = "paid_after_close"     // WeChat Pay took money for an order we closed: refund it
	FlagTransactionMismatch = "transaction_mismatch" // a second transaction id for one paid order
	FlagRefundMismatch      = "refund_mismatch"      // a refund result whose order or amount is not the refund's
	FlagUnknownRefund       = "unknown_refund"       // a refund we never asked for
	FlagRefundContradiction = "refund_contradiction" // e.g. CLOSED after SUCCESS
	FlagOverRefunded        = "over_refunded"        // settled refunds exceed the order's amount
)

// Shipment is the state of an order's shipping upload (reference §9).
type Shipment struct {
	// State is ShipPending, ShipUploaded or ShipFailed.
	State          string    `bson:"state" json:"state"`
	LogisticsType  int       `bson:"logisticsType,omitempty" json:"logisticsType,omitempty"`
	TrackingNo     string    `bson:"trackingNo,omitempty" json:"trackingNo,omitempty"`
	ExpressCompany string    `bson:"expressCompany,omitempty" json:"expressCompany,omitempty"`
	ItemDesc       string    `bson:"itemDesc,omitempty" json:"itemDesc,omitempty"`
	Attempts       int       `bson:"attempts" json:"attempts"`
	LastError      string    `bson:"lastError,omitempty" json:"lastError,omitempty"`
	UploadedAt     time.Time `bson:"uploadedAt,omitempty" json:"uploadedAt,omitzero"`
	UpdatedAt      time.Time `bson:"updatedAt" json:"updatedAt"`
}

// Shipment states.
const (
	ShipUploaded = "uploaded"
	ShipFailed   = "failed"
)

// AfterPay marks the after-payment work of a paid order: claimed by whoever moved it to PAID,
// done once every hook has run.
type AfterPay struct {
	Claim        string    `bson:"claim,omitempty" json:"-"`
	ClaimedUntil time.Time `bson:"claimedUntil,omitempty" json:"-"`
	Runs         int       `bson:"runs" json:"runs"`
	DoneAt       time.Time `bson:"doneAt,omitempty" json:"doneAt,omitzero"`
	Errors       []string  `bson:"errors,omitempty" json:"errors,omitempty"`
}

// Order is one document of the orders collection.
type Order struct {
	OutTradeNo  string `bson:"_id" json:"outTradeNo"`
	OpenID      string `bson:"openid" json:"openid"`
	Items       []Item `bson:"items" json:"items"`
	Amount      int64  `bson:"amount" json:"amount"` // fen, computed from the catalogue
	Description string `bson:"description" json:"description"`
	Attach      string `bson:"attach,omitempty" json:"attach,omitempty"`
	// Virtual is true when every item is virtual: the order is "shipped" right after payment.
	Virtual bool  `bson:"virtual" json:"virtual"`
	State   State `bson:"state" json:"state"`

	// TimeExpire is the latest time the user can pay, sent with every prepay of this order
	// (re-entry must repeat the same parameters).
	TimeExpire      time.Time `bson:"timeExpire" json:"timeExpire"`
	PrepayID        string    `bson:"prepayId,omitempty" json:"-"`
	PrepayExpiresAt time.Time `bson:"prepayExpiresAt,omitempty" json:"-"`
	Payment         *Payment  `bson:"payment,omitempty" json:"-"`
	// PrepayError is the last prepay failure, cleared by a successful prepay.
	PrepayError string `bson:"prepayError,omitempty" json:"-"`

	TransactionID string    `bson:"transactionId,omitempty" json:"transactionId,omitempty"`
	PaidAt        time.Time `bson:"paidAt,omitempty" json:"paidAt,omitzero"`
	PayerTotal    int64     `bson:"payerTotal,omitempty" json:"payerTotal,omitempty"`
	ClosedAt      time.Time `bson:"closedAt,omitempty" json:"closedAt,omitzero"`
	CloseReason   string    `bson:"closeReason,omitempty" json:"closeReason,omitempty"`

	Refunded       int64    `bson:"refunded" json:"refunded"`     // settled
	Refunding      int64    `bson:"refunding" json:"refunding"`   // in flight (and ABNORMAL)
	Refundable     int64    `bson:"refundable" json:"refundable"` // amount − refunded − refunding once paid
	RefundHolds    []string `bson:"refundHolds" json:"-"`         // out_refund_nos whose amount is in Refunding
	RefundsSettled []string `bson:"refundsSettled" json:"-"`      // out_refund_nos counted in Refunded

	Flagged bool   `bson:"flagged" json:"flagged"`
	Flags   []Flag `bson:"flags,omitempty" json:"flags,omitempty"`

	IdempotencyKey string `bson:"idempotencyKey" json:"-"`
	// RequestHash fingerprints the request that created the order, so that an Idempotency-Key
	// reused for a different request is refused rather than answered with the wrong order.
	RequestHash string `bson:"requestHash,omitempty" json:"-"`

	AfterPay AfterPay  `bson:"afterPay" json:"afterPay"`
	Shipping *Shipment `bson:"shipping,omitempty" json:"shipping,omitempty"`

	CreatedAt time.Time `bson:"createdAt" json:"createdAt"`
	UpdatedAt time.Time `bson:"updatedAt" json:"updatedAt"`
}

// Create inserts a new order in state CREATED. The caller prices the items; Create checks the
// sum. An order whose (openid, idempotencyKey) is taken is not created: the existing one is
// returned with created false, or ErrConflict when it was created by a different request
// (RequestHash differs). An empty IdempotencyKey becomes the outTradeNo.
func (s *Store) Create(ctx context.Context, o Order, now time.Time) (_ Order, created bool, _ error) {
	if !ValidOutTradeNo(o.OutTradeNo) {
		return Order{}, false, fmt.Errorf("orders create: out_trade_no %q is not 6–32 of [0-9A-Za-z_-|*]", o.OutTradeNo)
	}
	if o.OpenID == "" || len(o.Items) == 0 {
		return Order{}, false, errors.New("orders create: an order needs an owner and items")
	}
	var sum int64
	virtual := true
	for _, it := range o.Items {
		if it.Price <= 0 || it.Qty <= 0 {
			return Order{}, false, fmt.Errorf("orders create: item %s has price %d qty %d", it.SKU, it.Price, it.Qty)
		}
		sum += it.Price * it.Qty
		virtual = virtual && it.Kind == KindVirtual
	}
	if sum != o.Amount || sum <= 0 {
		return Order{}, false, fmt.Errorf("orders create: amount %d is not the items' total %d", o.Amount, sum)
	}
	now = dbTime(now)
	o.State, o.Virtual = StateCreated, virtual
	o.Refunded, o.Refunding, o.Refundable = 0, 0, 0
	o.RefundHolds, o.RefundsSettled = []string{}, []string{}
	o.TimeExpire = dbTime(o.TimeExpire)
	o.CreatedAt, o.UpdatedAt = now, now
	if o.IdempotencyKey == "" {
		o.IdempotencyKey = o.OutTradeNo
	}
	_, err := s.orders.InsertOne(ctx, o)
	if err == nil {
		return o, true, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return Order{}, false, fmt.Errorf("orders create: %w", err)
	}
	var existing Order
	err = s.orders.FindOne(ctx, bson.D{{Key: "openid", Value: o.OpenID}, {Key: "idempotencyKey", Value: o.IdempotencyKey}}).Decode(&existing)
	if errors.Is(err, mongo.ErrNoDocuments) {
		// The duplicate was the outTradeNo itself: a generator collision or a caller's reuse.
		return Order{}, false, fmt.Errorf("orders create %s: %w", o.OutTradeNo, ErrConflict)
	}
	if err != nil {
		return Order{}, false, fmt.Errorf("orders create: %w", err)
	}
	if existing.RequestHash != o.RequestHash {
		return existing, false, fmt.Errorf("orders create: idempotency key reused for another request: %w", ErrConflict)
	}
	return existing, false, nil
}

// Get returns the order outTradeNo, or ErrNotFound.
func (s *Store) Get(ctx context.Context, outTradeNo string) (Order, error) {
	var o Order
	if err := findOne(ctx, s.orders, outTradeNo, &o); err != nil {
		return o, fmt.Errorf("orders get %s: %w", outTradeNo, err)
	}
	return o, nil
}

// SetPrepay records a successful prepay of a CREATED order: its prepay id, when that expires
// (two hours after issue, reference §3.1) and the wx.requestPayment parameters. On an order that
// is no longer CREATED it returns ErrState (it was paid or closed meanwhile).
func (s *Store) SetPrepay(ctx context.Context, outTradeNo, prepayID string, expiresAt time.Time, p Payment, now time.Time) (o Order, err error) {
	err = s.withLock(ctx, orderLock(outTradeNo), func() error {
		o, err = s.setPrepay(ctx, outTradeNo, prepayID, expiresAt, p, now)
		return err
	})
	return o, err
}

func (s *Store) setPrepay(ctx context.Context, outTradeNo, prepayID string, expiresAt time.Time, p Payment, now time.Time) (Order, error) {
	o, err := s.Get(ctx, outTradeNo)
	if err != nil {
		return o, fmt.Errorf("orders set prepay: %w", err)
	}
	if o.State != StateCreated {
		return o, fmt.Errorf("orders set prepay %s: order is %s: %w", outTradeNo, o.State, ErrState)
	}
	var after Order
	err = s.orders.FindOneAndUpdate(ctx,
		s.filter(outTradeNo, bson.E{Key: "state", Value: StateCreated}),
		bson.D{
			{Key: "$set", Value: bson.D{
				{Key: "prepayId", Value: prepayID}, {Key: "prepayExpiresAt", Value: dbTime(expiresAt)},
				{Key: "payment", Value: p}, {Key: "updatedAt", Value: dbTime(now)},
			}},
			{Key: "$unset", Value: bson.D{{Key: "prepayError", Value: ""}}},
		},
		// A fresh value: decoding over o would keep the fields the update removed.
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return o, s.stateError(ctx, "set prepay", outTradeNo)
	}
	if err != nil {
		return o, fmt.Errorf("orders set prepay %s: %w", outTradeNo, err)
	}
	return after, nil
}

// SetPrepayError records why the last prepay of a CREATED order failed (for operators; the
// order stays CREATED and a retry prepays again with identical parameters).
func (s *Store) SetPrepayError(ctx context.Context, outTradeNo, why string, now time.Time) error {
	err := s.withLock(ctx, orderLock(outTradeNo), func() error {
		o, err := s.Get(ctx, outTradeNo)
		if err != nil || o.State != StateCreated {
			return err
		}
		_, err = s.orders.UpdateOne(ctx,
			s.filter(outTradeNo, bson.E{Key: "state", Value: StateCreated}),
			bson.D{{Key: "$set", Value: bson.D{{Key: "prepayError", Value: why}, {Key: "updatedAt", Value: dbTime(now)}}}})
		return err
	})
	if err != nil {
		return fmt.Errorf("orders set prepay error %s: %w", outTradeNo, err)
	}
	return nil
}

// Close moves a CREATED order to CLOSED (closed by its owner, or found CLOSED at WeChat Pay).
// Closing a CLOSED order again succeeds and changes nothing; any other state is ErrState.
func (s *Store) Close(ctx context.Context, outTradeNo, reason string, now time.Time) (o Order, err error) {
	err = s.withLock(ctx, orderLock(outTradeNo), func() error {
		o, err = s.close(ctx, outTradeNo, reason, now)
		return err
	})
	return o, err
}

func (s *Store) close(ctx context.Context, outTradeNo, reason string, now time.Time) (Order, error) {
	now = dbTime(now)
	o, err := s.Get(ctx, outTradeNo)
	switch {
	case err != nil:
		return o, fmt.Errorf("orders close: %w", err)
	case o.State == StateClosed:
		return o, nil
	case o.State != StateCreated:
		return o, fmt.Errorf("orders close %s: order is %s: %w", outTradeNo, o.State, ErrState)
	}
	var after Order
	err = s.orders.FindOneAndUpdate(ctx,
		s.filter(outTradeNo, bson.E{Key: "state", Value: StateCreated}),
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "state", Value: StateClosed}, {Key: "closedAt", Value: now},
			{Key: "closeReason", Value: reason}, {Key: "updatedAt", Value: now},
		}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return o, s.stateError(ctx, "close", outTradeNo)
	}
	if err != nil {
		return o, fmt.Errorf("orders close %s: %w", outTradeNo, err)
	}
	return after, nil
}

// Flag records a problem on an order (at most once per key) without changing its state.
func (s *Store) Flag(ctx context.Context, outTradeNo string, f Flag) error {
	return s.withLock(ctx, orderLock(outTradeNo), func() error { return s.flag(ctx, outTradeNo, f) })
}

func (s *Store) flag(ctx context.Context, outTradeNo string, f Flag) error {
	if f.Key == "" {
		f.Key = f.Reason
	}
	f.At = dbTime(f.At)
	o, err := s.Get(ctx, outTradeNo)
	if err != nil {
		return fmt.Errorf("orders flag: %w", err)
	}
	return s.pushFlag(ctx, s.orders, outTradeNo, o.Flags, f, "flag")
}

// pushFlag adds f to the flags of document id in c (an order or a refund) unless one with its key
// is there already: a late or repeated event never stacks the same flag twice.
func (s *Store) pushFlag(ctx context.Context, c *mongo.Collection, id string, have []Flag, f Flag, op string) error {
	if slices.ContainsFunc(have, func(g Flag) bool { return g.Key == f.Key }) {
		return nil
	}
	_, err := c.UpdateOne(ctx,
		s.filter(id, bson.E{Key: "flags.key", Value: bson.D{{Key: "$ne", Value: f.Key}}}),
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "flagged", Value: true}, {Key: "updatedAt", Value: f.At}}},
			{Key: "$push", Value: bson.D{{Key: "flags", Value: f}}},
		})
	if err != nil {
		return fmt.Errorf("orders %s %s: %w", op, id, err)
	}
	return nil
}

// ListByOwner returns an owner's most recent orders, newest first.
func (s *Store) ListByOwner(ctx context.Context, openID string, limit int64) ([]Order, error) {
	return findAll[Order](ctx, s.orders, "list", bson.D{{Key: "openid", Value: openID}}, bson.D{{Key: "createdAt", Value: -1}}, limit)
}

// EachPaidBetween calls f for every order paid in [from, to) (by paidAt), in paidAt order, for
// reconciliation. It stops at f's first error and returns it.
func (s *Store) EachPaidBetween(ctx context.Context, from, to time.Time, f func(Order) error) error {
	return eachBetween(ctx, s.orders, "paid between", "paidAt", from, to, f)
}

// stateError explains why a conditional update on an order matched nothing.
func (s *Store) stateError(ctx context.Context, op, outTradeNo string) error {
	o, err := s.Get(ctx, outTradeNo)
	if err != nil {
		return fmt.Errorf("orders %s: %w", op, err)
	}
	return fmt.Errorf("orders %s %s: order is %s: %w", op, outTradeNo, o.State, ErrState)
}

// shanghai is Beijing time, in which out_trade_nos and bills count days; a fixed zone because
// China has no daylight saving and a function image may lack the tz database.
var shanghai = time.FixedZone("CST", 8*3600)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewOutTradeNo returns a fresh out_trade_no: yyyymmddHHMMSS in Beijing time followed by 10
// random base-62 characters (24 characters, within WeChat Pay's 6–32 of [0-9A-Za-z_-|*]), so
// that numbers sort by creation time and cannot be guessed.
func NewOutTradeNo(now time.Time) string { return newNo("", now) }

// NewOutRefundNo returns a fresh out_refund_no: "R" then the same shape as NewOutTradeNo.
func NewOutRefundNo(now time.Time) string { return newNo("R", now) }

func newNo(prefix string, now time.Time) string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic("orders: crypto/rand failed: " + err.Error()) // never happens on supported systems
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + now.In(shanghai).Format("20060102150405") + string(b)
}

// ValidOutTradeNo reports whether s can be an out_trade_no (reference §3.1). Functions check
// path parameters with it before touching the database.
func ValidOutTradeNo(s string) bool { return wxpay.ValidOutTradeNo(s) }

// ValidOutRefundNo reports whether s can be an out_refund_no (1–64 of [0-9A-Za-z_-|*@]).
func ValidOutRefundNo(s string) bool { return wxpay.ValidOutRefundNo(s) }
