package orders

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/shared/store"
)

// Errors the transitions return; test with errors.Is. Database failures are returned wrapped
// as they are (store.IsUnavailable tells a transient one).
var (
	// ErrNotFound: no order, refund or product with that id.
	ErrNotFound = errors.New("orders: not found")
	// ErrState: the document is not in a state that allows the transition (closing a paid
	// order, refunding an unpaid one).
	ErrState = errors.New("orders: not allowed in this state")
	// ErrConflict: an id or idempotency key is already used for something else.
	ErrConflict = errors.New("orders: conflicts with an existing record")
	// ErrNotEnough: a refund asks for more than paid − refunded − refunding.
	ErrNotEnough = errors.New("orders: refund exceeds the refundable amount")
)

// Store is the payment books in one database. It is safe for concurrent use; build one per
// process (Open is cheap after the first call: indexes are ensured once per process).
type Store struct {
	products *mongo.Collection
	orders   *mongo.Collection
	refunds  *mongo.Collection
	events   *mongo.Collection
	locks    *store.Locks
	// narrow says that conditional writes filter on _id alone (FerretDB; see filter).
	narrow bool
}

// Open returns the books in db, creating the collections' indexes on first use.
func Open(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{
		products: db.Collection(ProductsCollection),
		orders:   db.Collection(OrdersCollection),
		refunds:  db.Collection(RefundsCollection),
		events:   db.Collection(EventsCollection),
		locks:    store.NewLocks(db.Collection(LocksCollection)),
	}
	idx := func(name string, unique bool, keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		o := options.Index().SetName(name)
		if unique {
			o.SetUnique(true)
		}
		return mongo.IndexModel{Keys: d, Options: o}
	}
	// idempotencyKey is always present (an order created without one carries its own
	// outTradeNo), so the unique index needs neither sparse nor a partial filter, which
	// FerretDB does not implement.
	ensure := []struct {
		c      *mongo.Collection
		models []mongo.IndexModel
	}{
		{s.orders, []mongo.IndexModel{
			idx("openid_idempotencyKey", true, "openid", "idempotencyKey"),
			idx("openid_createdAt", false, "openid", "createdAt"),
			idx("state_createdAt", false, "state", "createdAt"),
			idx("paidAt", false, "paidAt"),
			idx("transactionId", false, "transactionId"),
		}},
		{s.refunds, []mongo.IndexModel{
			idx("outTradeNo", false, "outTradeNo"),
			idx("state_updatedAt", false, "state", "updatedAt"),
			idx("successAt", false, "successAt"),
		}},
		{s.events, []mongo.IndexModel{
			idx("outTradeNo", false, "outTradeNo"),
			idx("receivedAt", false, "receivedAt"),
		}},
		{s.products, []mongo.IndexModel{idx("active", false, "active")}},
	}
	for _, e := range ensure {
		if err := store.EnsureIndexes(ctx, e.c, e.models...); err != nil {
			return nil, fmt.Errorf("orders open: %w", err)
		}
	}
	narrow, err := isFerretDB(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("orders open: %w", err)
	}
	s.narrow = narrow
	return s, nil
}

// backends remembers, per client, whether the server is FerretDB: asked once per process.
var backends sync.Map // *mongo.Client → bool

// isFerretDB reports whether db is served by FerretDB, whose buildInfo names its version.
func isFerretDB(ctx context.Context, db *mongo.Database) (bool, error) {
	if v, ok := backends.Load(db.Client()); ok {
		return v.(bool), nil
	}
	var info bson.Raw
	if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, fmt.Errorf("buildInfo: %w", err)
	}
	_, err := info.LookupErr("ferretdbVersion")
	ferret := err == nil
	backends.Store(db.Client(), ferret)
	return ferret, nil
}

// filter is the filter of a conditional write to the document id: {_id: id} and cond.
//
// Every conditional write happens under the order's lock after the same condition was checked on
// the document just read, so the condition in the filter is a second line of defence: on MongoDB
// it makes the write atomic even for a writer that outlived its lock. FerretDB v1 gains nothing
// from it (its updates are not atomic anyway) and loses a lot: it only looks a document up by
// key when the filter is exactly {_id: "…"}; any other filter decodes and tests every document of
// the collection (measured: a notification took 40 ms beside no other order, 250 ms beside 125). There the
// filter is narrowed to _id and the lock alone orders the writers.
func (s *Store) filter(id string, cond ...bson.E) bson.D {
	f := bson.D{{Key: "_id", Value: id}}
	if !s.narrow {
		f = append(f, cond...)
	}
	return f
}

// findOne decodes the document with _id id into v, mapping "no document" to ErrNotFound.
func findOne(ctx context.Context, c *mongo.Collection, id string, v any) error {
	err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(v)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrNotFound
	}
	return err
}

// now is truncated to the millisecond that BSON keeps, so that what a caller holds equals what a
// later read returns.
// findAll returns every document filter matches, in sort order; op names the operation in errors.
func findAll[T any](ctx context.Context, c *mongo.Collection, op string, filter, sort bson.D, limit int64) ([]T, error) {
	o := options.Find().SetSort(sort)
	if limit > 0 {
		o.SetLimit(limit)
	}
	cur, err := c.Find(ctx, filter, o)
	if err != nil {
		return nil, fmt.Errorf("orders %s: %w", op, err)
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("orders %s: %w", op, err)
	}
	return out, nil
}

// eachBetween calls f for every document whose field lies in [from, to), in field order,
// streaming (reconciliation walks a whole day). It stops at f's first error and returns it.
func eachBetween[T any](ctx context.Context, c *mongo.Collection, op, field string, from, to time.Time, f func(T) error) error {
	cur, err := c.Find(ctx, bson.D{{Key: field, Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}},
		options.Find().SetSort(bson.D{{Key: field, Value: 1}}))
	if err != nil {
		return fmt.Errorf("orders %s: %w", op, err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var v T
		if err := cur.Decode(&v); err != nil {
			return fmt.Errorf("orders %s: %w", op, err)
		}
		if err := f(v); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("orders %s: %w", op, err)
	}
	return nil
}

func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
