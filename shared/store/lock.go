package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Why locks at all, when DESIGN §5 says one conditional update moves a state: on MongoDB it
// does, but FerretDB v1 (the local stack and the tests) runs an update as a query followed by a
// whole-document write, with nothing in between. Two concurrent conditional updates of one
// document can then both match, and each overwrites the other's fields (observed: 12 concurrent
// {refundable: {$gte: 300}} + {$inc: {refundable: -300}} on 1000 reported 6 matches and kept 3).
// What FerretDB does make atomic is an insert against a unique _id and a delete. A lock is a
// document {_id: key} that exactly one writer can insert; it expires, so a crashed holder blocks
// the others for at most its TTL. Callers keep their conditional filters too, so that on MongoDB
// a writer that outlived its lock still cannot break a rule.

// ErrBusy means a lock stayed held by others for longer than the wait. It is transient.
var ErrBusy = errors.New("store: busy; try again")

// Locks are short-lived named locks in one collection.
type Locks struct {
	coll *mongo.Collection
	// TTL bounds how long a crashed holder keeps a lock.
	TTL time.Duration
	// Wait is how long With waits for a lock before giving up with ErrBusy.
	Wait time.Duration
}

// NewLocks returns locks kept in coll, with a 10 s TTL and a 5 s wait.
func NewLocks(coll *mongo.Collection) *Locks {
	return &Locks{coll: coll, TTL: 10 * time.Second, Wait: 5 * time.Second}
}

type lockDoc struct {
	ID    string    `bson:"_id"`
	Owner string    `bson:"owner"`
	Until time.Time `bson:"until"`
}

// NewOwner returns a random owner id for Acquire and Release.
func NewOwner() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Acquire takes the lock named key for owner without waiting. It reports true when owner now
// holds it (including when owner already did), false when someone else holds a live lock. A lock
// whose holder's TTL has passed is removed and taken over. Lock times are wall-clock.
func (l *Locks) Acquire(ctx context.Context, key, owner string) (bool, error) {
	for {
		_, err := l.coll.InsertOne(ctx, lockDoc{ID: key, Owner: owner, Until: time.Now().Add(l.TTL)})
		if err == nil {
			return true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return false, fmt.Errorf("store lock %s: %w", key, err)
		}
		var held lockDoc
		err = l.coll.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&held)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue // released between the insert and the read
		case err != nil:
			return false, fmt.Errorf("store lock %s: %w", key, err)
		case held.Owner == owner:
			return true, nil
		case held.Until.Before(time.Now()):
			// Its holder died. Deleting by owner removes exactly that stale lock; whoever's
			// insert then wins holds it.
			if _, err := l.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "owner", Value: held.Owner}}); err != nil {
				return false, fmt.Errorf("store lock %s: %w", key, err)
			}
			continue
		}
		return false, nil
	}
}

// Held reports whether anyone holds a live lock named key.
func (l *Locks) Held(ctx context.Context, key string) (bool, error) {
	var held lockDoc
	err := l.coll.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&held)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store lock %s: %w", key, err)
	}
	return !held.Until.Before(time.Now()), nil
}

// Release gives up owner's lock named key, even when ctx is already cancelled, so that an
// answered request does not leave the lock held for its TTL. A failure leaves the lock to expire.
func (l *Locks) Release(ctx context.Context, key, owner string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = l.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "owner", Value: owner}})
}

// With runs f holding the lock named key, waiting up to Wait for it.
func (l *Locks) With(ctx context.Context, key string, f func() error) error {
	owner := NewOwner()
	deadline := time.Now().Add(l.Wait)
	pause := time.Millisecond
	for {
		ok, err := l.Acquire(ctx, key, owner)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("store lock %s: %w", key, ErrBusy)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("store lock %s: %w", key, ctx.Err())
		case <-t.C:
		}
		pause = min(pause*2, 25*time.Millisecond)
	}
	defer l.Release(ctx, key, owner)
	return f()
}
