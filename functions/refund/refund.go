// Package refund is the admin refund function: POST / refunds (part of) a paid order through
// WeChat Pay, GET /{outRefundNo} follows a refund to its end.
//
// Money safety rests on the order's books (shared/orders): the refund's amount is reserved on
// the order by one conditional update before WeChat Pay is called, so that concurrent requests
// can never refund more than paid − refunded − refunds in flight. The reservation is released
// only when WeChat Pay refuses the refund with a final error; when the outcome is unknown (no
// answer, a 5xx, a rate limit) the refund stays recorded as PENDING with its amount held, and a
// retry with the same outRefundNo resumes it — WeChat Pay refunds a given out_refund_no at most
// once, so a retry can never pay twice.
//
// Results come back through the same transition paynotify applies for REFUND.* notifications
// (orders.Store.ApplyRefund): from the create answer, from GET (which asks WeChat Pay once the
// refund has been in flight for REFUND_QUERY_AFTER, 60 s by default), or from the notification.
package refund

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/deps/paydeps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// New builds the refund function over an environment. Nothing is read or connected until the
// first request.
func New(lookup config.Lookup) fn.Function {
	return NewWithDeps(deps.New(lookup))
}

// NewWithDeps builds the refund function over existing dependencies (tests share them).
func NewWithDeps(d *deps.Deps) fn.Function {
	return newFunction(d, time.Now)
}

func newFunction(d *deps.Deps, now func() time.Time) fn.Function {
	h := &handler{deps: d, now: now}
	return fn.Function{
		Spec: Spec,
		HTTP: fn.NewRouter(d.Authenticator(),
			fn.Route{Method: http.MethodPost, Pattern: "/", Access: fn.Admin, Handle: h.create},
			fn.Route{Method: http.MethodGet, Pattern: "/{outRefundNo}", Access: fn.Admin, Handle: h.get},
		),
	}
}

type handler struct {
	deps *deps.Deps
	now  func() time.Time
}

// DefaultQueryAfter is how long a refund may be in flight before GET asks WeChat Pay about it
// (REFUND_QUERY_AFTER). WeChat's own advice is to poll about once a minute.
const DefaultQueryAfter = time.Minute

// queryAfter reads REFUND_QUERY_AFTER.
func (h *handler) queryAfter() (time.Duration, error) {
	v, ok := h.deps.Lookup()("REFUND_QUERY_AFTER")
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return DefaultQueryAfter, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, deps.Misconfigured(fmt.Errorf("setting REFUND_QUERY_AFTER: %q is not a non-negative Go duration", v))
	}
	return d, nil
}

// books opens the payment books, mapping an unreachable database to a retryable 503.
func (h *handler) books(ctx context.Context) (*orders.Store, error) {
	db, err := h.deps.DB(ctx)
	if err != nil {
		return nil, err
	}
	s, err := orders.Open(ctx, db)
	if err != nil {
		return nil, deps.DBError(err)
	}
	return s, nil
}

// maxReason is WeChat Pay's limit on a refund reason (string(80), reference §6.1).
const maxReason = 80

func (b *createRequest) validate() error {
	switch {
	case b.OutTradeNo == "":
		return fn.BadRequest("missing_out_trade_no", "the body must name the order to refund in outTradeNo")
	case !orders.ValidOutTradeNo(b.OutTradeNo):
		return fn.BadRequest("invalid_out_trade_no", "outTradeNo must be 6-32 of 0-9 A-Z a-z _ - | *")
	case b.Amount != nil && *b.Amount <= 0:
		return fn.BadRequest("invalid_amount", "amount must be a positive number of fen; leave it out to refund the remainder")
	case b.OutRefundNo != "" && !orders.ValidOutRefundNo(b.OutRefundNo):
		return fn.BadRequest("invalid_out_refund_no", "outRefundNo must be 1-64 of 0-9 A-Z a-z _ - | * @")
	case utf8.RuneCountInString(b.Reason) > maxReason:
		return fn.BadRequest("invalid_reason", "reason must have at most %d characters", maxReason)
	case strings.ContainsFunc(b.Reason, unicode.IsControl):
		return fn.BadRequest("invalid_reason", "reason must not contain control characters")
	}
	return nil
}

