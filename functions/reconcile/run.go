package reconcile

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wxfn/wxfn/functions/reconcile/bill"
	"github.com/wxfn/wxfn/shared/blob"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// BillKey is where the raw trade bill of date is kept in object storage.
func BillKey(date string) string { return "bills/trade/" + date + ".csv" }

// ReportKey is where the report of date is kept in object storage.
func ReportKey(date string) string { return "reports/reconcile/" + date + ".json" }

// batchSize is how many bill rows are looked up in the books with one query.
const batchSize = 256

// progressEvery is how often (in bill rows) a run logs its progress.
const progressEvery = 100_000

// run is one reconciliation of one day.
type run struct {
	date       string
	from, to   time.Time // the day in Beijing time: [from, to)
	books      *orders.Store
	pay        *wxpay.Client
	blob       blob.Store
	merchant   orders.Merchant
	hooks      []orders.Hook
	now        func() time.Time
	maxRepairs int

	rep    Report
	listed []Discrepancy
	total  int // discrepancies found, listed or not

	// seen holds the bill's payments and refunds by a 64-bit hash of their number: a few bytes
	// each, where the strings would cost a hundred. A collision could only hide a "not in bill"
	// difference, with odds of about n²/2⁶⁴.
	seed        maphash.Seed
	seenPay     map[uint64]struct{}
	seenRefund  map[uint64]struct{}
	payBatch    []bill.Row
	refundBatch []bill.Row

	repairsTried int
	// retry is set when a repair failed for a reason that may pass (WeChat Pay or the database
	// unreachable): the timer run then fails so that the platform runs it again.
	retry bool
}

// errRepairsIncomplete is the timer's error when some repairs failed transiently.
var errRepairsIncomplete = errors.New("reconcile: some repairs failed; the run will be retried")

func (r *run) execute(ctx context.Context) error {
	r.seed = maphash.MakeSeed()
	r.seenPay = make(map[uint64]struct{})
	r.seenRefund = make(map[uint64]struct{})
	r.rep.Counts = map[string]int{}
	log := slog.With("date", r.date)

	available, err := r.fetchBill(ctx)
	if err != nil {
		return err
	}
	if available {
		log.InfoContext(ctx, "reconcile: bill stored", "key", r.rep.Bill.Key, "bytes", r.rep.Bill.Bytes)
		if err := r.readBill(ctx); err != nil {
			return err
		}
	} else {
		log.InfoContext(ctx, "reconcile: WeChat Pay has no bill for the day (no transactions)")
		r.rep.Bill.SummaryMatches = true
	}
	if err := r.checkBooks(ctx); err != nil {
		return err
	}
	log.InfoContext(ctx, "reconcile: compared",
		"rows", r.rep.Bill.Rows, "paidOrders", r.rep.Database.PaidOrders, "succeededRefunds", r.rep.Database.SucceededRefunds,
		"discrepancies", r.total, "repairsTried", r.repairsTried)
	return nil
}

