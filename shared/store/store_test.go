package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/infra/embeddb"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fast makes server selection against a dead address give up quickly; it also checks that
// options in the URI win over the package's defaults.
const fast = "/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestNothingConnectsUntilFirstUse counts connections on a listener: none after NewLazy, at
// least one after Database.
func TestNothingConnectsUntilFirstUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close() // not a MongoDB server: the handshake fails
		}
	}()

	lazy := store.NewLazy(config.Database{URI: "mongodb://" + l.Addr().String() + fast, Name: "x"})
	defer lazy.Close(context.Background())
	if n := accepted.Load(); n != 0 {
		t.Fatalf("NewLazy made %d connections", n)
	}
	if _, err := lazy.Database(context.Background()); err == nil {
		t.Fatal("Database against a non-MongoDB listener: want an error")
	}
	if accepted.Load() == 0 {
		t.Fatal("Database did not try to connect")
	}
}

func TestDatabaseIsReused(t *testing.T) {
	ctx := context.Background()
	lazy := store.NewLazy(dbtest.Config(t))
	t.Cleanup(func() { lazy.Close(context.Background()) })

	const callers = 8
	got := make([]*mongo.Database, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			db, err := lazy.Database(ctx)
			if err != nil {
				t.Error(err)
			}
			got[i] = db
		})
	}
	wg.Wait()
	for i, db := range got {
		if db == nil || db != got[0] {
			t.Fatalf("caller %d got %p, caller 0 got %p: want one shared database", i, db, got[0])
		}
	}
	if _, err := got[0].Collection("c").InsertOne(ctx, bson.D{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	again, err := lazy.Database(ctx)
	if err != nil || again != got[0] {
		t.Fatalf("warm call: %p, %v; want %p", again, err, got[0])
	}
}

// TestFailedConnectionIsNotKept fails against a dead port, then starts a server on that very
// port and expects the same Lazy to connect.
func TestFailedConnectionIsNotKept(t *testing.T) {
	ctx := context.Background()
	addr := freeAddr(t)
	lazy := store.NewLazy(config.Database{URI: "mongodb://" + addr + fast, Name: "retry"})

	_, err := lazy.Database(ctx)
	if err == nil {
		t.Fatal("Database with nothing listening: want an error")
	}
	if !store.IsUnavailable(err) {
		t.Fatalf("IsUnavailable(%v) = false", err)
	}

	db, err := embeddb.Start(ctx, embeddb.Options{Dir: t.TempDir(), Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Disconnect before stopping, or the stop waits out FerretDB's grace for open connections.
		lazy.Close(context.Background())
		db.Stop()
	})

	d, err := lazy.Database(ctx)
	if err != nil {
		t.Fatalf("second Database, server now up: %v", err)
	}
	if err := d.Client().Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDatabaseRefusesBadSettings(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []config.Database{
		{URI: "", Name: "x"},
		{URI: "mongodb://127.0.0.1:1", Name: ""},
		{URI: "http://127.0.0.1:1", Name: "x"},
	} {
		lazy := store.NewLazy(cfg)
		if _, err := lazy.Database(ctx); err == nil || !strings.HasPrefix(err.Error(), "store connect: ") {
			t.Errorf("%+v: err = %v, want a store connect error", cfg, err)
		}
	}
}

// TestErrorsHideThePassword checks that neither a parse error nor a connection error quotes the
// password of the URI.
func TestErrorsHideThePassword(t *testing.T) {
	ctx := context.Background()
	const pw = "s3cret-Passw0rd"
	for _, uri := range []string{
		"mongodb://user:" + pw + "@" + freeAddr(t) + fast + "&authSource=admin",
		"mongodb://user:" + pw + "%zz@127.0.0.1:1/",
		"mongodb://user:" + pw + "@127.0.0.1:1/?maxPoolSize=many",
	} {
		lazy := store.NewLazy(config.Database{URI: uri, Name: "x"})
		_, err := lazy.Database(ctx)
		if err == nil {
			t.Fatalf("%s: want an error", uri)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error quotes the password: %v", err)
		}
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	lazy := store.NewLazy(dbtest.Config(t))
	db, err := lazy.Database(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := lazy.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Client().Ping(ctx, nil); !errors.Is(err, mongo.ErrClientDisconnected) {
		t.Fatalf("ping after Close: %v, want ErrClientDisconnected", err)
	}
	if _, err := lazy.Database(ctx); !store.IsUnavailable(err) {
		t.Fatalf("Database after Close: %v, want an unavailable error", err)
	}
	if err := lazy.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestIsDuplicateKey(t *testing.T) {
	ctx := context.Background()
	coll := dbtest.Database(t).Collection("users")
	if err := store.EnsureIndexes(ctx, coll, mongo.IndexModel{
		Keys:    bson.D{{Key: "openid", Value: 1}},
		Options: options.Index().SetUnique(true),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "openid", Value: "o1"}}); err != nil {
		t.Fatal(err)
	}

	_, insertErr := coll.InsertOne(ctx, bson.D{{Key: "openid", Value: "o1"}})
	_, manyErr := coll.InsertMany(ctx, []any{bson.D{{Key: "openid", Value: "o2"}}, bson.D{{Key: "openid", Value: "o1"}}})
	_, idErr := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "same"}})
	if idErr == nil {
		_, idErr = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "same"}})
	}
	_, upsertErr := coll.UpdateOne(ctx, bson.D{{Key: "openid", Value: "o3"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "openid", Value: "o1"}}}}, options.UpdateOne().SetUpsert(true))

	for name, err := range map[string]error{
		"insert":           insertErr,
		"insert many":      manyErr,
		"_id":              idErr,
		"upsert":           upsertErr,
		"wrapped (insert)": fmt.Errorf("save user: %w", insertErr),
	} {
		if !store.IsDuplicateKey(err) {
			t.Errorf("%s: IsDuplicateKey(%v) = false", name, err)
		}
		if store.IsUnavailable(err) {
			t.Errorf("%s: IsUnavailable(%v) = true", name, err)
		}
	}

	_, otherErr := coll.UpdateOne(ctx, bson.D{}, bson.D{{Key: "$nope", Value: 1}})
	for _, err := range []error{nil, errors.New("duplicate key"), otherErr, mongo.ErrNoDocuments} {
		if store.IsDuplicateKey(err) {
			t.Errorf("IsDuplicateKey(%v) = true", err)
		}
	}
}

