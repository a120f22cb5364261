package reconcile

import (
	"time"

	"github.com/wxfn/wxfn/functions/reconcile/bill"
)

// ReportsCollection holds one report per reconciled day, keyed by the date.
const ReportsCollection = "reconcile_reports"

// Report is the outcome of reconciling one day: stored in reconcile_reports (_id = date) and
// at reports/reconcile/DATE.json, and answered by POST /. A re-run replaces it; repairs made by
// an earlier run of the same day stay listed (they no longer show as differences once made).
type Report struct {
	// Date is the business day, YYYY-MM-DD in Beijing time.
	Date string `json:"date" bson:"_id"`
	// Status is StatusBalanced, StatusRepaired or StatusDiscrepancies.
	Status string `json:"status" bson:"status"`
	// Trigger is "schedule" or "admin", for the last run.
	Trigger string `json:"trigger" bson:"trigger"`
	// Runs counts the runs for this day, this one included.
	Runs       int       `json:"runs" bson:"runs"`
	StartedAt  time.Time `json:"startedAt" bson:"startedAt"`
	FinishedAt time.Time `json:"finishedAt" bson:"finishedAt"`

	Bill     BillInfo     `json:"bill" bson:"bill"`
	Database DatabaseInfo `json:"database" bson:"database"`

	// Counts is the number of discrepancies of each kind (complete even when the list is not).
	Counts map[string]int `json:"counts" bson:"counts"`
	// Repairs counts the discrepancies repaired (by this run or an earlier one).
	Repairs int `json:"repairs" bson:"repairs"`
	// RepairErrors counts repairs that could not be made (WeChat Pay or the database failed);
	// a later run tries them again.
	RepairErrors  int           `json:"repairErrors" bson:"repairErrors"`
	Discrepancies []Discrepancy `json:"discrepancies" bson:"discrepancies"`
	// Truncated is true when there were more than MaxListed discrepancies; Counts has them all.
	Truncated bool `json:"truncated,omitempty" bson:"truncated,omitempty"`
}

// Report statuses.
const (
	StatusBalanced      = "balanced"      // the bill and the books agree
	StatusRepaired      = "repaired"      // they disagreed, and every difference was repaired
	StatusDiscrepancies = "discrepancies" // some differences need an operator
)

// MaxListed bounds the discrepancies a report lists (a report must fit in one document).
const MaxListed = 1000

// BillInfo describes the day's trade bill.
type BillInfo struct {
	// Available is false when WeChat Pay has no bill for the day (NO_STATEMENT_EXIST: nothing
	// happened); the books are then checked against an empty bill.
	Available bool   `json:"available" bson:"available"`
	Key       string `json:"key,omitempty" bson:"key,omitempty"` // object-store key of the raw file
	SHA1      string `json:"sha1,omitempty" bson:"sha1,omitempty"`
	Bytes     int64  `json:"bytes" bson:"bytes"`
	Rows      int64  `json:"rows" bson:"rows"`
	Payments  int64  `json:"payments" bson:"payments"`
	Refunds   int64  `json:"refunds" bson:"refunds"`
	// Summary is the bill's own totals row; SummaryMatches says whether the rows add up to it.
	Summary        Totals `json:"summary" bson:"summary"`
	SummaryMatches bool   `json:"summaryMatches" bson:"summaryMatches"`
}

// Totals is the bill's summary row, in fen (FeeMilliFen in thousandths of a fen).
type Totals struct {
	Count                int64 `json:"count" bson:"count"`
	SettlementTotal      int64 `json:"settlementTotal" bson:"settlementTotal"`
	Refund               int64 `json:"refund" bson:"refund"`
	RechargeCouponRefund int64 `json:"rechargeCouponRefund" bson:"rechargeCouponRefund"`
	FeeMilliFen          int64 `json:"feeMilliFen" bson:"feeMilliFen"`
	Total                int64 `json:"total" bson:"total"`
	RefundRequested      int64 `json:"refundRequested" bson:"refundRequested"`
}

func totalsOf(s bill.Summary) Totals {
	return Totals{Count: s.Count, SettlementTotal: s.SettlementTotal, Refund: s.Refund, RechargeCouponRefund: s.RechargeCouponRefund,
		FeeMilliFen: s.FeeMilliFen, Total: s.Total, RefundRequested: s.RefundRequested}
}

