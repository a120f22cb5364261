// Package embeddb runs FerretDB v1 with its SQLite back-end inside the current process, so that
// the local stack and the tests have a real MongoDB-wire-protocol database with no set-up beyond Go.
//
// It is infra: nothing under functions/ or shared/ may import it, so the database engine is never
// linked into a function binary.
package embeddb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Options configures Start.
type Options struct {
	// Dir is the directory holding one SQLite file per database. It is created if missing.
	// FerretDB requires an existing directory given with a trailing "/"; Start takes care of both.
	Dir string
	// Addr is the TCP address to listen on: "127.0.0.1:27017" for a well-known port, or
	// "127.0.0.1:0" (the default when empty) for a free one. The server has no authentication, so
	// keep it on loopback.
	Addr string
	// Logger receives FerretDB's logs as they are. When nil, Start uses a quiet one (QuietLogger
	// on stderr), because FerretDB logs every connection at info level and echoes every failed
	// command at warn level.
	Logger *slog.Logger
}

// DB is a running embedded FerretDB.
type DB struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// readyTimeout bounds the readiness ping; a local SQLite-backed server answers in milliseconds,
// so reaching it means something is wrong.
const readyTimeout = 10 * time.Second

// Start starts FerretDB and returns once it answers a ping on its listener.
// ctx bounds the start only; call Stop to shut the server down.
func Start(ctx context.Context, opts Options) (*DB, error) {
	if strings.TrimSpace(opts.Dir) == "" {
		return nil, errors.New("embeddb start: Options.Dir is empty")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("embeddb start: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embeddb start: %w", err)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	logger := opts.Logger
	if logger == nil {
		logger = QuietLogger(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	// FerretDB parses this as a URL and wants the path to end with "/"; building it with url.URL
	// escapes any character of the path that would otherwise start a query or fragment.
	// Never "mode=memory": in-memory SQLite databases deadlock FerretDB's single-connection pool.
	sqliteURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/"}).String()

	// FerretDB v1.24 leaks its back-end when its listener fails to bind (New returns the error
	// without closing it), and a leaked back-end panics in its finalizer at the next garbage
	// collection, killing the process. So bind first here, where failing is harmless, and hand
	// FerretDB the concrete address; this also resolves port 0 to a free port.
	addr, err = probe(addr)
	if err != nil {
		return nil, fmt.Errorf("embeddb start: %w", err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return nil, fmt.Errorf("embeddb start on %s: %w", addr, err)
	}

	// In v1.24 the listener is bound inside New, so MongoDBURI is safe to call before Run; with
	// an older FerretDB it blocks until Run binds it, hence Run is started first regardless.
	runCtx, cancel := context.WithCancel(context.Background())
	db := &DB{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(db.done)
		_ = f.Run(runCtx) // always nil; it returns once ctx is cancelled and everything is closed
	}()
	db.uri = f.MongoDBURI()

	if err := db.ping(ctx); err != nil {
		db.Stop()
		return nil, fmt.Errorf("embeddb start on %s: %w", addr, err)
	}
	return db, nil
}

// probe checks that addr can be listened on and returns it with its port resolved. The port is
// released before FerretDB binds it again; another process could take it in between, which is
// the lesser evil next to FerretDB's leak.
func probe(addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	bound := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", err
	}
	return bound, nil
}

// ping waits until the server answers, which proves the accept loop runs and the back-end opened.
func (db *DB) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(db.uri).SetMaxPoolSize(1))
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	// Disconnect before returning: a client left connected would hold Stop in FerretDB's
	// grace period for open connections.
	defer c.Disconnect(context.Background())
	if err := c.Ping(ctx, nil); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// URI is the MongoDB connection string of the server, "mongodb://127.0.0.1:PORT/".
func (db *DB) URI() string { return db.uri }

// Stop shuts the server down and waits until its listener, connections and SQLite files are
// closed. Disconnect clients first: FerretDB gives connections still open a few seconds' grace.
// Stop is safe to call more than once.
func (db *DB) Stop() {
	db.once.Do(db.cancel)
	<-db.done
}

// QuietLogger wraps h so that FerretDB's echo of every failed command is dropped. FerretDB logs
// each response with ok:0 at warn level, header and body, which includes ordinary outcomes the
// client handles itself: duplicate keys, the driver's endSessions on disconnect, "not
// implemented" for TTL indexes. Everything else, including errors that close a connection,
// passes through to h.
func QuietLogger(h slog.Handler) *slog.Logger { return slog.New(quietHandler{h}) }

type quietHandler struct{ slog.Handler }

func (q quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelError && (strings.HasPrefix(r.Message, "Response ") || strings.HasPrefix(r.Message, "Proxy response ")) {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

func (q quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{q.Handler.WithAttrs(as)}
}

func (q quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{q.Handler.WithGroup(name)}
}