// fetchBill requests the day's ALL bill and stores the raw file once its SHA-1 is verified:
// the download goes to a temporary file first, so that a corrupt or truncated file never lands
// in the store. It reports false when WeChat Pay has no bill for the day.
func (r *run) fetchBill(ctx context.Context) (bool, error) {
	ref, err := r.pay.TradeBill(ctx, r.date)
	if errors.Is(err, wxpay.ErrNoBill) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reconcile %s: %w", r.date, err)
	}
	f, err := os.CreateTemp("", "wxfn-bill-*.csv")
	if err != nil {
		return false, fmt.Errorf("reconcile %s: temporary file: %w", r.date, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := r.pay.DownloadBill(ctx, ref, f); err != nil {
		return false, fmt.Errorf("reconcile %s: %w", r.date, err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return false, fmt.Errorf("reconcile %s: temporary file: %w", r.date, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, fmt.Errorf("reconcile %s: temporary file: %w", r.date, err)
	}
	key := BillKey(r.date)
	if err := r.blob.Put(ctx, key, f, size, "text/csv; charset=utf-8"); err != nil {
		return false, fmt.Errorf("reconcile %s: store bill: %w", r.date, err)
	}
	r.rep.Bill = BillInfo{Available: true, Key: key, SHA1: strings.ToLower(ref.HashValue), Bytes: size}
	return true, nil
}

// readBill streams the stored bill and checks each row against the books, in batches.
func (r *run) readBill(ctx context.Context) error {
	rc, err := r.blob.Get(ctx, r.rep.Bill.Key)
	if err != nil {
		return fmt.Errorf("reconcile %s: read stored bill: %w", r.date, err)
	}
	defer rc.Close()
	br := bill.NewReader(rc)
	for {
		row, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reconcile %s: %s: %w", r.date, r.rep.Bill.Key, err)
		}
		r.rep.Bill.Rows++
		switch {
		case row.IsRefund():
			r.rep.Bill.Refunds++
			if r.firstSight(r.seenRefund, row.OutRefundNo) {
				r.refundBatch = append(r.refundBatch, row)
			} else {
				r.add(Discrepancy{Kind: KindDuplicateRow, OutTradeNo: row.OutTradeNo, OutRefundNo: row.OutRefundNo, Line: row.Line,
					Detail: "the bill lists this refund more than once"})
			}
		case row.TradeState == bill.StateSuccess:
			r.rep.Bill.Payments++
			if r.firstSight(r.seenPay, row.OutTradeNo) {
				r.payBatch = append(r.payBatch, row)
			} else {
				r.add(Discrepancy{Kind: KindDuplicateRow, OutTradeNo: row.OutTradeNo, TransactionID: row.TransactionID, Line: row.Line,
					Detail: "the bill lists this payment more than once"})
			}
		}
		if len(r.payBatch) == batchSize {
			if err := r.checkPayments(ctx); err != nil {
				return err
			}
		}
		if len(r.refundBatch) == batchSize {
			if err := r.checkRefunds(ctx); err != nil {
				return err
			}
		}
		if r.rep.Bill.Rows%progressEvery == 0 {
			slog.InfoContext(ctx, "reconcile: progress", "date", r.date, "rows", r.rep.Bill.Rows, "discrepancies", r.total, "repairsTried", r.repairsTried)
		}
	}
	if err := r.checkPayments(ctx); err != nil {
		return err
	}
	if err := r.checkRefunds(ctx); err != nil {
		return err
	}
	sum, _ := br.Summary()
	r.rep.Bill.Summary = totalsOf(sum)
	mism := br.Totals().Mismatches(sum)
	r.rep.Bill.SummaryMatches = len(mism) == 0
	if len(mism) > 0 {
		r.add(Discrepancy{Kind: KindSummaryMismatch, Detail: "the rows do not add up to the bill's totals row in " + strings.Join(mism, ", ")})
	}
	return nil
}

func (r *run) firstSight(seen map[uint64]struct{}, no string) bool {
	h := maphash.String(r.seed, no)
	if _, ok := seen[h]; ok {
		return false
	}
	seen[h] = struct{}{}
	return true
}

func (r *run) seenIn(seen map[uint64]struct{}, no string) bool {
	_, ok := seen[maphash.String(r.seed, no)]
	return ok
}

// add records a discrepancy, listing it while there is room.
func (r *run) add(d Discrepancy) {
	r.total++
	r.rep.Counts[d.Kind]++
	if d.repaired() {
		r.rep.Repairs++
	}
	if d.Repair != nil && d.Repair.Outcome == RepairFailed {
		r.rep.RepairErrors++
	}
	if len(r.listed) < MaxListed {
		r.listed = append(r.listed, d)
	} else {
		r.rep.Truncated = true
	}
}

// checkPayments compares a batch of the bill's payments with the orders.
func (r *run) checkPayments(ctx context.Context) error {
	if len(r.payBatch) == 0 {
		return nil
	}
	ids := make([]string, len(r.payBatch))
	for i, row := range r.payBatch {
		ids[i] = row.OutTradeNo
	}
	found, err := r.books.OrdersByID(ctx, ids)
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", r.date, err)
	}
	for _, row := range r.payBatch {
		o, ok := found[row.OutTradeNo]
		d := Discrepancy{OutTradeNo: row.OutTradeNo, TransactionID: row.TransactionID, Line: row.Line, BillAmount: row.Total}
		switch {
		case !ok:
			d.Kind, d.Detail = KindUnknownOrder, "WeChat Pay took a payment for an order the books do not have"
			r.add(d)
		case !o.State.Paid():
			d.Kind, d.BookAmount, d.BookState = KindMissingPayment, o.Amount, string(o.State)
			d.Detail = "paid at WeChat Pay but " + string(o.State) + " in the books (a missed notification)"
			d.Repair = r.repairPayment(ctx, row.OutTradeNo)
			r.add(d)
		default:
			if row.Total != o.Amount {
				d.Kind, d.BookAmount, d.BookState = KindAmountMismatch, o.Amount, string(o.State)
				d.Detail = fmt.Sprintf("the bill's order amount is %d fen, the order's %d fen", row.Total, o.Amount)
				if err := r.flag(ctx, o.OutTradeNo, orders.FlagAmountMismatch, row.TransactionID, d.Detail); err != nil {
					return err
				}
				r.add(d)
			}
			if row.TransactionID != o.TransactionID {
				d.Kind, d.BookAmount, d.BookState = KindTransactionMismatch, o.Amount, string(o.State)
				d.Detail = fmt.Sprintf("the bill's transaction is %s, the order's %s", row.TransactionID, o.TransactionID)
				if err := r.flag(ctx, o.OutTradeNo, orders.FlagTransactionMismatch, row.TransactionID, d.Detail); err != nil {
					return err
				}
				r.add(d)
			}
		}
	}
	r.payBatch = r.payBatch[:0]
	return nil
}

// flag records a difference on the order, once per bill day and transaction (a re-run finds the
// flag already there).
func (r *run) flag(ctx context.Context, outTradeNo, reason, id, detail string) error {
	key := "reconcile:" + reason + ":" + id
	// Flag is keyed, but its "no flag with this key yet" filter ({"flags.key": {$ne: key}}) is
	// not reliable on FerretDB once an order carries two flags; look first.
	o, err := r.books.Get(ctx, outTradeNo)
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", r.date, err)
	}
	if slices.ContainsFunc(o.Flags, func(f orders.Flag) bool { return f.Key == key }) {
		return nil
	}
	err = r.books.Flag(ctx, outTradeNo, orders.Flag{
		Key: key, Reason: reason, Detail: "reconcile " + r.date + ": " + detail, At: r.now(),
	})
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", r.date, err)
	}
	return nil
}

