package reconcile_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/functions/reconcile"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/infra/fntest"
	"github.com/wxfn/wxfn/shared/blob"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/runtime"
	"github.com/wxfn/wxfn/shared/wxpay"
)

func TestMain(m *testing.M) { fntest.Main(m) }

var cst = time.FixedZone("CST", 8*3600)

// corruptingProxy forwards to the emulator but changes one byte of every bill it downloads; it
// returns the proxy's base URL.
func corruptingProxy(t *testing.T) string {
	target, err := url.Parse(fntest.EmulatorURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = corruptBill
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// corruptBill changes one digit of a downloaded bill, as a flaky network or a tampering proxy
// might; the SHA-1 WeChat Pay announced no longer matches.
func corruptBill(resp *http.Response) error {
	if !strings.HasSuffix(resp.Request.URL.Path, "/v3/billdownload/file") || resp.StatusCode != 200 {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	gz := len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return err
		}
		if b, err = io.ReadAll(zr); err != nil {
			return err
		}
	}
	i := bytes.LastIndexByte(b, '1')
	if i >= 0 {
		b[i] = '2'
	}
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		b = buf.Bytes()
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return nil
}

// stack is one test's reconcile function behind the real HTTP adapter, with its own database and
// object store, over an emulator that forgets every payment of earlier tests, and the shop a test
// uses to set the scene.
type stack struct {
	*fntest.Stack
	t       *testing.T
	shop    *fntest.Shop
	objects blob.Store
	today   string
}

func newStack(t *testing.T, override map[string]string) *stack {
	t.Helper()
	fntest.Emulator().Reset()
	st := fntest.Start(t, reconcile.NewWithDeps, override)
	// The test's own WeChat Pay client talks to the emulator, wherever the function is pointed.
	direct := maps.Clone(st.Env)
	direct["WXPAY_API_BASE"] = fntest.EmulatorURL() + emulator.PayPrefix
	objects, err := blob.Open(context.Background(), st.Env["BLOB_URL"])
	if err != nil {
		t.Fatal(err)
	}
	return &stack{Stack: st, t: t, shop: fntest.NewShop(t, direct), objects: objects, today: time.Now().In(cst).Format(time.DateOnly)}
}

func (s *stack) paid(amount int64) string { return s.shop.Paid(amount, orders.KindPhysical) }

// refund refunds amount of an order in the books and at WeChat Pay, settles it there SUCCESS
// without a notification and, when apply, applies the result to the books.
func (s *stack) refund(no string, amount int64, apply bool) string {
	s.t.Helper()
	ctx := context.Background()
	rno := orders.NewOutRefundNo(time.Now())
	r, _, err := s.shop.Books.RequestRefund(ctx, orders.RefundRequest{OutTradeNo: no, OutRefundNo: rno, Amount: amount}, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	w, err := s.shop.Pay.CreateRefund(ctx, wxpay.RefundRequest{OutTradeNo: no, OutRefundNo: rno, Refund: r.Amount, Total: r.Total})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.shop.Books.ApplyRefund(ctx, orders.MerchantOf(s.shop.Pay), orders.RefundOf(w), time.Now()); err != nil {
		s.t.Fatal(err)
	}
	fntest.SettleQuietly(s.t, rno, "SUCCESS")
	if apply {
		w, err := s.shop.Pay.QueryRefund(ctx, rno)
		if err != nil {
			s.t.Fatal(err)
		}
		if _, err := s.shop.Books.ApplyRefund(ctx, orders.MerchantOf(s.shop.Pay), orders.RefundOf(w), time.Now()); err != nil {
			s.t.Fatal(err)
		}
	}
	return rno
}

func (s *stack) plant(p emulator.BillPlant) {
	s.t.Helper()
	if _, err := fntest.Emulator().PlantBill(s.today, p); err != nil {
		s.t.Fatal(err)
	}
}

// reply is reconcile's answer: its report on 200, an error otherwise.
type reply struct {
	fntest.Reply
	report reconcile.Report
}

func (s *stack) post(key string, body string) reply {
	s.t.Helper()
	r := reply{Reply: s.Post("/", key, body)}
	if r.Status == 200 {
		if err := json.Unmarshal([]byte(r.Raw), &r.report); err != nil {
			s.t.Fatalf("report: %v\n%s", err, r.Raw)
		}
	}
	return r
}

func (s *stack) run(date string) reconcile.Report {
	s.t.Helper()
	r := s.post(fntest.AdminKey, `{"date":"`+date+`"}`)
	if r.Status != 200 {
		s.t.Fatalf("reconcile %s: %d %s", date, r.Status, r.Raw)
	}
	return r.report
}

// stored returns the report kept in reconcile_reports and the one kept in object storage.
func (s *stack) stored(date string) (db *reconcile.Report, obj *reconcile.Report) {
	s.t.Helper()
	ctx := context.Background()
	var r reconcile.Report
	err := s.DB.Collection(reconcile.ReportsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: date}}).Decode(&r)
	switch {
	case err == nil:
		db = &r
	case !errors.Is(err, mongo.ErrNoDocuments):
		s.t.Fatal(err)
	}
	rc, err := s.objects.Get(ctx, reconcile.ReportKey(date))
	switch {
	case err == nil:
		defer rc.Close()
		var o reconcile.Report
		if err := json.NewDecoder(rc).Decode(&o); err != nil {
			s.t.Fatal(err)
		}
		obj = &o
	case !errors.Is(err, blob.ErrNotFound):
		s.t.Fatal(err)
	}
	return db, obj
}

