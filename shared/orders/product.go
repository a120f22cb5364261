package orders

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Kind says how a product reaches the buyer, which decides its shipping upload (reference §9).
type Kind string

// Product kinds.
const (
	// KindPhysical goods are shipped by express; an admin uploads the tracking number.
	KindPhysical Kind = "physical"
	// KindVirtual goods (top-ups, memberships) are "shipped" automatically right after payment.
	KindVirtual Kind = "virtual"
)

// Product is one document of the products collection: the only source of prices.
type Product struct {
	SKU    string `bson:"_id" json:"sku"`
	Name   string `bson:"name" json:"name"`
	Price  int64  `bson:"price" json:"price"` // fen
	Active bool   `bson:"active" json:"active"`
	Kind   Kind   `bson:"kind" json:"kind"`
}

// Validate reports what makes p unusable in an order.
func (p Product) Validate() error {
	switch {
	case p.SKU == "" || len(p.SKU) > 32:
		return fmt.Errorf("product %q: the sku must be 1–32 characters", p.SKU)
	case p.Name == "":
		return fmt.Errorf("product %s: empty name", p.SKU)
	case p.Price <= 0:
		return fmt.Errorf("product %s: the price must be a positive number of fen", p.SKU)
	case p.Kind != KindPhysical && p.Kind != KindVirtual:
		return fmt.Errorf("product %s: kind %q is neither physical nor virtual", p.SKU, p.Kind)
	}
	return nil
}

// Products returns the products with the given skus, active or not, keyed by sku. Unknown skus
// are simply absent.
func (s *Store) Products(ctx context.Context, skus []string) (map[string]Product, error) {
	out := make(map[string]Product, len(skus))
	if len(skus) == 0 {
		return out, nil
	}
	cur, err := s.products.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: skus}}}})
	if err != nil {
		return nil, fmt.Errorf("orders products: %w", err)
	}
	var ps []Product
	if err := cur.All(ctx, &ps); err != nil {
		return nil, fmt.Errorf("orders products: %w", err)
	}
	for _, p := range ps {
		out[p.SKU] = p
	}
	return out, nil
}

// PutProduct creates or replaces a product.
func (s *Store) PutProduct(ctx context.Context, p Product) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("orders put product: %w", err)
	}
	_, err := s.products.ReplaceOne(ctx, bson.D{{Key: "_id", Value: p.SKU}}, p, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("orders put product: %w", err)
	}
	return nil
}

// SeedProducts inserts the products that do not exist yet and leaves existing ones (which an
// operator may have edited) alone. It reports how many it inserted.
func (s *Store) SeedProducts(ctx context.Context, ps []Product) (int, error) {
	n := 0
	for _, p := range ps {
		if err := p.Validate(); err != nil {
			return n, fmt.Errorf("orders seed: %w", err)
		}
		res, err := s.products.UpdateOne(ctx, bson.D{{Key: "_id", Value: p.SKU}},
			bson.D{{Key: "$setOnInsert", Value: bson.D{
				{Key: "name", Value: p.Name}, {Key: "price", Value: p.Price},
				{Key: "active", Value: p.Active}, {Key: "kind", Value: p.Kind},
			}}}, options.UpdateOne().SetUpsert(true))
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return n, fmt.Errorf("orders seed: %w", err)
		}
		if err == nil && res.UpsertedCount == 1 {
			n++
		}
	}
	return n, nil
}

// SampleProducts is a small catalogue for the local stack and the walk-through: physical and
// virtual goods, and one inactive product to show refusals.
func SampleProducts() []Product {
	return []Product{
		{SKU: "tea-oolong-250g", Name: "乌龙茶 250g", Price: 6800, Active: true, Kind: KindPhysical},
		{SKU: "mug-ceramic", Name: "陶瓷杯", Price: 3900, Active: true, Kind: KindPhysical},
		{SKU: "vip-month", Name: "会员月卡", Price: 1500, Active: true, Kind: KindVirtual},
		{SKU: "coins-100", Name: "100 金币", Price: 100, Active: true, Kind: KindVirtual},
		{SKU: "tea-retired", Name: "停售茶叶", Price: 9900, Active: false, Kind: KindPhysical},
	}
}
