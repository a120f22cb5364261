package orders

import (
	"context"
	"errors"

	"github.com/wxfn/wxfn/shared/store"
)

// LocksCollection holds the short-lived locks that serialise writes to one order (and to one
// notification's record). See store.Locks for why writes are locked at all.
const LocksCollection = "order_locks"

// ErrBusy: the order stayed locked by other writers for longer than the lock wait. It is
// transient; retrying later succeeds.
var ErrBusy = store.ErrBusy

// IsTransient reports whether err is worth retrying unchanged: the database was unreachable or
// the order was busy.
func IsTransient(err error) bool {
	return errors.Is(err, ErrBusy) || store.IsUnavailable(err)
}

// withLock runs f holding the lock named key.
func (s *Store) withLock(ctx context.Context, key string, f func() error) error {
	return s.locks.With(ctx, key, f)
}

func orderLock(outTradeNo string) string { return "order:" + outTradeNo }
func eventLock(id string) string         { return "event:" + id }
