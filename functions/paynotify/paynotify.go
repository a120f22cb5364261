// Package paynotify receives WeChat Pay's notifications. It verifies each one on the exact bytes
// received before reading anything (public-key and platform-certificate modes, probes refused,
// 5-minute window), records it in pay_events under its id, and applies TRANSACTION.SUCCESS and
// REFUND.SUCCESS/ABNORMAL/CLOSED through the books' single transitions, so that a notification
// delivered any number of times, concurrently or days apart, moves money state exactly once.
//
// Answers (reference §4.4): 200 once the notification is handled or will never apply (it is
// then recorded and, if it does not add up, flagged); 401 when it is not authentic (nothing is
// written); 5xx {"code":"FAIL"} when something transient failed, so that WeChat Pay delivers it
// again and the redelivery finishes the job.
package paynotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/deps/paydeps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/wechat"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// New builds the paynotify function over an environment. Nothing is read or connected until the
// first notification.
func New(lookup config.Lookup) fn.Function {
	return NewWithDeps(deps.New(lookup))
}

// NewWithDeps builds the paynotify function over existing dependencies (tests and the local
// gateway share them).
func NewWithDeps(d *deps.Deps) fn.Function {
	return NewWithHooks(d)
}

// NewWithHooks is NewWithDeps with after-payment work run after orders.StandardHooks, once per
// PAID transition this function makes. Work that every path to PAID must run belongs in
// orders.StandardHooks instead.
func NewWithHooks(d *deps.Deps, extra ...orders.Hook) fn.Function {
	h := &handler{deps: d, now: time.Now, extra: extra}
	return fn.Function{
		Spec: Spec,
		HTTP: fn.NewRouter(nil, fn.Route{Method: http.MethodPost, Pattern: "/", Access: fn.Public, Handle: h.notify}),
	}
}

type handler struct {
	deps  *deps.Deps
	now   func() time.Time
	extra []orders.Hook
}

// hookBudget bounds the after-payment work: WeChat Pay wants an answer within 5 seconds, and
// work that does not finish is recorded for a retry rather than holding the answer back.
const hookBudget = 3 * time.Second

// failure is a notification answered non-2xx.
type failure struct {
	status int
	why    string // for WeChat Pay's logs and ours; never secrets or the body
	err    error
}

func fail(status int, why string, err error) *failure {
	return &failure{status: status, why: why, err: err}
}

func (h *handler) notify(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	f := h.handle(ctx, req)
	if f == nil {
		return fn.JSON(http.StatusOK, answer{Code: "SUCCESS", Message: "成功"}), nil
	}
	if f.status >= 500 {
		slog.ErrorContext(ctx, "notification not handled; WeChat Pay will deliver it again", "status", f.status, "why", f.why, "err", f.err)
	}
	return fn.JSON(f.status, answer{Code: "FAIL", Message: f.why}), nil
}