// checkRefunds compares a batch of the bill's refunds with the refunds.
func (r *run) checkRefunds(ctx context.Context) error {
	if len(r.refundBatch) == 0 {
		return nil
	}
	ids := make([]string, len(r.refundBatch))
	for i, row := range r.refundBatch {
		ids[i] = row.OutRefundNo
	}
	found, err := r.books.RefundsByID(ctx, ids)
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", r.date, err)
	}
	for _, row := range r.refundBatch {
		rf, ok := found[row.OutRefundNo]
		// 申请退款金额 is what was asked (our amount); 退款金额 what was settled, which can be
		// less when coupons paid part of the order.
		amount := row.RefundRequested
		if amount == 0 {
			amount = row.Refund
		}
		d := Discrepancy{OutTradeNo: row.OutTradeNo, OutRefundNo: row.OutRefundNo, Line: row.Line, BillAmount: amount}
		switch {
		case !ok:
			d.Kind, d.Detail = KindMissingRefund, "refunded at WeChat Pay ("+row.RefundStatus+") but unknown to the books"
			d.Repair = r.repairRefund(ctx, row.OutRefundNo)
			r.add(d)
		case rf.State == orders.RefundSuccess:
			if amount != rf.Amount || row.OutTradeNo != rf.OutTradeNo {
				d.Kind, d.BookAmount, d.BookState = KindRefundMismatch, rf.Amount, string(rf.State)
				d.Detail = fmt.Sprintf("the bill refunds %d fen of order %s, the books %d fen of order %s", amount, row.OutTradeNo, rf.Amount, rf.OutTradeNo)
				if err := r.flag(ctx, rf.OutTradeNo, orders.FlagRefundMismatch, rf.OutRefundNo, d.Detail); err != nil {
					return err
				}
				r.add(d)
			}
		case row.RefundStatus == bill.StateSuccess:
			d.Kind, d.BookAmount, d.BookState = KindMissingRefund, rf.Amount, string(rf.State)
			d.Detail = "refunded at WeChat Pay but " + string(rf.State) + " in the books (a missed notification)"
			d.Repair = r.repairRefund(ctx, row.OutRefundNo)
			r.add(d)
		}
	}
	r.refundBatch = r.refundBatch[:0]
	return nil
}

// tryRepair reports whether another repair is allowed, and the Repair to record when not.
func (r *run) tryRepair() (*Repair, bool) {
	if r.repairsTried >= r.maxRepairs {
		return &Repair{Outcome: RepairSkipped, Error: fmt.Sprintf("more than %d repairs in one run; run again", r.maxRepairs), At: msTime(r.now())}, false
	}
	r.repairsTried++
	return nil, true
}

func (r *run) failed(ctx context.Context, what, no string, err error) *Repair {
	if wxpay.IsRetryable(err) || isUnavailable(err) {
		r.retry = true
	}
	slog.WarnContext(ctx, "reconcile: repair failed", "date", r.date, "what", what, "no", no, "err", err)
	return &Repair{Outcome: RepairFailed, Error: publicError(err), At: msTime(r.now())}
}