func TestIsUnavailable(t *testing.T) {
	ctx := context.Background()

	// A client whose server is gone: operations fail server selection.
	c, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + freeAddr(t) + fast))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	_, deadErr := c.Database("x").Collection("c").InsertOne(ctx, bson.D{{Key: "k", Value: 1}})

	// A live database, with a context already past its deadline.
	db := dbtest.Database(t)
	expired, cancel := context.WithTimeout(ctx, -1)
	defer cancel()
	_, expiredErr := db.Collection("c").InsertOne(expired, bson.D{{Key: "k", Value: 1}})

	for name, err := range map[string]error{
		"closed port":       deadErr,
		"wrapped":           fmt.Errorf("load order: %w", deadErr),
		"deadline":          expiredErr,
		"disconnected":      mongo.ErrClientDisconnected,
		"network (dialing)": &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
	} {
		if !store.IsUnavailable(err) {
			t.Errorf("%s: IsUnavailable(%v) = false", name, err)
		}
	}

	var docErr error
	docErr = db.Collection("c").FindOne(ctx, bson.D{{Key: "k", Value: "none"}}).Err()
	_, badErr := db.Collection("c").UpdateOne(ctx, bson.D{}, bson.D{{Key: "$nope", Value: 1}})
	for _, err := range []error{nil, errors.New("boom"), docErr, badErr} {
		if store.IsUnavailable(err) {
			t.Errorf("IsUnavailable(%v) = true", err)
		}
	}
}

func indexNames(t *testing.T, coll *mongo.Collection) map[string]bson.M {
	t.Helper()
	cur, err := coll.Indexes().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var specs []bson.M
	if err := cur.All(context.Background(), &specs); err != nil {
		t.Fatal(err)
	}
	names := map[string]bson.M{}
	for _, s := range specs {
		names[s["name"].(string)] = s
	}
	return names
}

// TestEnsureIndexesOncePerProcess drops an ensured index behind EnsureIndexes' back: a second
// call on the same client must not notice (it remembered), a call on another client must
// recreate it, and ensuring an index that exists is not an error.
func TestEnsureIndexesOncePerProcess(t *testing.T) {
	ctx := context.Background()
	cfg := dbtest.Config(t)
	model := mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "createdAt", Value: -1}}}

	a := store.NewLazy(cfg)
	t.Cleanup(func() { a.Close(context.Background()) })
	dbA, err := a.Database(ctx)
	if err != nil {
		t.Fatal(err)
	}
	coll := dbA.Collection("orders")
	if err := store.EnsureIndexes(ctx, coll, model); err != nil {
		t.Fatal(err)
	}
	if _, ok := indexNames(t, coll)["status_1_createdAt_-1"]; !ok {
		t.Fatalf("index not created: %v", indexNames(t, coll))
	}
	if err := coll.Indexes().DropOne(ctx, "status_1_createdAt_-1"); err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureIndexes(ctx, coll, model); err != nil {
		t.Fatal(err)
	}
	if _, ok := indexNames(t, coll)["status_1_createdAt_-1"]; ok {
		t.Fatal("second EnsureIndexes on the same client went to the server")
	}

	// A different index set on the same collection is not mistaken for the first.
	other := mongo.IndexModel{Keys: bson.D{{Key: "openid", Value: 1}}}
	if err := store.EnsureIndexes(ctx, coll, other); err != nil {
		t.Fatal(err)
	}
	if _, ok := indexNames(t, coll)["openid_1"]; !ok {
		t.Fatal("a different index set was skipped")
	}

	b := store.NewLazy(cfg)
	t.Cleanup(func() { b.Close(context.Background()) })
	dbB, err := b.Database(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time, the indexes exist on the server; still fine
		if err := store.EnsureIndexes(ctx, dbB.Collection("orders"), model, other); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := indexNames(t, coll)["status_1_createdAt_-1"]; !ok {
		t.Fatal("EnsureIndexes on another client did not recreate the index")
	}
}