func (h *handler) create(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	var body createRequest
	if err := fn.DecodeJSON(req, &body); err != nil {
		return nil, err
	}
	if err := body.validate(); err != nil {
		return nil, err
	}
	// Everything that can fail for configuration reasons fails before anything is written.
	pay, err := paydeps.Client(ctx, h.deps)
	if err != nil {
		return nil, err
	}
	books, err := h.books(ctx)
	if err != nil {
		return nil, err
	}
	now := h.now()
	no := body.OutRefundNo
	if no == "" {
		no = orders.NewOutRefundNo(now)
	}
	var amount int64
	if body.Amount != nil {
		amount = *body.Amount
	}
	r, created, err := books.RequestRefund(ctx, orders.RefundRequest{
		OutTradeNo: body.OutTradeNo, OutRefundNo: no, Amount: amount, Reason: body.Reason,
	}, now)
	if err != nil {
		return nil, h.requestError(ctx, books, body.OutTradeNo, amount, err)
	}
	switch r.State {
	case orders.RefundPending:
		// New, or recorded earlier without WeChat Pay's acceptance: (re)submit it. WeChat Pay
		// answers a repeated out_refund_no with the refund it already has.
		slog.InfoContext(ctx, "refund submitted", "outRefundNo", r.OutRefundNo, "outTradeNo", r.OutTradeNo, "amount", r.Amount, "new", created)
		var resp *fn.Response
		r, resp, err = h.submit(ctx, books, pay, r, req.RequestID)
		if resp != nil || err != nil {
			return resp, err
		}
	case orders.RefundFailed:
		return nil, fn.Errorf(http.StatusConflict, "refund_failed",
			"refund %s failed: %s; a new attempt needs a new outRefundNo", r.OutRefundNo, r.FailReason)
	default:
		slog.InfoContext(ctx, "refund replayed", "outRefundNo", r.OutRefundNo, "state", r.State)
	}
	return h.answer(ctx, books, r, nil)
}

// requestError explains why the books refused a refund.
func (h *handler) requestError(ctx context.Context, books *orders.Store, outTradeNo string, amount int64, err error) error {
	switch {
	case errors.Is(err, orders.ErrNotFound):
		return &fn.Error{Status: http.StatusNotFound, Code: "order_not_found", Message: fmt.Sprintf("there is no order %s", outTradeNo), Cause: err}
	case errors.Is(err, orders.ErrConflict):
		return &fn.Error{Status: http.StatusConflict, Code: "out_refund_no_conflict",
			Message: "this outRefundNo is already used by a refund of another order or amount", Cause: err}
	case errors.Is(err, orders.ErrState):
		o, gerr := books.Get(ctx, outTradeNo)
		state := "not paid"
		if gerr == nil {
			state = string(o.State)
		}
		return &fn.Error{Status: http.StatusConflict, Code: "order_not_refundable",
			Message: fmt.Sprintf("order %s is %s; only PAID or PARTIALLY_REFUNDED orders can be refunded", outTradeNo, state), Cause: err}
	case errors.Is(err, orders.ErrNotEnough):
		o, gerr := books.Get(ctx, outTradeNo)
		if gerr != nil {
			return deps.DBError(gerr)
		}
		msg := fmt.Sprintf("order %s has %d fen refundable (paid %d, refunded %d, in flight %d)", outTradeNo, o.Refundable, o.Amount, o.Refunded, o.Refunding)
		if amount > 0 {
			msg = fmt.Sprintf("%d fen asked but %s", amount, msg)
		}
		return &fn.Error{Status: http.StatusConflict, Code: "exceeds_refundable", Message: msg, Cause: err}
	}
	return deps.DBError(err)
}

// submit asks WeChat Pay to refund a PENDING refund and applies its answer. A response is
// returned instead of the refund when the outcome is unknown (the refund stays PENDING).
func (h *handler) submit(ctx context.Context, books *orders.Store, pay *wxpay.Client, r orders.Refund, requestID string) (orders.Refund, *fn.Response, error) {
	wr, err := pay.CreateRefund(ctx, wxpay.RefundRequest{
		OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo, Reason: r.Reason, Refund: r.Amount, Total: r.Total,
	})
	if err != nil {
		var ae *wxpay.APIError
		if !errors.As(err, &ae) || wxpay.IsRetryable(err) || ae.Status >= 500 {
			// No answer, a 5xx, a rate limit, an answer we could not verify: WeChat Pay may or may
			// not have the refund. Keep the amount held and the refund PENDING for a retry.
			slog.WarnContext(ctx, "refund outcome unknown; kept pending", "outRefundNo", r.OutRefundNo, "err", err)
			e := &fn.Error{Status: http.StatusServiceUnavailable, Code: "wechat_unavailable", Retryable: true, Cause: err,
				Message: fmt.Sprintf("WeChat Pay gave no usable answer; refund %s is recorded with its amount held: retry with outRefundNo %q (never a new number)", r.OutRefundNo, r.OutRefundNo)}
			resp := fn.ErrorResponse(e, requestID)
			resp.Header.Set("Location", "/"+r.OutRefundNo)
			resp.Header.Set("Retry-After", "5")
			return r, resp, nil
		}
		// A final refusal: the refund does not exist at WeChat Pay; give its amount back.
		why := fmt.Sprintf("WeChat Pay refused: %s %s", ae.Code, ae.Message)
		if _, ferr := books.FailRefund(ctx, r.OutRefundNo, why, h.now()); ferr != nil {
			return r, nil, deps.DBError(ferr)
		}
		slog.WarnContext(ctx, "refund refused by WeChat Pay", "outRefundNo", r.OutRefundNo, "code", ae.Code)
		status, code := http.StatusBadGateway, "wechat_error"
		switch ae.Code {
		case "NOT_ENOUGH", "USER_ACCOUNT_ABNORMAL", "INVALID_REQUEST", "RESOURCE_NOT_EXISTS", "TRADE_ERROR", "ORDER_CLOSED":
			status, code = http.StatusConflict, "wechat_refused"
		}
		return r, nil, &fn.Error{Status: status, Code: code, Cause: err,
			Message: fmt.Sprintf("WeChat Pay refused refund %s: %s %s; nothing was refunded", r.OutRefundNo, ae.Code, ae.Message)}
	}
	res, err := books.ApplyRefund(ctx, orders.MerchantOf(pay), orders.RefundOf(wr), h.now())
	if err != nil {
		// WeChat Pay has the refund; only our record lags. The next GET, the notification or a
		// retry of this request brings it up to date.
		return r, nil, deps.DBError(err)
	}
	if res.Outcome == orders.Flagged {
		slog.ErrorContext(ctx, "WeChat Pay's refund does not match ours; flagged", "outRefundNo", r.OutRefundNo, "reason", res.Reason)
	}
	return res.Refund, nil, nil
}