// repairPayment asks WeChat Pay about an order the bill says was paid and applies the answer
// through the transition paynotify uses, running the after-payment work when that moves the
// order to PAID.
func (r *run) repairPayment(ctx context.Context, outTradeNo string) *Repair {
	if skip, ok := r.tryRepair(); !ok {
		return skip
	}
	t, err := r.pay.QueryByOutTradeNo(ctx, outTradeNo)
	if err != nil {
		return r.failed(ctx, "payment", outTradeNo, err)
	}
	now := r.now()
	paid := orders.PaidOf(t)
	if paid.TradeState == wxpay.TradeRefund {
		// Paid, and a refund has been started on it since: for the payment it is a success.
		paid.TradeState = wxpay.TradeSuccess
	}
	res, err := r.books.ApplyPayment(ctx, r.merchant, paid, now)
	if err != nil {
		return r.failed(ctx, "payment", outTradeNo, err)
	}
	if res.Claim != nil {
		if err := r.books.RunAfterPayment(ctx, res.Claim, r.hooks, r.now()); err != nil {
			// Recorded on the order by RunAfterPayment; the payment itself stands.
			slog.ErrorContext(ctx, "reconcile: after-payment work failed", "outTradeNo", outTradeNo, "err", err)
		}
	}
	slog.InfoContext(ctx, "reconcile: payment repaired", "date", r.date, "outTradeNo", outTradeNo, "outcome", res.Outcome, "reason", res.Reason)
	return &Repair{Outcome: string(res.Outcome), Reason: res.Reason, At: msTime(now)}
}

// repairRefund asks WeChat Pay about a refund the bill lists and applies the answer through
// the transition paynotify uses for REFUND.* notifications.
func (r *run) repairRefund(ctx context.Context, outRefundNo string) *Repair {
	if skip, ok := r.tryRepair(); !ok {
		return skip
	}
	w, err := r.pay.QueryRefund(ctx, outRefundNo)
	if err != nil {
		return r.failed(ctx, "refund", outRefundNo, err)
	}
	now := r.now()
	res, err := r.books.ApplyRefund(ctx, r.merchant, orders.RefundOf(w), now)
	if err != nil {
		return r.failed(ctx, "refund", outRefundNo, err)
	}
	slog.InfoContext(ctx, "reconcile: refund repaired", "date", r.date, "outRefundNo", outRefundNo, "outcome", res.Outcome, "reason", res.Reason)
	return &Repair{Outcome: string(res.Outcome), Reason: res.Reason, At: msTime(now)}
}

// checkBooks walks the day's payments and refunds in the books, reporting those absent from the
// bill. It runs after the bill, so that what the bill's repairs paid is found in both.
func (r *run) checkBooks(ctx context.Context) error {
	err := r.books.EachPaidBetween(ctx, r.from, r.to, func(o orders.Order) error {
		r.rep.Database.PaidOrders++
		if !r.seenIn(r.seenPay, o.OutTradeNo) {
			r.add(Discrepancy{Kind: KindNotInBill, OutTradeNo: o.OutTradeNo, TransactionID: o.TransactionID,
				BookAmount: o.Amount, BookState: string(o.State),
				Detail: "paid at " + o.PaidAt.In(bill.Shanghai).Format(bill.TimeLayout) + " in the books; not in the bill"})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", r.date, err)
	}
	err = r.books.EachRefundSucceededBetween(ctx, r.from, r.to, func(rf orders.Refund) error {
		r.rep.Database.SucceededRefunds++
		if !r.seenIn(r.seenRefund, rf.OutRefundNo) {
			r.add(Discrepancy{Kind: KindRefundNotInBill, OutTradeNo: rf.OutTradeNo, OutRefundNo: rf.OutRefundNo,
				BookAmount: rf.Amount, BookState: string(rf.State),
				Detail: "refunded at " + rf.SuccessAt.In(bill.Shanghai).Format(bill.TimeLayout) + " in the books; not in the bill"})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", r.date, err)
	}
	return nil
}

// finish completes the report: repairs of earlier runs of the day that no longer show as
// differences are carried over, the list is put in a stable order, and the status set.
func (r *run) finish(prev *Report) {
	if prev != nil {
		r.rep.Runs = prev.Runs
		now := make(map[string]bool, len(r.listed))
		for i := range r.listed {
			now[r.listed[i].key()] = true
		}
		for _, d := range prev.Discrepancies {
			if d.repaired() && !now[d.key()] {
				r.add(d)
			}
		}
	}
	r.rep.Runs++
	slices.SortStableFunc(r.listed, func(a, b Discrepancy) int {
		return strings.Compare(a.key(), b.key())
	})
	r.rep.Discrepancies = r.listed
	if r.rep.Discrepancies == nil {
		r.rep.Discrepancies = []Discrepancy{}
	}
	switch {
	case r.total == 0:
		r.rep.Status = StatusBalanced
	case r.rep.Repairs == r.total:
		r.rep.Status = StatusRepaired
	default:
		r.rep.Status = StatusDiscrepancies
	}
}