// TestEnsureIndexesTTL asks for a TTL index next to a unique one. FerretDB answers "not
// implemented" for TTL; EnsureIndexes must still create both (the TTL one without expiry where
// unsupported), and the unique index must enforce uniqueness.
func TestEnsureIndexesTTL(t *testing.T) {
	ctx := context.Background()
	coll := dbtest.Database(t).Collection("tokens")

	// What the server says about TTL on its own, so the test documents the behaviour it covers.
	_, rawErr := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "probe", Value: 1}},
		Options: options.Index().SetExpireAfterSeconds(60),
	})
	var se mongo.ServerError
	ttlSupported := rawErr == nil
	if !ttlSupported && !(errors.As(rawErr, &se) && se.HasErrorCode(238)) {
		t.Fatalf("TTL index: unexpected server answer %v", rawErr)
	}
	t.Logf("server supports TTL indexes: %v (%v)", ttlSupported, rawErr)

	err := store.EnsureIndexes(ctx, coll,
		mongo.IndexModel{Keys: bson.D{{Key: "expiresAt", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(0)},
		mongo.IndexModel{Keys: bson.D{{Key: "key", Value: 1}}, Options: options.Index().SetUnique(true)},
	)
	if err != nil {
		t.Fatal(err)
	}
	names := indexNames(t, coll)
	ttl, ok := names["expiresAt_1"]
	if !ok {
		t.Fatalf("expiresAt index missing: %v", names)
	}
	if _, hasTTL := ttl["expireAfterSeconds"]; hasTTL != ttlSupported {
		t.Fatalf("expiresAt index %v: TTL option present=%v, server supports TTL=%v", ttl, hasTTL, ttlSupported)
	}
	if _, ok := names["key_1"]; !ok {
		t.Fatalf("unique index missing: %v", names)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "key", Value: "k"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "key", Value: "k"}}); !store.IsDuplicateKey(err) {
		t.Fatalf("unique index not enforced: %v", err)
	}
}

// TestEnsureIndexesRefusesOtherUnsupportedOptions: a partial unique index cannot be quietly
// turned into something else, so FerretDB's "not implemented" is an error, and not remembered.
func TestEnsureIndexesRefusesOtherUnsupportedOptions(t *testing.T) {
	ctx := context.Background()
	coll := dbtest.Database(t).Collection("orders")
	model := mongo.IndexModel{
		Keys: bson.D{{Key: "openid", Value: 1}},
		Options: options.Index().SetUnique(true).
			SetPartialFilterExpression(bson.D{{Key: "status", Value: "open"}}),
	}
	err := store.EnsureIndexes(ctx, coll, model)
	var se mongo.ServerError
	if !errors.As(err, &se) || !se.HasErrorCode(238) {
		t.Skipf("server accepts partial indexes (%v); nothing to check", err)
	}
	if err := store.EnsureIndexes(ctx, coll, model); err == nil {
		t.Fatal("second call succeeded: the failure was remembered as success")
	}
	if _, ok := indexNames(t, coll)["openid_1"]; ok {
		t.Fatal("the index was created without its partial filter")
	}
}

func TestEnsureIndexesRefusesModelWithoutKeys(t *testing.T) {
	coll := dbtest.Database(t).Collection("c")
	if err := store.EnsureIndexes(context.Background(), coll, mongo.IndexModel{}); err == nil {
		t.Fatal("want an error")
	}
}

// A second process ensuring the same several indexes (each already there) must not break the
// connection: FerretDB v1 panics on one createIndexes naming several existing indexes.
func TestEnsureIndexesAgainInAnotherProcess(t *testing.T) {
	ctx := context.Background()
	uri, name := dbtest.New(t)
	models := []mongo.IndexModel{
		{Keys: bson.D{{Key: "a", Value: 1}}, Options: options.Index().SetName("a")},
		{Keys: bson.D{{Key: "b", Value: 1}}, Options: options.Index().SetName("b")},
		{Keys: bson.D{{Key: "c", Value: 1}}, Options: options.Index().SetName("c").SetUnique(true)},
	}
	for i := range 2 {
		// A new client per round: the per-process memo is keyed by client, like a new instance.
		client, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			t.Fatal(err)
		}
		coll := client.Database(name).Collection("things")
		if err := store.EnsureIndexes(ctx, coll, models...); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "c", Value: i}}); err != nil {
			t.Fatalf("round %d: the connection broke: %v", i, err)
		}
		client.Disconnect(ctx)
	}
}
