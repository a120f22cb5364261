// Package reconcile is the daily WeChat Pay reconciliation: a timer at 10:30 Beijing time for
// the previous day, and admin POST / {date} for any day. A run
//
//  1. requests the day's ALL trade bill; "still being generated" (STATEMENT_CREATING) fails the
//     run so that it is retried later, "no bill" (NO_STATEMENT_EXIST: no transaction that day)
//     checks the books against an empty bill;
//  2. downloads it to a temporary file, checking its SHA-1, and only then stores the raw file at
//     bills/trade/YYYY-MM-DD.csv;
//  3. streams the stored file through the bill parser and compares it with the orders and
//     refunds of the day (Beijing day boundaries): paid at WeChat Pay but not in the books →
//     query and repair through the very transition paynotify applies (a missed notification),
//     differing amounts → flag, paid in the books but absent from the bill → report, and the
//     same for refunds;
//  4. writes the report to reconcile_reports (_id = date) and reports/reconcile/YYYY-MM-DD.json.
//
// Re-runs are idempotent: the transitions are, flags are keyed, and the report is replaced
// (keeping the repairs earlier runs made).
package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/wxfn/wxfn/functions/reconcile/bill"
	"github.com/wxfn/wxfn/shared/blob"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/deps/paydeps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/store"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// New builds the reconcile function over an environment. Nothing is read or connected until
// the first request or firing.
func New(lookup config.Lookup) fn.Function {
	return NewWithDeps(deps.New(lookup))
}

// NewWithDeps builds the reconcile function over existing dependencies (tests share them).
func NewWithDeps(d *deps.Deps) fn.Function {
	h := &handler{deps: d, objects: blob.NewLazy(d.Lookup()), now: time.Now}
	return fn.Function{
		Spec: Spec,
		HTTP: fn.NewRouter(d.Authenticator(),
			fn.Route{Method: http.MethodPost, Pattern: "/", Access: fn.Admin, Handle: h.post},
		),
		Schedule: h.schedule,
	}
}

type handler struct {
	deps *deps.Deps
	// objects is the object store; it lives beside deps so that functions without storage do
	// not link the cloud SDKs.
	objects *blob.Lazy
	now     func() time.Time
}

// DefaultMaxRepairs bounds the WeChat Pay queries one run makes (RECONCILE_MAX_REPAIRS); the
// rest are reported as skipped and made by the next run.
const DefaultMaxRepairs = 1000

func (h *handler) maxRepairs() (int, error) {
	v, ok := h.deps.Lookup()("RECONCILE_MAX_REPAIRS")
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return DefaultMaxRepairs, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, deps.Misconfigured(fmt.Errorf("setting RECONCILE_MAX_REPAIRS: %q is not a non-negative integer", v))
	}
	return n, nil
}

// parseDate reads a business day, YYYY-MM-DD, refusing days that have not begun in Beijing.
func parseDate(s string, now time.Time) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, s, bill.Shanghai)
	if err != nil || d.Format(time.DateOnly) != s {
		return time.Time{}, fn.BadRequest("invalid_date", "date must be a day as YYYY-MM-DD")
	}
	if d.After(now) {
		return time.Time{}, fn.BadRequest("future_date", "%s has not begun in Beijing time; there is nothing to reconcile yet", s)
	}
	return d, nil
}

// previousDay is the Beijing day before the one t falls on.
func previousDay(t time.Time) string {
	y, m, d := t.In(bill.Shanghai).Date()
	return time.Date(y, m, d-1, 0, 0, 0, 0, bill.Shanghai).Format(time.DateOnly)
}

func (h *handler) post(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	var body request
	if err := fn.DecodeJSON(req, &body); err != nil {
		return nil, err
	}
	if body.Date == "" {
		return nil, fn.BadRequest("missing_date", "the body must name the day to reconcile: {\"date\":\"YYYY-MM-DD\"}")
	}
	day, err := parseDate(body.Date, h.now())
	if err != nil {
		return nil, err
	}
	rep, _, err := h.reconcile(ctx, day, "admin")
	if err != nil {
		return nil, runError(body.Date, err)
	}
	return fn.OK(rep)
}

func (h *handler) schedule(ctx context.Context, s fn.Schedule) error {
	date := previousDay(s.Time)
	if len(s.Payload) > 0 {
		var p schedulePayload
		if err := json.Unmarshal(s.Payload, &p); err == nil && p.Date != "" {
			date = p.Date
		}
	}
	day, err := parseDate(date, h.now())
	if err != nil {
		return fmt.Errorf("reconcile schedule: %w", err)
	}
	rep, retry, err := h.reconcile(ctx, day, "schedule")
	if err != nil {
		return err
	}
	if retry {
		return fmt.Errorf("reconcile %s: %w (%d failed)", date, errRepairsIncomplete, rep.RepairErrors)
	}
	return nil
}