func (h *handler) get(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	no := req.Param("outRefundNo")
	if !orders.ValidOutRefundNo(no) {
		return nil, fn.BadRequest("invalid_out_refund_no", "outRefundNo must be 1-64 of 0-9 A-Z a-z _ - | * @")
	}
	after, err := h.queryAfter()
	if err != nil {
		return nil, err
	}
	force := req.Query.Get("refresh") == "true" || req.Query.Get("refresh") == "1"
	books, err := h.books(ctx)
	if err != nil {
		return nil, err
	}
	r, err := books.GetRefund(ctx, no)
	if errors.Is(err, orders.ErrNotFound) {
		return nil, &fn.Error{Status: http.StatusNotFound, Code: "refund_not_found", Message: fmt.Sprintf("there is no refund %s", no)}
	}
	if err != nil {
		return nil, deps.DBError(err)
	}
	var c *check
	if inFlight(r.State) && (force || h.now().Sub(r.CreatedAt) >= after) {
		r, c, err = h.refresh(ctx, books, r)
		if err != nil {
			return nil, err
		}
	}
	return h.answer(ctx, books, r, c)
}

// inFlight reports whether WeChat Pay may still change a refund in state s.
func inFlight(s orders.RefundState) bool {
	return s == orders.RefundPending || s == orders.RefundProcessing || s == orders.RefundAbnormal
}

// refresh asks WeChat Pay about a refund in flight and applies what it says. WeChat Pay being
// unreachable is not an error: the stored state is answered, with the reason.
func (h *handler) refresh(ctx context.Context, books *orders.Store, r orders.Refund) (orders.Refund, *check, error) {
	c := &check{At: h.now().UTC()}
	pay, err := paydeps.Client(ctx, h.deps)
	if err != nil {
		return r, nil, err
	}
	wr, err := pay.QueryRefund(ctx, r.OutRefundNo)
	switch {
	case errors.Is(err, wxpay.ErrNotFound):
		c.Status = "NOT_FOUND"
		if r.State == orders.RefundPending {
			c.Hint = fmt.Sprintf("WeChat Pay never received this refund; POST it again with outRefundNo %q to resume it", r.OutRefundNo)
		}
		return r, c, nil
	case err != nil:
		slog.WarnContext(ctx, "refund query failed", "outRefundNo", r.OutRefundNo, "err", err)
		c.Error = "WeChat Pay could not be asked; this is the recorded state"
		return r, c, nil
	}
	c.Status = wr.Status
	res, err := books.ApplyRefund(ctx, orders.MerchantOf(pay), orders.RefundOf(wr), h.now())
	if err != nil {
		return r, nil, deps.DBError(err)
	}
	c.Outcome = res.Outcome
	if res.Outcome == orders.Applied {
		slog.InfoContext(ctx, "refund result applied from a query", "outRefundNo", r.OutRefundNo, "status", wr.Status)
	}
	if res.Refund.OutRefundNo != "" {
		r = res.Refund
	}
	return r, c, nil
}

// answer responds with the refund and its order's money.
func (h *handler) answer(ctx context.Context, books *orders.Store, r orders.Refund, c *check) (*fn.Response, error) {
	o, err := books.Get(ctx, r.OutTradeNo)
	if err != nil {
		return nil, deps.DBError(err)
	}
	return fn.OK(refundView{Refund: r, Order: moneyOf(o), Checked: c})
}
