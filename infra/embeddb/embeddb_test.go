package embeddb_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/infra/embeddb"
)

// TestStartPersistsAcrossRestart writes a document, restarts the server on the same directory
// and reads it back, which proves the data lives in SQLite files under Dir.
func TestStartPersistsAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet, and has no trailing "/"

	db, err := embeddb.Start(ctx, embeddb.Options{Dir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(db.URI(), "mongodb://127.0.0.1:") || strings.HasSuffix(db.URI(), ":0/") {
		t.Fatalf("URI = %q, want a concrete loopback port", db.URI())
	}
	withClient(t, db.URI(), func(c *mongo.Client) {
		if _, err := c.Database("embeddbtest").Collection("things").InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	})
	db.Stop()
	db.Stop() // idempotent

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range entries {
		found = found || strings.HasPrefix(e.Name(), "embeddbtest")
	}
	if !found {
		t.Fatalf("no SQLite file for the database in %s: %v", dir, entries)
	}

	db, err = embeddb.Start(ctx, embeddb.Options{Dir: dir + "/"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Stop()
	withClient(t, db.URI(), func(c *mongo.Client) {
		var got struct {
			N int `bson:"n"`
		}
		if err := c.Database("embeddbtest").Collection("things").FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got.N != 1 {
			t.Fatalf("n = %d, want 1", got.N)
		}
	})
}

func TestStartRefusesBadOptions(t *testing.T) {
	ctx := context.Background()
	if _, err := embeddb.Start(ctx, embeddb.Options{}); err == nil {
		t.Fatal("empty Dir: want an error")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := embeddb.Start(ctx, embeddb.Options{Dir: file}); err == nil {
		t.Fatal("Dir is a file: want an error")
	}
	if _, err := embeddb.Start(ctx, embeddb.Options{Dir: t.TempDir(), Addr: "127.0.0.1:notaport"}); err == nil {
		t.Fatal("bad Addr: want an error")
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := embeddb.Start(ctx, embeddb.Options{Dir: t.TempDir(), Addr: busy.Addr().String()}); err == nil {
		t.Fatal("port in use: want an error")
	}
	// A back-end leaked by a failed start panics in its finalizer; give the collector a chance
	// to find one while this test binary is still running.
	runtime.GC()
	runtime.GC()
}

func withClient(t *testing.T, uri string, f func(*mongo.Client)) {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	f(c)
}

// TestQuietLogger provokes a failed command (a duplicate key) and checks that FerretDB's echo of
// it reaches a plain warn-level logger but not a quiet one, while other warnings still pass.
func TestQuietLogger(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		var buf syncBuffer
		h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})
		logger := slog.New(h)
		if quiet {
			logger = embeddb.QuietLogger(h)
		}
		db, err := embeddb.Start(context.Background(), embeddb.Options{Dir: t.TempDir(), Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		withClient(t, db.URI(), func(c *mongo.Client) {
			coll := c.Database("quiet").Collection("c")
			doc := bson.D{{Key: "_id", Value: 1}}
			if _, err := coll.InsertOne(context.Background(), doc); err != nil {
				t.Fatal(err)
			}
			if _, err := coll.InsertOne(context.Background(), doc); !mongo.IsDuplicateKeyError(err) {
				t.Fatalf("second insert: %v, want a duplicate key error", err)
			}
		})
		db.Stop()
		logger.Warn("still here")

		out := buf.String()
		if got := strings.Contains(out, "Response message"); got == quiet {
			t.Errorf("quiet=%v: response echo logged=%v\n%s", quiet, got, out)
		}
		if !strings.Contains(out, "still here") {
			t.Errorf("quiet=%v: an ordinary warning was dropped\n%s", quiet, out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for FerretDB's connection goroutines to log into.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// BenchmarkStartStop measures a start (up to the first answered ping) and stop on a fresh
// directory, which is what every test binary and `make dev` pay once.
func BenchmarkStartStop(b *testing.B) {
	logger := embeddb.QuietLogger(slog.DiscardHandler)
	for b.Loop() {
		db, err := embeddb.Start(context.Background(), embeddb.Options{Dir: b.TempDir(), Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		db.Stop()
	}
}
