package orders

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Pending is the outcome of a notification that was recorded but whose application has not
// finished (yet): a redelivery must apply it again.
const Pending Outcome = "pending"

// Event is one document of pay_events: a verified WeChat Pay notification, keyed by its id.
// Refused notifications (bad signature, probes, stale) are never recorded.
type Event struct {
	ID          string `bson:"_id" json:"id"`
	EventType   string `bson:"eventType" json:"eventType"`
	Summary     string `bson:"summary,omitempty" json:"summary,omitempty"`
	CreateTime  string `bson:"createTime,omitempty" json:"createTime,omitempty"`
	OutTradeNo  string `bson:"outTradeNo,omitempty" json:"outTradeNo,omitempty"`
	OutRefundNo string `bson:"outRefundNo,omitempty" json:"outRefundNo,omitempty"`
	// Outcome is Pending until the notification has been applied, then Applied, Duplicate,
	// Flagged or Ignored.
	Outcome Outcome `bson:"outcome" json:"outcome"`
	Detail  string  `bson:"detail,omitempty" json:"detail,omitempty"`
	// Plaintext is the decrypted resource, kept for audit and reconciliation.
	Plaintext  string    `bson:"plaintext,omitempty" json:"-"`
	Deliveries int       `bson:"deliveries" json:"deliveries"`
	ReceivedAt time.Time `bson:"receivedAt" json:"receivedAt"`
	UpdatedAt  time.Time `bson:"updatedAt" json:"updatedAt"`
}

// RecordEvent records a verified notification as Pending, or counts one more delivery of a
// notification already recorded. It returns the stored event: when its Outcome is not Pending
// the notification was fully handled before and must only be acknowledged; when it is Pending
// (first delivery, a concurrent one, or one that failed half-way) the caller applies it — every
// transition is idempotent — and then calls SetEventOutcome.
func (s *Store) RecordEvent(ctx context.Context, e Event, now time.Time) (Event, error) {
	now = dbTime(now)
	e.Outcome, e.Deliveries, e.ReceivedAt, e.UpdatedAt = Pending, 1, now, now
	_, err := s.events.InsertOne(ctx, e)
	if err == nil {
		return e, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return Event{}, fmt.Errorf("orders record event %s: %w", e.ID, err)
	}
	var stored Event
	err = s.withLock(ctx, eventLock(e.ID), func() error {
		return s.events.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: e.ID}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "deliveries", Value: 1}}}, {Key: "$set", Value: bson.D{{Key: "updatedAt", Value: now}}}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&stored)
	})
	if err != nil {
		return Event{}, fmt.Errorf("orders record event %s: %w", e.ID, err)
	}
	return stored, nil
}

// SetEventOutcome records how a notification was handled. The first final outcome wins, except
// that Applied replaces Duplicate: when deliveries of one notification race, the one that made
// the transition has the last word.
func (s *Store) SetEventOutcome(ctx context.Context, id string, o Outcome, detail string, now time.Time) error {
	if o == Pending || o == "" {
		return fmt.Errorf("orders set event outcome %s: %q is not a final outcome", id, o)
	}
	from := []Outcome{Pending}
	if o == Applied {
		from = append(from, Duplicate)
	}
	err := s.withLock(ctx, eventLock(id), func() error {
		var e Event
		if err := findOne(ctx, s.events, id, &e); err != nil || !slices.Contains(from, e.Outcome) {
			return err
		}
		_, err := s.events.UpdateOne(ctx,
			s.filter(id, bson.E{Key: "outcome", Value: bson.D{{Key: "$in", Value: from}}}),
			bson.D{{Key: "$set", Value: bson.D{{Key: "outcome", Value: o}, {Key: "detail", Value: detail}, {Key: "updatedAt", Value: dbTime(now)}}}})
		return err
	})
	if err != nil {
		return fmt.Errorf("orders set event outcome %s: %w", id, err)
	}
	return nil
}

// GetEvent returns the recorded notification id, or ErrNotFound.
func (s *Store) GetEvent(ctx context.Context, id string) (Event, error) {
	var e Event
	if err := findOne(ctx, s.events, id, &e); err != nil {
		return e, fmt.Errorf("orders get event %s: %w", id, err)
	}
	return e, nil
}

// EventsOf returns the notifications recorded for an order, oldest first.
func (s *Store) EventsOf(ctx context.Context, outTradeNo string) ([]Event, error) {
	return findAll[Event](ctx, s.events, "events of "+outTradeNo, bson.D{{Key: "outTradeNo", Value: outTradeNo}}, bson.D{{Key: "receivedAt", Value: 1}}, 0)
}
