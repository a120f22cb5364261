// Package deps holds the per-process dependencies of a function: settings, the database, the
// sealing key, session tokens, admin keys and WeChat clients. Each is built on first use and
// reused by every warm invocation after it; nothing connects or even reads settings at start,
// so a cold start costs only what the first request needs. A failed build is not remembered:
// the next request tries again (the database may simply have been unreachable).
//
// The object store is deliberately not here: its COS and S3 SDKs would then be linked into every
// function. A function that stores objects holds a blob.Lazy of its own.
package deps

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/shared/auth"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/seal"
	"github.com/wxfn/wxfn/shared/store"
	"github.com/wxfn/wxfn/shared/wechat"
	"github.com/wxfn/wxfn/shared/wxtoken"
)

// Deps is one process's dependencies, built over one environment.
type Deps struct {
	lookup config.Lookup

	db       lazy[*store.Lazy]
	sessions lazy[*auth.Sessions]
	admin    lazy[*auth.AdminKeys]
	box      lazy[*seal.Box]
	mini     lazy[*wechat.MiniProgram]
	tokens   lazy[*wxtoken.Cache]

	mu     sync.Mutex
	extras map[any]*lazy[any]
}

// New returns dependencies over lookup (os.LookupEnv in production). It does no work.
func New(lookup config.Lookup) *Deps {
	return &Deps{lookup: lookup}
}

// Lookup is the environment the dependencies read.
func (d *Deps) Lookup() config.Lookup { return d.lookup }

// DB returns the database, connecting on first use.
func (d *Deps) DB(ctx context.Context) (*mongo.Database, error) {
	l, err := d.db.get(func() (*store.Lazy, error) {
		cfg, err := config.LoadDatabase(d.lookup)
		if err != nil {
			return nil, err
		}
		return store.NewLazy(cfg), nil
	})
	if err != nil {
		return nil, Misconfigured(err)
	}
	db, err := l.Database(ctx)
	if err != nil {
		return nil, DBError(err)
	}
	return db, nil
}

// DBError is how every function answers a database failure: a retryable 503 when the database is
// unreachable or a record stayed locked (store.ErrBusy), the error unchanged when it already is a
// client error, and otherwise the error itself (an opaque 500).
func DBError(err error) error {
	var fe *fn.Error
	switch {
	case err == nil || errors.As(err, &fe):
		return err
	case store.IsUnavailable(err) || errors.Is(err, store.ErrBusy):
		return fn.Unavailable("database_unavailable", "the database is unreachable or busy; try again", err)
	}
	return err
}

// Sessions returns the session-token issuer and verifier.
func (d *Deps) Sessions() (*auth.Sessions, error) {
	s, err := d.sessions.get(func() (*auth.Sessions, error) {
		cfg, err := config.LoadSession(d.lookup)
		if err != nil {
			return nil, err
		}
		return auth.NewSessions(cfg), nil
	})
	if err != nil {
		return nil, Misconfigured(err)
	}
	return s, nil
}

// AdminKeys returns the admin-key checker.
func (d *Deps) AdminKeys() (*auth.AdminKeys, error) {
	k, err := d.admin.get(func() (*auth.AdminKeys, error) {
		keys, err := config.LoadAdminKeys(d.lookup)
		if err != nil {
			return nil, err
		}
		return auth.NewAdminKeys(keys), nil
	})
	if err != nil {
		return nil, Misconfigured(err)
	}
	return k, nil
}

// Authenticator checks session tokens and admin keys for fn.Router.
func (d *Deps) Authenticator() fn.Authenticator {
	return auth.Authenticator{Sessions: d.Sessions, AdminKeys: d.AdminKeys}
}

// Seal returns the box that encrypts secrets at rest with DATA_KEY.
func (d *Deps) Seal() (*seal.Box, error) {
	b, err := d.box.get(func() (*seal.Box, error) {
		key, err := config.LoadDataKey(d.lookup)
		if err != nil {
			return nil, err
		}
		return seal.New(key)
	})
	if err != nil {
		return nil, Misconfigured(err)
	}
	return b, nil
}

// Tokens returns the shared access-token cache.
func (d *Deps) Tokens() *wxtoken.Cache {
	t, _ := d.tokens.get(func() (*wxtoken.Cache, error) { return wxtoken.New(d.DB), nil })
	return t
}

// MiniProgram returns the mini-program API client.
func (d *Deps) MiniProgram() (*wechat.MiniProgram, error) {
	m, err := d.mini.get(func() (*wechat.MiniProgram, error) {
		cfg, err := config.LoadMiniProgram(d.lookup)
		if err != nil {
			return nil, err
		}
		return wechat.NewMiniProgram(cfg, d.Tokens()), nil
	})
	if err != nil {
		return nil, Misconfigured(err)
	}
	return m, nil
}

// Extra returns the per-process value that build makes for key, building it on first successful
// use like the dependencies above. It lets a package keep a dependency of its own here (the
// WeChat Pay client, in paydeps) without this package importing it, which would link it into
// every function. A value with a Close method is closed by Close.
func Extra[T any](ctx context.Context, d *Deps, key any, build func(ctx context.Context, lookup config.Lookup) (T, error)) (T, error) {
	d.mu.Lock()
	if d.extras == nil {
		d.extras = map[any]*lazy[any]{}
	}
	e, ok := d.extras[key]
	if !ok {
		e = &lazy[any]{}
		d.extras[key] = e
	}
	d.mu.Unlock()
	v, err := e.get(func() (any, error) { return build(ctx, d.lookup) })
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// Close releases what was built (the database connection), for tests and HTTP-mode shutdown.
func (d *Deps) Close(ctx context.Context) error {
	d.mu.Lock()
	for _, e := range d.extras {
		if v, ok := e.peek(); ok {
			if c, ok := v.(interface{ Close() }); ok {
				c.Close()
			}
		}
	}
	d.mu.Unlock()
	if l, ok := d.db.peek(); ok {
		return l.Close(ctx)
	}
	return nil
}

// Misconfigured is the 500 a request gets when a setting is missing or malformed. The setting's
// name is in the cause, which is logged; the client is told only to look at the logs.
func Misconfigured(err error) error {
	return &fn.Error{Status: http.StatusInternalServerError, Code: "misconfigured", Message: "the function is not configured; see its logs", Cause: err}
}

// lazy builds a value once, on first successful use.
type lazy[T any] struct {
	mu    sync.Mutex
	v     T
	built bool
}

func (l *lazy[T]) get(build func() (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.built {
		return l.v, nil
	}
	v, err := build()
	if err != nil {
		return v, err
	}
	l.v, l.built = v, true
	return v, nil
}

func (l *lazy[T]) peek() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v, l.built
}