func (s *stack) objectKeys() []string {
	s.t.Helper()
	objs, err := s.objects.List(context.Background(), "")
	if err != nil {
		s.t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

func (s *stack) getOrder(no string) orders.Order { return fntest.Order(s.t, s.shop.Books, no) }

// find returns the report's discrepancy of kind about no (an out_trade_no or out_refund_no).
func find(rep reconcile.Report, kind, no string) *reconcile.Discrepancy {
	for i, d := range rep.Discrepancies {
		if d.Kind == kind && (d.OutTradeNo == no || d.OutRefundNo == no) {
			return &rep.Discrepancies[i]
		}
	}
	return nil
}

// A day without any transaction: WeChat Pay has no bill, the books have nothing, the report is
// empty and balanced.
func TestEmptyDay(t *testing.T) {
	s := newStack(t, nil)
	rep := s.run(s.today)
	if rep.Status != reconcile.StatusBalanced || rep.Bill.Available || len(rep.Discrepancies) != 0 || rep.Runs != 1 ||
		rep.Database.PaidOrders != 0 || rep.Bill.Rows != 0 || rep.Date != s.today || rep.Trigger != "admin" {
		t.Fatalf("report = %+v", rep)
	}
	db, obj := s.stored(s.today)
	if db == nil || obj == nil || db.Status != reconcile.StatusBalanced || obj.Status != reconcile.StatusBalanced || obj.Runs != 1 {
		t.Fatalf("stored: %+v / %+v", db, obj)
	}
	if keys := s.objectKeys(); len(keys) != 1 || keys[0] != reconcile.ReportKey(s.today) {
		t.Errorf("objects = %v; no bill should be stored for a day without one", keys)
	}
}

// A balanced day: every payment and refund in the bill is in the books and the other way round.
func TestBalancedDay(t *testing.T) {
	s := newStack(t, nil)
	a := s.paid(1200)
	s.paid(3456)
	s.refund(a, 200, true)
	rep := s.run(s.today)
	if rep.Status != reconcile.StatusBalanced || len(rep.Discrepancies) != 0 {
		t.Fatalf("report = %+v", rep)
	}
	if !rep.Bill.Available || rep.Bill.Rows != 3 || rep.Bill.Payments != 2 || rep.Bill.Refunds != 1 || !rep.Bill.SummaryMatches ||
		rep.Bill.Summary.Total != 4656 || rep.Bill.Summary.Refund != 200 || rep.Database.PaidOrders != 2 || rep.Database.SucceededRefunds != 1 {
		t.Fatalf("bill %+v database %+v", rep.Bill, rep.Database)
	}
	// The stored bill is the file WeChat Pay issued, byte for byte.
	want, err := fntest.Emulator().TradeBill(fntest.Merchant().MchID, s.today, emulator.BillAll)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.objects.Get(context.Background(), reconcile.BillKey(s.today))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	sum := sha1.Sum(got)
	if !bytes.Equal(got, want) || rep.Bill.SHA1 != hex.EncodeToString(sum[:]) || rep.Bill.Bytes != int64(len(got)) {
		t.Errorf("stored bill: %d bytes, sha1 %s; report %+v", len(got), hex.EncodeToString(sum[:]), rep.Bill)
	}
}

// A bill with one discrepancy of every kind: each is found, the missed notifications are
// repaired through the books' transitions (running the after-payment work), the rest flagged or
// reported; a re-run changes nothing and keeps the record of the repairs.
func TestPlantedDiscrepancies(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	ok := s.paid(1000)
	// A missed TRANSACTION.SUCCESS, for virtual goods: repairing it ships them.
	missed := s.shop.Place(990, orders.KindVirtual)
	fntest.PayQuietly(t, missed)
	amount := s.paid(2000)
	s.plant(emulator.BillPlant{Kind: emulator.PlantAmount, OutTradeNo: amount, Amount: 1999})
	absent := s.paid(3000)
	s.plant(emulator.BillPlant{Kind: emulator.PlantMissing, OutTradeNo: absent})
	s.plant(emulator.BillPlant{Kind: emulator.PlantExtraPayment, OutTradeNo: "20260101000000Stranger01", Amount: 500})
	// A missed REFUND.SUCCESS.
	missedRefund := s.refund(ok, 300, false)
	refAmount := s.refund(amount, 500, true)
	s.plant(emulator.BillPlant{Kind: emulator.PlantRefundAmount, OutRefundNo: refAmount, Amount: 499})
	refAbsent := s.refund(absent, 100, true)
	s.plant(emulator.BillPlant{Kind: emulator.PlantMissingRefund, OutRefundNo: refAbsent})
	s.plant(emulator.BillPlant{Kind: emulator.PlantExtraRefund, OutTradeNo: ok, OutRefundNo: "RF-unknown-0001", Amount: 50})

	rep := s.run(s.today)
	if rep.Status != reconcile.StatusDiscrepancies {
		t.Errorf("status %s", rep.Status)
	}
	check := func(kind, no string, want func(d *reconcile.Discrepancy) bool) {
		t.Helper()
		d := find(rep, kind, no)
		if d == nil {
			t.Errorf("no %s discrepancy for %s in %+v", kind, no, rep.Discrepancies)
			return
		}
		if !want(d) {
			t.Errorf("%s %s: %+v (repair %+v)", kind, no, d, d.Repair)
		}
	}
	check(reconcile.KindMissingPayment, missed, func(d *reconcile.Discrepancy) bool {
		return d.BookState == "CREATED" && d.BillAmount == 990 && d.Repair != nil && d.Repair.Outcome == "applied"
	})
	check(reconcile.KindAmountMismatch, amount, func(d *reconcile.Discrepancy) bool {
		return d.BillAmount == 1999 && d.BookAmount == 2000 && d.Repair == nil
	})
	check(reconcile.KindNotInBill, absent, func(d *reconcile.Discrepancy) bool { return d.BookAmount == 3000 })
	check(reconcile.KindUnknownOrder, "20260101000000Stranger01", func(d *reconcile.Discrepancy) bool { return d.BillAmount == 500 })
	check(reconcile.KindMissingRefund, missedRefund, func(d *reconcile.Discrepancy) bool {
		return d.BookState == "PROCESSING" && d.Repair != nil && d.Repair.Outcome == "applied"
	})
	check(reconcile.KindRefundMismatch, refAmount, func(d *reconcile.Discrepancy) bool {
		return d.BillAmount == 499 && d.BookAmount == 500
	})
	check(reconcile.KindRefundNotInBill, refAbsent, func(d *reconcile.Discrepancy) bool { return d.BookAmount == 100 })
	check(reconcile.KindMissingRefund, "RF-unknown-0001", func(d *reconcile.Discrepancy) bool {
		// WeChat Pay does not know it either: nothing to apply, an operator must look.
		return d.Repair != nil && d.Repair.Outcome == reconcile.RepairFailed && d.Repair.Error != ""
	})
	if len(rep.Discrepancies) != 8 || rep.Repairs != 2 || rep.RepairErrors != 1 {
		t.Errorf("%d discrepancies, %d repairs, %d repair errors: %+v", len(rep.Discrepancies), rep.Repairs, rep.RepairErrors, rep.Discrepancies)
	}
	if rep.Counts[reconcile.KindMissingRefund] != 2 || rep.Counts[reconcile.KindMissingPayment] != 1 {
		t.Errorf("counts = %v", rep.Counts)
	}

	// The repairs went through the books' transitions.
	m := s.getOrder(missed)
	if m.State != orders.StatePaid || m.TransactionID == "" || m.AfterPay.DoneAt.IsZero() || m.AfterPay.Runs != 1 {
		t.Errorf("missed order after repair: %s tx %q afterPay %+v", m.State, m.TransactionID, m.AfterPay)
	}
	if m.Shipping == nil || m.Shipping.State != orders.ShipUploaded {
		t.Errorf("virtual goods of the repaired order were not shipped: %+v", m.Shipping)
	}
	if o, _ := fntest.Emulator().Order(fntest.Merchant().MchID, missed); len(o.Shipping) != 1 {
		t.Errorf("WeChat received %d shipping uploads", len(o.Shipping))
	}
	if r, err := s.shop.Books.GetRefund(ctx, missedRefund); err != nil || r.State != orders.RefundSuccess {
		t.Errorf("missed refund after repair: %+v %v", r, err)
	}
	if o := s.getOrder(ok); o.State != orders.StatePartiallyRefunded || o.Refunded != 300 {
		t.Errorf("order of the missed refund: %s refunded %d", o.State, o.Refunded)
	}
	// The amount and the refund-amount differences are flagged on their order, which is
	// otherwise untouched.
	flagged := s.getOrder(amount)
	if !flagged.Flagged || len(flagged.Flags) != 2 || flagged.Flags[0].Reason != orders.FlagAmountMismatch || flagged.Flags[1].Reason != orders.FlagRefundMismatch {
		t.Errorf("differences not flagged: %+v", flagged.Flags)
	}
	if flagged.State != orders.StatePartiallyRefunded || flagged.Refunded != 500 || flagged.Amount != 2000 {
		t.Errorf("flagged order changed: %s refunded %d", flagged.State, flagged.Refunded)
	}
	db, obj := s.stored(s.today)
	if db == nil || obj == nil || len(db.Discrepancies) != 8 || len(obj.Discrepancies) != 8 || db.Status != rep.Status {
		t.Fatalf("stored reports differ from the answer")
	}

	// A re-run: the repaired differences are gone from the books but stay in the report, with the
	// first run's outcome; nothing is applied or flagged twice.
	again := s.run(s.today)
	if again.Runs != 2 || len(again.Discrepancies) != 8 || again.Repairs != 2 {
		t.Fatalf("re-run: runs %d, %d discrepancies, %d repairs: %+v", again.Runs, len(again.Discrepancies), again.Repairs, again.Discrepancies)
	}
	for i, d := range again.Discrepancies {
		p := rep.Discrepancies[i]
		if d.Kind != p.Kind || d.OutTradeNo != p.OutTradeNo || d.OutRefundNo != p.OutRefundNo {
			t.Errorf("re-run #%d: %+v, first run %+v", i, d, p)
		}
		if p.Repair != nil && p.Repair.Outcome == "applied" && (d.Repair == nil || d.Repair.Outcome != "applied" || !d.Repair.At.Equal(p.Repair.At)) {
			t.Errorf("re-run lost the repair of %s: %+v", d.OutTradeNo+d.OutRefundNo, d.Repair)
		}
	}
	if m2 := s.getOrder(missed); m2.AfterPay.Runs != 1 || !m2.UpdatedAt.Equal(m.UpdatedAt) {
		t.Errorf("re-run touched the repaired order: %+v", m2.AfterPay)
	}
	if o := s.getOrder(amount); len(o.Flags) != 2 {
		t.Errorf("re-run flagged again: %+v", o.Flags)
	}
}

// WeChat Pay still generating the bill: the timer fails (so the platform retries) and the admin
// is told to retry; nothing is stored.
func TestBillNotReady(t *testing.T) {
	s := newStack(t, nil)
	s.paid(1000)
	inject := func() {
		if err := fntest.Emulator().InjectFault(emulator.Fault{Path: "/v3/bill/tradebill", Code: "STATEMENT_CREATING", Errmsg: "账单生成中"}); err != nil {
			t.Fatal(err)
		}
	}
	inject()
	r := s.post(fntest.AdminKey, `{"date":"`+s.today+`"}`)
	if r.Status != 503 || r.ErrCode() != "bill_not_ready" || !r.Retryable() {
		t.Fatalf("admin: %d %s", r.Status, r.Raw)
	}
	inject()
	_, err := runtime.Invoke(context.Background(), s.Fn, timerEvent(s.today))
	var se *runtime.ScheduleError
	if !errors.As(err, &se) || !errors.Is(err, wxpay.ErrBillNotReady) {
		t.Fatalf("timer: %v", err)
	}
	if db, obj := s.stored(s.today); db != nil || obj != nil {
		t.Fatal("a report was stored")
	}
	if keys := s.objectKeys(); len(keys) != 0 {
		t.Fatalf("objects stored: %v", keys)
	}
	// Once the bill is there, the retry succeeds.
	if rep := s.run(s.today); rep.Status != reconcile.StatusBalanced || rep.Bill.Rows != 1 {
		t.Fatalf("retry: %+v", rep)
	}
}

// A download whose SHA-1 is not the announced one is an error, and nothing lands in storage.
func TestBillHashMismatch(t *testing.T) {
	s := newStack(t, map[string]string{"WXPAY_API_BASE": corruptingProxy(t) + emulator.PayPrefix})
	s.paid(1111)
	r := s.post(fntest.AdminKey, `{"date":"`+s.today+`"}`)
	if r.Status != 502 || r.ErrCode() != "bill_hash_mismatch" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if keys := s.objectKeys(); len(keys) != 0 {
		t.Fatalf("objects stored: %v", keys)
	}
	if db, _ := s.stored(s.today); db != nil {
		t.Fatal("a report was stored")
	}
}

// A repair that fails for a passing reason fails the timer run (after writing the report), and
// the platform's retry completes it.
func TestTimerRetriesFailedRepairs(t *testing.T) {
	s := newStack(t, nil)
	missed := s.shop.Place(700, orders.KindPhysical)
	fntest.PayQuietly(t, missed)
	if err := fntest.Emulator().InjectFault(emulator.Fault{Path: "/v3/pay/transactions/out-trade-no/" + missed, Code: "SYSTEM_ERROR"}); err != nil {
		t.Fatal(err)
	}
	_, err := runtime.Invoke(context.Background(), s.Fn, timerEvent(s.today))
	if err == nil {
		t.Fatal("the timer run succeeded with a failed repair")
	}
	db, _ := s.stored(s.today)
	if db == nil || db.RepairErrors != 1 || db.Trigger != "schedule" {
		t.Fatalf("report after the failed repair: %+v", db)
	}
	if s.getOrder(missed).State != orders.StateCreated {
		t.Fatal("order changed although its query failed")
	}
	out, err := runtime.Invoke(context.Background(), s.Fn, timerEvent(s.today))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !strings.Contains(string(out), `"status":"ok"`) {
		t.Errorf("timer result %s", out)
	}
	db, _ = s.stored(s.today)
	if db.RepairErrors != 0 || db.Repairs != 1 || db.Runs != 2 || s.getOrder(missed).State != orders.StatePaid {
		t.Fatalf("after retry: %+v", db)
	}
}

// timerEvent is an SCF timer firing at 10:30 Beijing time on the day after date, so that it
// reconciles date.
func timerEvent(date string) []byte {
	d, _ := time.ParseInLocation(time.DateOnly, date, cst)
	fire := time.Date(d.Year(), d.Month(), d.Day()+1, 10, 30, 0, 0, cst).UTC()
	b, _ := json.Marshal(map[string]string{"Type": "Timer", "TriggerName": "daily", "Time": fire.Format(time.RFC3339), "Message": ""})
	return b
}

// The timer reconciles the previous Beijing day, whichever cloud's event fires it; a payload may
// name another day.
func TestTimerEvents(t *testing.T) {
	s := newStack(t, nil)
	s.paid(800)
	d, _ := time.ParseInLocation(time.DateOnly, s.today, cst)
	fire := time.Date(d.Year(), d.Month(), d.Day()+1, 10, 30, 0, 0, cst).UTC().Format(time.RFC3339)
	// 00:10 Beijing on the next day is still "yesterday = today" in UTC terms 16:10 the same day.
	early := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 10, 0, 0, cst).UTC().Format(time.RFC3339)
	events := map[string]string{
		"scf timer":      `{"Type":"Timer","TriggerName":"daily","Time":"` + fire + `","Message":""}`,
		"scf early":      `{"Type":"Timer","TriggerName":"daily","Time":"` + early + `","Message":""}`,
		"eventbridge":    `{"version":"0","id":"e1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"` + fire + `","region":"ap-east-1","resources":["arn:aws:events:ap-east-1:123456789012:rule/wxfn-reconcile-daily"],"detail":{}}`,
		"schedule input": `{"wxfnSchedule":"daily","time":"` + fire + `","id":"e2"}`,
		"payload date":   `{"wxfnSchedule":"daily","time":"2030-01-02T02:30:00Z","payload":{"date":"` + s.today + `"}}`,
	}
	runs := 0
	for name, ev := range events {
		if _, err := runtime.Invoke(context.Background(), s.Fn, []byte(ev)); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		runs++
		db, _ := s.stored(s.today)
		if db == nil || db.Runs != runs || db.Trigger != "schedule" || db.Bill.Rows != 1 || db.Status != reconcile.StatusBalanced {
			t.Errorf("%s: report %+v", name, db)
		}
	}
	// A firing whose previous day has not happened yet (a clock far ahead) is refused.
	if _, err := runtime.Invoke(context.Background(), s.Fn, []byte(`{"wxfnSchedule":"daily","time":"2999-01-02T02:30:00Z"}`)); err == nil {
		t.Error("a firing for a future day ran")
	}
}

// Bad requests get a clear 4xx and store nothing.
func TestBadRequests(t *testing.T) {
	s := newStack(t, nil)
	tomorrow := time.Now().In(cst).AddDate(0, 0, 1).Format(time.DateOnly)
	cases := []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"no key", "", `{"date":"` + s.today + `"}`, 401, "unauthorized"},
		{"wrong key", "adm_wrong_0123456789abcdef0123456789ab", `{"date":"` + s.today + `"}`, 401, ""},
		{"not json", fntest.AdminKey, `{date`, 400, "invalid_json"},
		{"no date", fntest.AdminKey, `{}`, 400, "missing_date"},
		{"bad date", fntest.AdminKey, `{"date":"2026-13-01"}`, 400, "invalid_date"},
		{"other format", fntest.AdminKey, `{"date":"20261121"}`, 400, "invalid_date"},
		{"future", fntest.AdminKey, `{"date":"` + tomorrow + `"}`, 400, "future_date"},
		{"number", fntest.AdminKey, `{"date":20261121}`, 400, "invalid_json"},
	}
	for _, c := range cases {
		r := s.post(c.key, c.body)
		if r.Status != c.status || (c.code != "" && r.ErrCode() != c.code) {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Raw)
		}
	}
	if keys := s.objectKeys(); len(keys) != 0 {
		t.Errorf("objects stored: %v", keys)
	}
	if n := fntest.Count(t, s.DB.Collection(reconcile.ReportsCollection)); n != 0 {
		t.Errorf("%d reports stored", n)
	}
}

// With the database unreachable, the admin is told to retry and the timer run fails (so the
// platform retries it); no bill is stored without its reconciliation.
func TestDatabaseDown(t *testing.T) {
	s := newStack(t, map[string]string{"MONGODB_URI": fntest.DeadMongoURI(t)})
	s.paid(100)
	r := s.post(fntest.AdminKey, `{"date":"`+s.today+`"}`)
	if r.Status != 503 || r.ErrCode() != "database_unavailable" || !r.Retryable() {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if _, err := runtime.Invoke(context.Background(), s.Fn, timerEvent(s.today)); err == nil {
		t.Fatal("the timer run succeeded without a database")
	}
	if keys := s.objectKeys(); len(keys) != 0 {
		t.Fatalf("objects stored: %v", keys)
	}
}
