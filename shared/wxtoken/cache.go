// Package wxtoken shares WeChat access tokens between every instance of every function through
// the `tokens` collection. It implements silenceper's cache.Cache, so the SDK's own token handles
// use it unchanged, and adds a lease: when the token is missing or expired, one instance wins the
// lease and lets the SDK fetch (via stable_token), while the others wait for the value it stores.
// However many instances start cold together, WeChat sees one token call.
package wxtoken

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/shared/store"
)

// Collection is where tokens and leases live.
const Collection = "tokens"

// Defaults for the lease. A holder that dies mid-fetch blocks the others for at most LeaseTTL.
const (
	DefaultLeaseTTL = 10 * time.Second
	DefaultWait     = 15 * time.Second
	pollInterval    = 50 * time.Millisecond
	opTimeout       = 5 * time.Second
)

// tokenDoc is one cached value.
type tokenDoc struct {
	ID        string    `bson:"_id"`
	Value     string    `bson:"value,omitempty"`
	ExpiresAt time.Time `bson:"expiresAt,omitempty"`
	UpdatedAt time.Time `bson:"updatedAt,omitempty"`
}

// DB returns the database lazily; the cache is built before anything connects.
type DB func(ctx context.Context) (*mongo.Database, error)

// Cache is a cache.Cache (and cache.ContextCache) over the tokens collection, with an in-memory
// layer so that a warm instance does not read the database for every WeChat call.
type Cache struct {
	db       DB
	holder   string
	leaseTTL time.Duration
	wait     time.Duration
	now      func() time.Time

	mu  sync.Mutex
	mem map[string]memEntry
}

type memEntry struct {
	value string
	until time.Time
}

// Option adjusts a Cache.
type Option func(*Cache)

// WithLease sets how long a lease lasts and how long a waiter waits for the holder.
func WithLease(ttl, wait time.Duration) Option {
	return func(c *Cache) { c.leaseTTL, c.wait = ttl, wait }
}

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(c *Cache) { c.now = now } }

// New builds a cache over the database db returns.
func New(db DB, opts ...Option) *Cache {
	b := make([]byte, 8)
	rand.Read(b)
	c := &Cache{db: db, holder: hex.EncodeToString(b), leaseTTL: DefaultLeaseTTL, wait: DefaultWait, now: time.Now, mem: map[string]memEntry{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Get implements cache.Cache. The SDK calls it without a context; it is bounded by the wait.
func (c *Cache) Get(key string) any { return c.GetContext(context.Background(), key) }

// GetContext returns the live value for key, or nil. A nil answer means "fetch it": the
// caller then holds the lease (or the database is unreachable and it fetches on its own, which
// stable_token's normal mode makes harmless).
func (c *Cache) GetContext(ctx context.Context, key string) any {
	if v, ok := c.memGet(key); ok {
		return v
	}
	ctx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	coll, err := c.coll(ctx)
	if err != nil {
		slog.WarnContext(ctx, "token cache unavailable; fetching without it", "key", key, "err", err)
		return nil
	}
	locks := c.locks(coll)
	for {
		if v, ok, err := c.live(ctx, coll, key); err != nil {
			slog.WarnContext(ctx, "token cache read failed; fetching without it", "key", key, "err", err)
			return nil
		} else if ok {
			return v
		}
		won, err := locks.Acquire(ctx, leaseKey(key), c.holder)
		if err != nil {
			slog.WarnContext(ctx, "token lease failed; fetching without it", "key", key, "err", err)
			return nil
		}
		if won {
			// Look again under the lease: the previous holder may have stored the value and
			// released between our read and our insert.
			if v, ok, err := c.live(ctx, coll, key); err == nil && ok {
				locks.Release(ctx, leaseKey(key), c.holder)
				return v
			}
			return nil
		}
		select {
		case <-ctx.Done():
			slog.WarnContext(ctx, "gave up waiting for the token lease holder", "key", key)
			return nil
		case <-time.After(pollInterval):
		}
	}
}

// live reads the value for key and reports whether it is still valid.
func (c *Cache) live(ctx context.Context, coll *mongo.Collection, key string) (string, bool, error) {
	doc, err := c.find(ctx, coll, key)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if doc.Value != "" && doc.ExpiresAt.After(c.now()) {
		c.memSet(key, doc.Value, doc.ExpiresAt)
		return doc.Value, true, nil
	}
	return "", false, nil
}

// The lease is a store lock: FerretDB makes only unique inserts and deletes atomic, not
// conditional updates, so a lease taken with an update could be won twice. Its document lives
// in the tokens collection beside the value it guards.
func leaseKey(key string) string { return "lease:" + key }

func (c *Cache) locks(coll *mongo.Collection) *store.Locks {
	l := store.NewLocks(coll)
	l.TTL = c.leaseTTL
	return l
}

// Set implements cache.Cache: it stores the value and releases the lease.
func (c *Cache) Set(key string, val any, timeout time.Duration) error {
	return c.SetContext(context.Background(), key, val, timeout)
}

// SetContext stores val for timeout and releases the lease.
func (c *Cache) SetContext(ctx context.Context, key string, val any, timeout time.Duration) error {
	s, ok := val.(string)
	if !ok {
		// The SDK's token handles type-assert string; anything else would panic them later.
		return fmt.Errorf("wxtoken set %s: value must be a string, got %T", key, val)
	}
	exp := c.now().Add(timeout)
	c.memSet(key, s, exp)
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	coll, err := c.coll(ctx)
	if err != nil {
		return fmt.Errorf("wxtoken set %s: %w", key, err)
	}
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "value", Value: s}, {Key: "expiresAt", Value: exp}, {Key: "updatedAt", Value: c.now()}}},
	}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("wxtoken set %s: %w", key, err)
	}
	c.locks(coll).Release(ctx, leaseKey(key), c.holder)
	return nil
}

