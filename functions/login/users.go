package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/store"
	"github.com/wxfn/wxfn/shared/wechat"
)

// user is one document of the users collection, keyed by openid.
type user struct {
	ID          string     `bson:"_id"`
	UnionID     string     `bson:"unionid,omitempty"`
	SessionKey  string     `bson:"sessionKey"` // sealed with DATA_KEY, bound to the openid
	Phone       *userPhone `bson:"phone,omitempty"`
	CreatedAt   time.Time  `bson:"createdAt"`
	UpdatedAt   time.Time  `bson:"updatedAt"`
	LastLoginAt time.Time  `bson:"lastLoginAt"`
}

type userPhone struct {
	PhoneNumber     string    `bson:"phoneNumber"`
	PurePhoneNumber string    `bson:"purePhoneNumber"`
	CountryCode     string    `bson:"countryCode"`
	VerifiedAt      time.Time `bson:"verifiedAt"`
}

type users struct{ coll *mongo.Collection }

func newUsers(ctx context.Context, db *mongo.Database) (*users, error) {
	coll := db.Collection("users")
	// unionid is sparse: most apps are not bound to an Open Platform account.
	err := store.EnsureIndexes(ctx, coll, mongo.IndexModel{
		Keys:    bson.D{{Key: "unionid", Value: 1}},
		Options: options.Index().SetName("unionid").SetSparse(true),
	})
	if err != nil {
		return nil, storeError("users indexes", err)
	}
	return &users{coll: coll}, nil
}

// upsertLogin records a login and reports whether the user is new. Two first logins of the same
// user racing each other can both try to insert; the loser's duplicate-key error is retried once
// as an update.
func (u *users) upsertLogin(ctx context.Context, openID, unionID, sealedKey string, now time.Time) (bool, error) {
	set := bson.D{{Key: "sessionKey", Value: sealedKey}, {Key: "updatedAt", Value: now}, {Key: "lastLoginAt", Value: now}}
	if unionID != "" {
		set = append(set, bson.E{Key: "unionid", Value: unionID})
	}
	update := bson.D{{Key: "$set", Value: set}, {Key: "$setOnInsert", Value: bson.D{{Key: "createdAt", Value: now}}}}
	for attempt := 0; ; attempt++ {
		res, err := u.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: openID}}, update, options.UpdateOne().SetUpsert(true))
		if err == nil {
			return res.UpsertedCount == 1, nil
		}
		if !store.IsDuplicateKey(err) || attempt > 0 {
			return false, storeError("users upsert", err)
		}
	}
}

func (u *users) get(ctx context.Context, openID string) (user, error) {
	var doc user
	err := u.coll.FindOne(ctx, bson.D{{Key: "_id", Value: openID}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return doc, &fn.Error{Status: http.StatusUnauthorized, Code: "unknown_user", Message: "no such user; log in again"}
	}
	if err != nil {
		return doc, storeError("users get", err)
	}
	return doc, nil
}

func (u *users) setPhone(ctx context.Context, openID string, p wechat.Phone, now time.Time) error {
	res, err := u.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: openID}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "phone", Value: userPhone{PhoneNumber: p.PhoneNumber, PurePhoneNumber: p.PurePhoneNumber, CountryCode: p.CountryCode, VerifiedAt: now}},
		{Key: "updatedAt", Value: now},
	}}})
	if err != nil {
		return storeError("users set phone", err)
	}
	if res.MatchedCount == 0 {
		return &fn.Error{Status: http.StatusUnauthorized, Code: "unknown_user", Message: "no such user; log in again"}
	}
	return nil
}

// storeError names the operation and answers as every function does (deps.DBError).
func storeError(op string, err error) error { return deps.DBError(fmt.Errorf("%s: %w", op, err)) }
