package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ensured remembers, per process, which index sets were created on which collection of which
// client, so that warm invocations skip the round trip. It is the lazily filled per-process
// state the project allows; a failure is never remembered.
var ensured sync.Map // ensuredKey → struct{}

type ensuredKey struct {
	client *mongo.Client
	ns     string // database.collection
	models string // fingerprint of the index models
}

// codeNotImplemented is what FerretDB answers for index options it lacks, TTL among them:
// `Index option "expireAfterSeconds" is not implemented yet` (code 238, NotImplemented).
const codeNotImplemented = 238

// EnsureIndexes creates the indexes described by models on coll unless this process already did.
// Creating an index that exists with the same specification is a no-op on the server, so it is
// safe for several processes to race.
//
// A TTL index (ExpireAfterSeconds) is created as a TTL index where the server supports it; where
// it answers "not implemented" (FerretDB), the index is created without the TTL option, so that
// queries filtering on the field stay indexed. Code must therefore never rely on TTL deletion:
// store expiresAt and filter on it (DESIGN §5). Any other unsupported option is an error, since
// dropping it (a partial filter on a unique index, say) would change what the index enforces.
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, models ...mongo.IndexModel) error {
	if len(models) == 0 {
		return nil
	}
	fp, err := fingerprint(models)
	if err != nil {
		return fmt.Errorf("ensure indexes on %s: %w", coll.Name(), err)
	}
	key := ensuredKey{client: coll.Database().Client(), ns: coll.Database().Name() + "." + coll.Name(), models: fp}
	if _, ok := ensured.Load(key); ok {
		return nil
	}

	// One index per createIndexes command: FerretDB v1 panics (and drops the connection) when one
	// command names two or more indexes that all exist already, which is what every process
	// after the first would send. One by one also lets a TTL index the server cannot build fall
	// back alone. It costs a round trip per index, once per process.
	if err := createEach(ctx, coll, models); err != nil {
		return fmt.Errorf("ensure indexes on %s: %w", coll.Name(), err)
	}
	ensured.Store(key, struct{}{})
	return nil
}

func createEach(ctx context.Context, coll *mongo.Collection, models []mongo.IndexModel) error {
	for _, m := range models {
		_, err := coll.Indexes().CreateOne(ctx, m)
		if isNotImplemented(err) {
			if o, oerr := resolve(m.Options); oerr == nil && o.ExpireAfterSeconds != nil {
				_, err = coll.Indexes().CreateOne(ctx, withoutTTL(m))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func isNotImplemented(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(codeNotImplemented)
}

// withoutTTL returns m with its ExpireAfterSeconds option removed. The index keeps the name it
// would have had (the driver names an index after its keys, not its options).
func withoutTTL(m mongo.IndexModel) mongo.IndexModel {
	b := options.Index()
	if m.Options != nil {
		b.Opts = append(b.Opts, m.Options.List()...)
	}
	b.Opts = append(b.Opts, func(o *options.IndexOptions) error {
		o.ExpireAfterSeconds = nil
		return nil
	})
	return mongo.IndexModel{Keys: m.Keys, Options: b}
}

// resolve applies an options builder to find the options it sets.
func resolve(b *options.IndexOptionsBuilder) (options.IndexOptions, error) {
	var o options.IndexOptions
	if b == nil {
		return o, nil
	}
	for _, set := range b.List() {
		if set == nil {
			continue
		}
		if err := set(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// fingerprint describes models by the keys and options that decide what an index is, so that two
// callers ensuring different indexes on one collection are not mistaken for each other.
func fingerprint(models []mongo.IndexModel) (string, error) {
	var sb strings.Builder
	for _, m := range models {
		if m.Keys == nil {
			return "", errors.New("index model without keys")
		}
		keys, err := bson.MarshalExtJSON(m.Keys, true, false)
		if err != nil {
			return "", fmt.Errorf("index keys: %w", err)
		}
		o, err := resolve(m.Options)
		if err != nil {
			return "", fmt.Errorf("index options: %w", err)
		}
		sb.Write(keys)
		if o.Name != nil {
			sb.WriteString(" name=" + strconv.Quote(*o.Name))
		}
		if o.Unique != nil && *o.Unique {
			sb.WriteString(" unique")
		}
		if o.Sparse != nil && *o.Sparse {
			sb.WriteString(" sparse")
		}
		if o.ExpireAfterSeconds != nil {
			sb.WriteString(" ttl=" + strconv.Itoa(int(*o.ExpireAfterSeconds)))
		}
		if o.PartialFilterExpression != nil {
			pf, err := bson.MarshalExtJSON(o.PartialFilterExpression, true, false)
			if err != nil {
				return "", fmt.Errorf("partial filter: %w", err)
			}
			sb.WriteString(" partial=")
			sb.Write(pf)
		}
		sb.WriteByte('\n')
	}
	return sb.String(), nil
}