// reconcile runs one day and stores its report. retry reports repairs that failed for a reason
// that may pass.
func (h *handler) reconcile(ctx context.Context, day time.Time, trigger string) (_ Report, retry bool, _ error) {
	date := day.Format(time.DateOnly)
	maxRepairs, err := h.maxRepairs()
	if err != nil {
		return Report{}, false, err
	}
	pay, err := paydeps.Client(ctx, h.deps)
	if err != nil {
		return Report{}, false, err
	}
	objects, err := h.objects.Store(ctx)
	if err != nil {
		return Report{}, false, err
	}
	db, err := h.deps.DB(ctx)
	if err != nil {
		return Report{}, false, err
	}
	books, err := orders.Open(ctx, db)
	if err != nil {
		return Report{}, false, err
	}
	// A repair that moves an order to PAID runs the same after-payment work as paynotify.
	mp, err := h.deps.MiniProgram()
	if err != nil {
		return Report{}, false, err
	}
	hooks := orders.StandardHooks(books, mp, pay.MchID(), h.now)
	start := h.now()
	slog.InfoContext(ctx, "reconcile: start", "date", date, "trigger", trigger)
	r := &run{
		date: date, from: day, to: day.AddDate(0, 0, 1),
		books: books, pay: pay, blob: objects,
		merchant: orders.MerchantOf(pay),
		hooks:    hooks, now: h.now, maxRepairs: maxRepairs,
		rep: Report{Date: date, Trigger: trigger, StartedAt: msTime(start)},
	}
	if err := r.execute(ctx); err != nil {
		return Report{}, false, err
	}

	reports := db.Collection(ReportsCollection)
	var prev Report
	err = reports.FindOne(ctx, bson.D{{Key: "_id", Value: date}}).Decode(&prev)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		r.finish(nil)
	case err != nil:
		return Report{}, false, fmt.Errorf("reconcile %s: previous report: %w", date, err)
	default:
		r.finish(&prev)
	}
	r.rep.FinishedAt = msTime(h.now())
	rep := r.rep
	if _, err := reports.ReplaceOne(ctx, bson.D{{Key: "_id", Value: date}}, rep, options.Replace().SetUpsert(true)); err != nil {
		return Report{}, false, fmt.Errorf("reconcile %s: store report: %w", date, err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return Report{}, false, fmt.Errorf("reconcile %s: encode report: %w", date, err)
	}
	if err := objects.Put(ctx, ReportKey(date), bytes.NewReader(js), int64(len(js)), "application/json"); err != nil {
		return Report{}, false, fmt.Errorf("reconcile %s: store report: %w", date, err)
	}
	slog.InfoContext(ctx, "reconcile: done", "date", date, "status", rep.Status, "rows", rep.Bill.Rows,
		"discrepancies", r.total, "repairs", rep.Repairs, "repairErrors", rep.RepairErrors,
		"durationMs", h.now().Sub(start).Milliseconds())
	return rep, r.retry, nil
}

// msTime is t in UTC at the millisecond BSON keeps, so the stored and answered reports agree.
func msTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// runError tells an admin why a run failed.
func runError(date string, err error) error {
	var fe *fn.Error
	var se *bill.SyntaxError
	var ae *wxpay.APIError
	switch {
	case errors.As(err, &fe):
		return err
	case errors.Is(err, wxpay.ErrBillNotReady):
		return &fn.Error{Status: http.StatusServiceUnavailable, Code: "bill_not_ready", Retryable: true, Cause: err,
			Message: fmt.Sprintf("WeChat Pay is still generating the bill of %s (bills are ready after 10:00 the next day); try again later", date)}
	case errors.Is(err, wxpay.ErrBillHashMismatch):
		return &fn.Error{Status: http.StatusBadGateway, Code: "bill_hash_mismatch", Retryable: true, Cause: err,
			Message: "the downloaded bill does not match the SHA-1 WeChat Pay announced; nothing was stored; try again"}
	case errors.As(err, &se):
		return &fn.Error{Status: http.StatusBadGateway, Code: "bill_malformed", Cause: err,
			Message: fmt.Sprintf("the bill of %s is stored but could not be read: %s", date, se.Error())}
	case wxpay.IsRetryable(err):
		return fn.Unavailable("wechat_unavailable", "WeChat Pay is unreachable or busy; try again", err)
	case errors.As(err, &ae):
		return &fn.Error{Status: http.StatusBadGateway, Code: "wechat_error", Cause: err,
			Message: fmt.Sprintf("WeChat Pay refused the bill request: %s %s", ae.Code, ae.Message)}
	}
	return deps.DBError(err)
}

func isUnavailable(err error) bool { return store.IsUnavailable(err) }

// publicError is err's text for a report: bounded, and never more than the error says (errors
// from wxpay and the books carry no secrets).
func publicError(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
