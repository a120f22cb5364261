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

	"github.com/wxfn/wxfn/shared/store"
)

// LocksCollection holds the short-lived locks that serialise writes to one order.
const LocksCollection = "order_locks"

// Why a lock at all, when DESIGN §5 says one conditional update moves a state: on MongoDB it
// does, but FerretDB v1 (the local stack and the tests) runs an update as a query followed by a
// whole-document write, with nothing in between. Two concurrent conditional updates of one order
// can then both match, and each overwrites the other's fields (observed: 12 concurrent
// {refundable: {$gte: 300}} + {$inc: {refundable: -300}} on 1000 reported 6 matches and kept 3).
// What FerretDB does make atomic is an insert against a unique _id and a delete (it reports the
// rows SQLite removed). So every write to an order, and to its refunds, happens while holding a
// lock document {_id: "order:<outTradeNo>"} that exactly one writer can insert; the conditional
// filters stay, so that on MongoDB a writer that outlived its lock still cannot break a rule.

// ErrBusy: the order stayed locked by other writers for longer than LockWait. It is transient;
// retrying later succeeds.
var ErrBusy = errors.New("orders: the order is busy; try again")

// IsTransient reports whether err is worth retrying unchanged: the database was unreachable or
// the order was busy.
func IsTransient(err error) bool {
	return errors.Is(err, ErrBusy) || store.IsUnavailable(err)
}

const (
	// LockTTL bounds how long a crashed writer can keep an order locked. A holder does a handful
	// of database calls (never a WeChat call), far less than this.
	LockTTL = 10 * time.Second
	// LockWait is how long a writer waits for an order's lock before giving up with ErrBusy.
	LockWait = 5 * time.Second
)

type lockDoc struct {
	ID    string    `bson:"_id"`
	Owner string    `bson:"owner"`
	Until time.Time `bson:"until"`
}

// withLock runs f holding the lock named key. Lock times are wall-clock (time.Now), whatever
// business clock the caller passes around.
func (s *Store) withLock(ctx context.Context, key string, f func() error) error {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	owner := hex.EncodeToString(b)
	if err := s.lock(ctx, key, owner); err != nil {
		return err
	}
	defer s.unlock(ctx, key, owner)
	return f()
}

func (s *Store) lock(ctx context.Context, key, owner string) error {
	deadline := time.Now().Add(LockWait)
	pause := time.Millisecond
	for {
		_, err := s.locks.InsertOne(ctx, lockDoc{ID: key, Owner: owner, Until: time.Now().Add(LockTTL)})
		if err == nil {
			return nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return fmt.Errorf("orders lock %s: %w", key, err)
		}
		var held lockDoc
		err = s.locks.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&held)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue // released between the insert and the read
		case err != nil:
			return fmt.Errorf("orders lock %s: %w", key, err)
		case held.Until.Before(time.Now()):
			// Its holder died. Deleting by owner removes exactly that stale lock; whoever's
			// insert then wins holds it.
			if _, err := s.locks.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "owner", Value: held.Owner}}); err != nil {
				return fmt.Errorf("orders lock %s: %w", key, err)
			}
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("orders lock %s: %w", key, ErrBusy)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("orders lock %s: %w", key, ctx.Err())
		case <-t.C:
		}
		pause = min(pause*2, 25*time.Millisecond)
	}
}

// unlock releases the lock even when ctx is already cancelled, so that an answered request does
// not leave the order locked for LockTTL.
func (s *Store) unlock(ctx context.Context, key, owner string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// A failure leaves the lock to expire after LockTTL; nothing else is wrong.
	_, _ = s.locks.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "owner", Value: owner}})
}

func orderLock(outTradeNo string) string { return "order:" + outTradeNo }
func eventLock(id string) string         { return "event:" + id }
