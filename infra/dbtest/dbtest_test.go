package dbtest_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/wxfn/wxfn/infra/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestDatabasesAreIsolated writes into one test database and checks that another one, on the
// same server, does not see it.
func TestDatabasesAreIsolated(t *testing.T) {
	ctx := context.Background()
	a := dbtest.Database(t)
	b := dbtest.Database(t)
	if a.Name() == b.Name() {
		t.Fatalf("two databases share the name %q", a.Name())
	}
	if _, err := a.Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: "x"}}); err != nil {
		t.Fatal(err)
	}
	n, err := b.Collection("c").CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the other database has %d documents, want 0", n)
	}
	n, err = a.Collection("c").CountDocuments(ctx, bson.D{})
	if err != nil || n != 1 {
		t.Fatalf("count = %d, %v; want 1", n, err)
	}
}

// TestNamesAreValid checks that names built from awkward test names are ones FerretDB accepts.
func TestNamesAreValid(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,63}$`)
	long := strings.Repeat("very long subtest name/", 10)
	for _, sub := range []string{"with spaces and $dollar.dots", long, "ünïcode"} {
		t.Run(sub, func(t *testing.T) {
			uri, name := dbtest.New(t)
			if !strings.HasPrefix(uri, "mongodb://127.0.0.1:") {
				t.Errorf("uri = %q", uri)
			}
			if !valid.MatchString(name) {
				t.Fatalf("name %q is not a valid FerretDB database name", name)
			}
			db := dbtest.Database(t)
			if _, err := db.Collection("c").InsertOne(context.Background(), bson.D{{Key: "k", Value: 1}}); err != nil {
				t.Fatalf("insert into %q: %v", db.Name(), err)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	cfg := dbtest.Config(t)
	if cfg.URI != dbtest.URI(t) || cfg.Name == "" {
		t.Fatalf("Config = %+v", cfg)
	}
}