// IsExist implements cache.Cache.
func (c *Cache) IsExist(key string) bool { return c.IsExistContext(context.Background(), key) }

// IsExistContext reports whether a live value exists, without taking the lease.
func (c *Cache) IsExistContext(ctx context.Context, key string) bool {
	if _, ok := c.memGet(key); ok {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	coll, err := c.coll(ctx)
	if err != nil {
		return false
	}
	doc, err := c.find(ctx, coll, key)
	return err == nil && doc.Value != "" && doc.ExpiresAt.After(c.now())
}

// Delete implements cache.Cache.
func (c *Cache) Delete(key string) error { return c.DeleteContext(context.Background(), key) }

// DeleteContext removes the value for key.
func (c *Cache) DeleteContext(ctx context.Context, key string) error {
	return c.invalidate(ctx, key, bson.D{{Key: "_id", Value: key}})
}

// Invalidate removes the value for key only if it is still bad, the value WeChat refused. When
// many instances see the same 40001 at once, the first removes it and refreshes; the others'
// invalidations then find a different value and leave the fresh one alone.
func (c *Cache) Invalidate(ctx context.Context, key, bad string) error {
	return c.invalidate(ctx, key, bson.D{{Key: "_id", Value: key}, {Key: "value", Value: bad}})
}

func (c *Cache) invalidate(ctx context.Context, key string, filter bson.D) error {
	c.mu.Lock()
	delete(c.mem, key)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	coll, err := c.coll(ctx)
	if err != nil {
		return fmt.Errorf("wxtoken invalidate %s: %w", key, err)
	}
	_, err = coll.UpdateOne(ctx, filter, bson.D{{Key: "$unset", Value: bson.D{{Key: "value", Value: ""}, {Key: "expiresAt", Value: ""}}}})
	if err != nil {
		return fmt.Errorf("wxtoken invalidate %s: %w", key, err)
	}
	return nil
}

func (c *Cache) coll(ctx context.Context) (*mongo.Collection, error) {
	db, err := c.db(ctx)
	if err != nil {
		return nil, err
	}
	return db.Collection(Collection), nil
}

func (c *Cache) find(ctx context.Context, coll *mongo.Collection, key string) (tokenDoc, error) {
	opCtx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var doc tokenDoc
	err := coll.FindOne(opCtx, bson.D{{Key: "_id", Value: key}}).Decode(&doc)
	return doc, err
}

func (c *Cache) memGet(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.mem[key]
	if !ok || !e.until.After(c.now()) {
		return "", false
	}
	return e.value, true
}

func (c *Cache) memSet(key, value string, until time.Time) {
	c.mu.Lock()
	c.mem[key] = memEntry{value: value, until: until}
	c.mu.Unlock()
}
