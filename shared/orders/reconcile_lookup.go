package orders

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// OrdersByID returns the orders among ids that exist, keyed by out_trade_no, in one query:
// reconciliation looks up a bill's rows in batches rather than one round trip per row.
func (s *Store) OrdersByID(ctx context.Context, ids []string) (map[string]Order, error) {
	out := make(map[string]Order, len(ids))
	if err := findIn(ctx, s.orders, ids, func(cur *mongo.Cursor) error {
		var o Order
		if err := cur.Decode(&o); err != nil {
			return err
		}
		out[o.OutTradeNo] = o
		return nil
	}); err != nil {
		return nil, fmt.Errorf("orders by id: %w", err)
	}
	return out, nil
}

// RefundsByID returns the refunds among ids that exist, keyed by out_refund_no, in one query.
func (s *Store) RefundsByID(ctx context.Context, ids []string) (map[string]Refund, error) {
	out := make(map[string]Refund, len(ids))
	if err := findIn(ctx, s.refunds, ids, func(cur *mongo.Cursor) error {
		var r Refund
		if err := cur.Decode(&r); err != nil {
			return err
		}
		out[r.OutRefundNo] = r
		return nil
	}); err != nil {
		return nil, fmt.Errorf("refunds by id: %w", err)
	}
	return out, nil
}

func findIn(ctx context.Context, c *mongo.Collection, ids []string, each func(*mongo.Cursor) error) error {
	if len(ids) == 0 {
		return nil
	}
	cur, err := c.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		if err := each(cur); err != nil {
			return err
		}
	}
	return cur.Err()
}
