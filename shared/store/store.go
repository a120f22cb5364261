// Package store is wxfn's access to its MongoDB-compatible database (DESIGN §5): a client that
// is built on first use and reused by every warm invocation, and the few helpers every function
// needs around it — recognising duplicate keys and an unreachable database, and creating a
// collection's indexes once per process.
//
// The same code runs against MongoDB in production and embedded FerretDB locally and in tests,
// so the client sets no client-wide Timeout (FerretDB rejects the maxTimeMS it would add to some
// commands): bound each call with its context instead.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/shared/config"
)

// Client settings sized for serverless: one instance serves one request at a time, so a small
// pool is plenty, and an unreachable database should fail the request quickly (with an error
// IsUnavailable recognises) rather than hold it until the platform's timeout. Options given in
// the URI (maxPoolSize=…, serverSelectionTimeoutMS=…) take precedence.
const (
	MaxPoolSize            = 10
	ServerSelectionTimeout = 5 * time.Second
	ConnectTimeout         = 5 * time.Second
)

// Lazy is a database connection made on first use and kept for the life of the process.
// It is safe for concurrent use.
type Lazy struct {
	cfg config.Database

	// db is the connected database, read without locking on the warm path.
	db atomic.Pointer[mongo.Database]
	// slot serialises connecting; it is a one-slot channel rather than a mutex so that a caller
	// waiting behind a slow connection can give up when its own context ends.
	slot chan struct{}
	// closed refuses new connections after Close.
	closed bool
}

// NewLazy returns a connection to cfg that connects on the first call to Database.
func NewLazy(cfg config.Database) *Lazy {
	return &Lazy{cfg: cfg, slot: make(chan struct{}, 1)}
}

// Database returns the configured database, connecting (and pinging, so that a wrong address
// or credentials surface here) on first use. A failed connection is not kept: the next call
// tries again.
func (l *Lazy) Database(ctx context.Context) (*mongo.Database, error) {
	if db := l.db.Load(); db != nil {
		return db, nil
	}
	select {
	case l.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("store connect: %w", ctx.Err())
	}
	defer func() { <-l.slot }()
	if db := l.db.Load(); db != nil {
		return db, nil // another caller connected while this one waited
	}
	if l.closed {
		return nil, fmt.Errorf("store connect: %w", mongo.ErrClientDisconnected)
	}
	db, err := connect(ctx, l.cfg)
	if err != nil {
		// The driver's errors name hosts and options, never the URI's password (tested).
		return nil, fmt.Errorf("store connect: %w", err)
	}
	l.db.Store(db)
	return db, nil
}

func connect(ctx context.Context, cfg config.Database) (*mongo.Database, error) {
	if strings.TrimSpace(cfg.URI) == "" {
		return nil, errors.New("MONGODB_URI is empty")
	}
	if strings.TrimSpace(cfg.Name) == "" {
		return nil, errors.New("database name is empty")
	}
	opts := options.Client().
		SetAppName("wxfn").
		SetMaxPoolSize(MaxPoolSize).
		SetServerSelectionTimeout(ServerSelectionTimeout).
		SetConnectTimeout(ConnectTimeout).
		ApplyURI(cfg.URI)
	c, err := mongo.Connect(opts)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx, nil); err != nil {
		// Disconnect so the abandoned client's monitors stop; its own bound is short because
		// nothing was checked out.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = c.Disconnect(dctx)
		return nil, fmt.Errorf("ping: %w", err)
	}
	return c.Database(cfg.Name), nil
}

// Close disconnects the client if one was made. A Lazy is not reusable after Close.
func (l *Lazy) Close(ctx context.Context) error {
	select {
	case l.slot <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("store close: %w", ctx.Err())
	}
	defer func() { <-l.slot }()
	l.closed = true
	db := l.db.Swap(nil)
	if db == nil {
		return nil
	}
	if err := db.Client().Disconnect(ctx); err != nil {
		return fmt.Errorf("store close: %w", err)
	}
	return nil
}