func (h *handler) handle(ctx context.Context, req *fn.Request) *failure {
	pay, err := paydeps.Client(ctx, h.deps)
	if err != nil {
		return fail(http.StatusInternalServerError, "not configured", err)
	}
	// Verify before anything else is read: nothing of an unverified body is trusted or written.
	n, err := pay.ParseNotification(ctx, req.Header, req.Body)
	switch {
	case errors.Is(err, wxpay.ErrInvalidSignature):
		slog.WarnContext(ctx, "notification refused", "probe", errors.Is(err, wxpay.ErrSignatureProbe), "err", err)
		return fail(http.StatusUnauthorized, "signature verification failed", nil)
	case errors.Is(err, wxpay.ErrMalformedNotification):
		// Authentic but unusable: most likely our APIv3 key is wrong. A 5xx keeps WeChat Pay
		// redelivering until the key is fixed.
		return fail(http.StatusInternalServerError, "notification cannot be decrypted", err)
	case err != nil:
		return fail(http.StatusServiceUnavailable, "verification unavailable", err)
	}

	db, err := h.deps.DB(ctx)
	if err != nil {
		return fail(http.StatusServiceUnavailable, "database unavailable", err)
	}
	books, err := orders.Open(ctx, db)
	if err != nil {
		return storeFailure(err)
	}
	ev := orders.Event{ID: n.ID, EventType: n.EventType, Summary: n.Summary, CreateTime: n.CreateTime, Plaintext: string(n.Plaintext)}
	if t := n.Transaction; t != nil {
		ev.OutTradeNo = t.OutTradeNo
	}
	if r := n.Refund; r != nil {
		ev.OutTradeNo, ev.OutRefundNo = r.OutTradeNo, r.OutRefundNo
	}
	stored, err := books.RecordEvent(ctx, ev, h.now())
	if err != nil {
		return storeFailure(err)
	}
	if stored.Outcome != orders.Pending {
		slog.InfoContext(ctx, "notification already handled", "id", n.ID, "event", n.EventType, "outcome", stored.Outcome, "deliveries", stored.Deliveries)
		return nil
	}
	// Pending: the first delivery, a concurrent one, or one that failed half-way. Every
	// transition below is idempotent, so applying again is how a half-done one is finished.
	outcome, detail, err := h.apply(ctx, books, pay, n)
	if err != nil {
		return storeFailure(err)
	}
	if err := books.SetEventOutcome(ctx, n.ID, outcome, detail, h.now()); err != nil {
		return storeFailure(err)
	}
	log := slog.InfoContext
	if outcome == orders.Flagged {
		log = slog.WarnContext
	}
	log(ctx, "notification handled", "id", n.ID, "event", n.EventType, "outTradeNo", ev.OutTradeNo, "outRefundNo", ev.OutRefundNo, "outcome", outcome, "detail", detail)
	return nil
}

// apply moves the books as the notification says and reports the outcome for pay_events.
func (h *handler) apply(ctx context.Context, books *orders.Store, pay *wxpay.Client, n *wxpay.Notification) (orders.Outcome, string, error) {
	m := orders.MerchantOf(pay)
	switch {
	case n.EventType == wxpay.EventTransactionSuccess && n.Transaction != nil:
		res, err := books.ApplyPayment(ctx, m, orders.PaidOf(n.Transaction), h.now())
		if err != nil {
			return "", "", err
		}
		if res.Claim != nil {
			h.afterPayment(ctx, books, pay, res.Claim)
		}
		return res.Outcome, res.Reason, nil

	case strings.HasPrefix(n.EventType, "REFUND.") && n.Refund != nil:
		if want := strings.TrimPrefix(n.EventType, "REFUND."); n.Refund.RefundStatus != want {
			// Authentic, yet self-contradictory: applying either status could be wrong.
			return orders.Flagged, fmt.Sprintf("event_type %s but refund_status %s", n.EventType, n.Refund.RefundStatus), nil
		}
		res, err := books.ApplyRefund(ctx, m, orders.RefundNoticeOf(n.Refund), h.now())
		if err != nil {
			return "", "", err
		}
		return res.Outcome, res.Reason, nil
	}
	return orders.Ignored, "event type not handled", nil
}

// afterPayment runs the after-payment work for the transition this delivery made. Its failures
// are recorded on the order (and the shipping upload marked for retry); they never fail the
// notification, whose transition is already stored.
func (h *handler) afterPayment(ctx context.Context, books *orders.Store, pay *wxpay.Client, c *orders.Claim) {
	ctx, cancel := context.WithTimeout(ctx, hookBudget)
	defer cancel()
	hooks := append(orders.StandardHooks(books, shipper{h.deps}, pay.MchID(), h.now), h.extra...)
	if err := books.RunAfterPayment(ctx, c, hooks, h.now()); err != nil {
		slog.WarnContext(ctx, "after-payment work incomplete", "outTradeNo", c.OutTradeNo, "err", err)
	}
}

// storeFailure answers a database failure: 503 when transient (unreachable, busy), 500 otherwise.
// Either way WeChat Pay delivers the notification again.
func storeFailure(err error) *failure {
	if orders.IsTransient(err) {
		return fail(http.StatusServiceUnavailable, "database unavailable", err)
	}
	return fail(http.StatusInternalServerError, "internal error", err)
}

// shipper uploads shipping with the mini-program client, built on first use.
type shipper struct{ d *deps.Deps }

func (s shipper) UploadShippingInfo(ctx context.Context, info wechat.ShippingInfo) error {
	mp, err := s.d.MiniProgram()
	if err != nil {
		return err
	}
	return mp.UploadShippingInfo(ctx, info)
}