// DatabaseInfo counts what the books hold for the day.
type DatabaseInfo struct {
	PaidOrders       int64 `json:"paidOrders" bson:"paidOrders"`             // orders paid that day
	SucceededRefunds int64 `json:"succeededRefunds" bson:"succeededRefunds"` // refunds settled that day
}

// Discrepancy kinds.
const (
	// KindMissingPayment: paid at WeChat Pay, not PAID in the books (a missed notification).
	// Repaired by querying the order and applying the payment as paynotify would.
	KindMissingPayment = "missing_payment"
	// KindUnknownOrder: paid at WeChat Pay for an out_trade_no the books do not have.
	KindUnknownOrder = "unknown_order"
	// KindAmountMismatch: the bill's order amount is not the order's; the order is flagged.
	KindAmountMismatch = "amount_mismatch"
	// KindTransactionMismatch: the bill's transaction id is not the order's; flagged.
	KindTransactionMismatch = "transaction_mismatch"
	// KindNotInBill: paid that day in the books, absent from the bill.
	KindNotInBill = "payment_not_in_bill"
	// KindMissingRefund: refunded at WeChat Pay, not SUCCESS in the books (a missed refund
	// notification, or a refund made outside wxfn). Repaired by querying the refund and applying
	// it as paynotify would.
	KindMissingRefund = "missing_refund"
	// KindRefundMismatch: the bill's refund differs from ours (amount or order); flagged.
	KindRefundMismatch = "refund_mismatch"
	// KindRefundNotInBill: refunded that day in the books, absent from the bill.
	KindRefundNotInBill = "refund_not_in_bill"
	// KindDuplicateRow: the bill lists one payment or refund twice.
	KindDuplicateRow = "duplicate_row"
	// KindSummaryMismatch: the bill's rows do not add up to its own totals row.
	KindSummaryMismatch = "summary_mismatch"
)

// Discrepancy is one difference between the bill and the books, and what was done about it.
type Discrepancy struct {
	Kind          string `json:"kind" bson:"kind"`
	OutTradeNo    string `json:"outTradeNo,omitempty" bson:"outTradeNo,omitempty"`
	OutRefundNo   string `json:"outRefundNo,omitempty" bson:"outRefundNo,omitempty"`
	TransactionID string `json:"transactionId,omitempty" bson:"transactionId,omitempty"`
	// Line is the bill line the difference was found on (0 for one found in the books).
	Line int `json:"line,omitempty" bson:"line,omitempty"`
	// BillAmount and BookAmount are the two amounts compared, in fen.
	BillAmount int64  `json:"billAmount,omitempty" bson:"billAmount,omitempty"`
	BookAmount int64  `json:"bookAmount,omitempty" bson:"bookAmount,omitempty"`
	BookState  string `json:"bookState,omitempty" bson:"bookState,omitempty"`
	Detail     string `json:"detail,omitempty" bson:"detail,omitempty"`
	// Repair is set for differences reconcile tries to repair.
	Repair *Repair `json:"repair,omitempty" bson:"repair,omitempty"`
}

// Repair is the outcome of repairing one discrepancy.
type Repair struct {
	// Outcome is the transition's outcome (applied, duplicate, flagged, ignored), "failed" when
	// it could not be attempted to the end, or "skipped" past the run's repair limit.
	Outcome string    `json:"outcome" bson:"outcome"`
	Reason  string    `json:"reason,omitempty" bson:"reason,omitempty"`
	Error   string    `json:"error,omitempty" bson:"error,omitempty"`
	At      time.Time `json:"at" bson:"at"`
}

// Repair outcomes beyond the books' own.
const (
	RepairFailed  = "failed"
	RepairSkipped = "skipped"
)

// repaired reports whether d's difference was made good.
func (d *Discrepancy) repaired() bool {
	return d.Repair != nil && (d.Repair.Outcome == "applied" || d.Repair.Outcome == "duplicate")
}

// key identifies a discrepancy across runs.
func (d *Discrepancy) key() string {
	return d.Kind + "\x00" + d.OutTradeNo + "\x00" + d.OutRefundNo
}

// request is the body of POST /.
type request struct {
	// Date is the day to reconcile, YYYY-MM-DD in Beijing time, not in the future.
	Date string `json:"date"`
}

// schedulePayload is an optional timer argument naming the day, for re-running one by hand
// from a cloud console ({"date":"2026-08-21"}); without it the timer reconciles yesterday.
type schedulePayload struct {
	Date string `json:"date"`
}
