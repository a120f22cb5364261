package blob

import (
	"context"
	"net/http"
	"sync"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/fn"
)

// Lazy opens the store BLOB_URL names on first use and reuses it for the life of the process.
// Functions that store objects keep one beside their deps.Deps; it lives here rather than in
// deps so that functions without storage do not link the cloud SDKs.
type Lazy struct {
	lookup config.Lookup
	mu     sync.Mutex
	store  Store
}

// NewLazy returns a Lazy over lookup. It reads nothing until Store is called.
func NewLazy(lookup config.Lookup) *Lazy { return &Lazy{lookup: lookup} }

// Store returns the object store. Opening contacts nothing, so every failure is a configuration
// problem, reported as the same 500 "misconfigured" error as other missing settings.
func (l *Lazy) Store(ctx context.Context) (Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store != nil {
		return l.store, nil
	}
	cfg, err := config.LoadBlob(l.lookup)
	if err == nil {
		l.store, err = OpenWith(ctx, cfg.URL, Options{Env: l.lookup})
	}
	if err != nil {
		return nil, &fn.Error{Status: http.StatusInternalServerError, Code: "misconfigured", Message: "the function is not configured; see its logs", Cause: err}
	}
	return l.store, nil
}
