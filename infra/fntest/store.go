package fntest

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/shared/orders"
)

// Count is the number of documents in coll.
func Count(t testing.TB, coll *mongo.Collection) int64 {
	t.Helper()
	n, err := coll.CountDocuments(context.Background(), bson.D{})
	if err != nil {
		t.Fatalf("fntest: count %s: %v", coll.Name(), err)
	}
	return n
}

// All decodes every document of coll, in the database's order.
func All[T any](t testing.TB, coll *mongo.Collection) []T {
	t.Helper()
	cur, err := coll.Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatalf("fntest: find in %s: %v", coll.Name(), err)
	}
	var out []T
	if err := cur.All(context.Background(), &out); err != nil {
		t.Fatalf("fntest: read %s: %v", coll.Name(), err)
	}
	return out
}

// Books opens the order books (orders, refunds, pay events, products) in db, with their indexes.
func Books(t testing.TB, db *mongo.Database) *orders.Store {
	t.Helper()
	books, err := orders.Open(context.Background(), db)
	if err != nil {
		t.Fatalf("fntest: open the books: %v", err)
	}
	return books
}

// SeedProducts puts the sample catalogue (orders.SampleProducts) into the books, as `make dev`
// does, so that a test can order its SKUs.
func SeedProducts(t testing.TB, books *orders.Store) {
	t.Helper()
	if _, err := books.SeedProducts(context.Background(), orders.SampleProducts()); err != nil {
		t.Fatalf("fntest: seed products: %v", err)
	}
}

// Order reads the order no from the books.
func Order(t testing.TB, books *orders.Store, no string) orders.Order {
	t.Helper()
	o, err := books.Get(context.Background(), no)
	if err != nil {
		t.Fatalf("fntest: order %s: %v", no, err)
	}
	return o
}
