// Package dbtest gives tests a real MongoDB-compatible database: one embedded FerretDB (SQLite
// back-end) per test binary, started on first use in a temporary directory on a free loopback
// port, and a fresh database name per test so that tests never see each other's documents.
//
// The pattern, in any package whose tests touch the database:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		db := dbtest.Database(t) // *mongo.Database, disconnected when the test ends
//		...
//	}
//
// or, for code that connects by itself (store.NewLazy, deps built over an environment):
//
//	cfg := dbtest.Config(t) // config.Database{URI, Name}
//	env := config.Map(map[string]string{"MONGODB_URI": cfg.URI, "MONGODB_DATABASE": cfg.Name})
//
// Main runs the tests and then stops the server and removes its directory. Clients a test opens
// itself must be disconnected in t.Cleanup (Database does this), since cleanups run before Main
// stops the server; a client still connected would make the stop wait out FerretDB's grace
// period. A test binary that uses this package without Main fails its first database test.
package dbtest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/infra/embeddb"
	"github.com/wxfn/wxfn/shared/config"
)

// server is the test binary's one database, started lazily. It is the per-process dependency
// the project's rules allow as package state.
var server struct {
	mu     sync.Mutex
	inMain bool
	db     *embeddb.DB
	dir    string
	err    error // a failed start is remembered: every later test would fail the same way
}

// seq numbers databases so that names stay unique when a test name repeats (subtests, -count).
var seq atomic.Int64

// Main runs the tests of m, then stops the database if one was started and removes its files,
// and exits with the tests' code. Call it from TestMain.
func Main(m *testing.M) {
	server.mu.Lock()
	server.inMain = true
	server.mu.Unlock()

	code := m.Run()

	server.mu.Lock()
	if server.db != nil {
		server.db.Stop()
	}
	if server.dir != "" {
		_ = os.RemoveAll(server.dir)
	}
	server.mu.Unlock()
	os.Exit(code)
}

// URI returns the connection string of the test binary's database server, starting it on first
// use.
func URI(t testing.TB) string {
	t.Helper()
	server.mu.Lock()
	defer server.mu.Unlock()
	if !server.inMain {
		t.Fatal("dbtest: call dbtest.Main(m) from TestMain, so that the database is stopped and removed after the tests")
	}
	if server.db == nil && server.err == nil {
		server.err = start()
	}
	if server.err != nil {
		t.Fatalf("dbtest: %v", server.err)
	}
	return server.db.URI()
}

func start() error {
	dir, err := os.MkdirTemp("", "wxfn-dbtest-")
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	db, err := embeddb.Start(context.Background(), embeddb.Options{
		Dir:    dir,
		Addr:   "127.0.0.1:0",
		Logger: embeddb.QuietLogger(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("start: %w", err)
	}
	server.db, server.dir = db, dir
	return nil
}

// unsafeName matches what FerretDB refuses in a database name (it allows [a-zA-Z0-9_-]{1,63}).
var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_]+`)

// New returns the server's URI and a database name no other test uses, derived from the test's
// name so that a leftover file is easy to trace.
func New(t testing.TB) (uri, dbName string) {
	t.Helper()
	uri = URI(t)
	suffix := fmt.Sprintf("_%d", seq.Add(1))
	base := strings.Trim(unsafeName.ReplaceAllString(t.Name(), "_"), "_")
	if max := 63 - len(suffix); len(base) > max {
		base = base[:max]
	}
	if base == "" {
		base = "t"
	}
	return uri, base + suffix
}

// Config returns database settings for a fresh database, for code that connects by itself.
func Config(t testing.TB) config.Database {
	t.Helper()
	uri, name := New(t)
	return config.Database{URI: uri, Name: name}
}

// Database connects to a fresh database and disconnects when the test and its subtests end.
func Database(t testing.TB) *mongo.Database {
	t.Helper()
	uri, name := New(t)
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Disconnect(context.Background()); err != nil {
			t.Errorf("dbtest: disconnect: %v", err)
		}
	})
	return c.Database(name)
}
