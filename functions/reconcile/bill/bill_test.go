package bill_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wxfn/wxfn/functions/reconcile/bill"
)

func readAll(t testing.TB, data []byte) ([]bill.Row, bill.Summary, error) {
	t.Helper()
	r := bill.NewReader(bytes.NewReader(data))
	var rows []bill.Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			s, ok := r.Summary()
			if !ok {
				t.Fatal("io.EOF without a summary")
			}
			return rows, s, nil
		}
		if err != nil {
			return rows, bill.Summary{}, err
		}
		rows = append(rows, row)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cst(s string) time.Time {
	t, err := time.ParseInLocation(bill.TimeLayout, s, bill.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// The reference's constructed example (§7.3), field by field.
func TestReadExample(t *testing.T) {
	rows, sum, err := readAll(t, mustRead(t, "testdata/all-example.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	want0 := bill.Row{
		Line: 2, TradeTime: cst("2024-05-01 09:15:02"), AppID: "wx00000000000000aa", MchID: "1900000001",
		SubMchID: "0", TransactionID: "4200000000202405010000000001", OutTradeNo: "ORD20240501A",
		OpenID: "oAbCdEfGhIjKlMnOpQrStUvWxYz1", TradeType: "JSAPI", TradeState: "SUCCESS", BankType: "OTHERS",
		Currency: "CNY", SettlementTotal: 1234, RefundID: "0", OutRefundNo: "0", Description: "测试商品A",
		FeeMilliFen: 7000, Rate: "0.60%", Total: 1234,
	}
	if !reflect.DeepEqual(rows[0], want0) {
		t.Errorf("row 0:\n got %+v\nwant %+v", rows[0], want0)
	}
	r := rows[2]
	if !r.IsRefund() || rows[0].IsRefund() || r.Line != 4 || r.OutRefundNo != "RF20240501B1" || r.RefundID != "50300000002024050100000000001" ||
		r.Refund != 5000 || r.RefundRequested != 5000 || r.FeeMilliFen != -30000 || r.Total != 0 ||
		r.RefundStatus != "SUCCESS" || r.RefundType != "ORIGINAL" || r.Attach != "u=42" ||
		!r.TradeTime.Equal(time.Date(2024, 5, 1, 10, 3, 11, 0, time.UTC)) {
		t.Errorf("refund row = %+v", r)
	}
	want := bill.Summary{Count: 3, SettlementTotal: 11234, Refund: 5000, FeeMilliFen: 37000, Total: 11234, RefundRequested: 5000}
	if sum != want {
		t.Errorf("summary = %+v, want %+v", sum, want)
	}
	rd := bill.NewReader(bytes.NewReader(mustRead(t, "testdata/all-example.csv")))
	for {
		if _, err := rd.Next(); err != nil {
			break
		}
	}
	if m := rd.Totals().Mismatches(sum); m != nil {
		t.Errorf("computed totals differ from the summary in %v", m)
	}
	if !reflect.DeepEqual(rd.Columns(), bill.AllColumns) {
		t.Errorf("columns = %v", rd.Columns())
	}
}

// A byte-order mark, CRLF line endings and blank lines change nothing but line numbers.
func TestReadBOMCRLF(t *testing.T) {
	plain, psum, err := readAll(t, mustRead(t, "testdata/all-example.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, sum, err := readAll(t, mustRead(t, "testdata/all-bom-crlf.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, plain) || sum != psum {
		t.Errorf("BOM/CRLF bill reads differently:\n%+v\n%+v", rows, plain)
	}
	// Blank lines between rows are skipped; line numbers stay physical.
	data := strings.Replace(string(mustRead(t, "testdata/all-example.csv")), "\n`2024-05-01 10:20:45", "\n\n  \n`2024-05-01 10:20:45", 1)
	rows, _, err = readAll(t, []byte(data))
	if err != nil || len(rows) != 3 || rows[1].Line != 5 || rows[1].OutTradeNo != "ORD20240501B" {
		t.Fatalf("with blank lines: %v %+v", err, rows)
	}
}

func TestReadRefundLayout(t *testing.T) {
	rows, sum, err := readAll(t, mustRead(t, "testdata/refund-example.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || sum.Count != 1 || sum.FeeMilliFen != -30000 {
		t.Fatalf("rows %+v sum %+v", rows, sum)
	}
	r := rows[0]
	if !r.RefundApplyTime.Equal(cst("2024-05-01 18:03:11")) || !r.RefundSuccessTime.Equal(cst("2024-05-01 18:03:40")) ||
		r.OutRefundNo != "RF20240501B1" || r.Refund != 5000 || r.Description != "测试商品B" || r.Attach != "u=42" {
		t.Errorf("row = %+v", r)
	}
}

// Free text may hold commas, and even the separator ",`": fixed columns stay in place.
func TestReadFreeText(t *testing.T) {
	var buf bytes.Buffer
	w := bill.NewWriter(&buf)
	base := bill.Row{TradeTime: cst("2024-05-01 09:00:00"), TransactionID: "42", OutTradeNo: "T1", TradeState: "SUCCESS", Total: 100, FeeMilliFen: 1000, Rate: "0.60%"}
	a := base
	a.Description, a.Attach = "T恤（白色, L码）", "a,b,,c,"
	b := base
	b.OutTradeNo, b.Description, b.Attach = "T2", "x", "k=`v,`w"
	for _, r := range []bill.Row{a, b} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	rows, _, err := readAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Description != a.Description || rows[0].Attach != a.Attach {
		t.Errorf("commas: %q %q", rows[0].Description, rows[0].Attach)
	}
	if rows[1].Attach != b.Attach || rows[1].Description != "x" || rows[1].FeeMilliFen != 1000 || rows[1].Rate != "0.60%" || rows[1].Total != 100 {
		t.Errorf("separator in attach: %+v", rows[1])
	}
}

func TestReadSuccessLayoutAndExtraColumns(t *testing.T) {
	var buf bytes.Buffer
	w := bill.NewWriter(&buf)
	w.Columns = append(append([]string{}, bill.SuccessColumns...), "未来的新列")
	w.Write(bill.Row{TradeTime: cst("2024-05-01 09:00:00"), TransactionID: "42", OutTradeNo: "T1", TradeState: "SUCCESS", Total: 199, SettlementTotal: 199, RefundID: "ignored"})
	w.Close()
	rows, sum, err := readAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Total != 199 || rows[0].RefundID != "" || sum.Total != 199 {
		t.Errorf("rows %+v sum %+v", rows, sum)
	}
}

func TestReadEmptyDay(t *testing.T) {
	var buf bytes.Buffer
	bill.NewWriter(&buf).Close()
	rows, sum, err := readAll(t, buf.Bytes())
	if err != nil || len(rows) != 0 || sum != (bill.Summary{}) {
		t.Fatalf("empty day: %v %v %+v\n%s", err, rows, sum, buf.String())
	}
}

// Malformed bills fail with the line that is wrong.
func TestReadErrors(t *testing.T) {
	example := string(mustRead(t, "testdata/all-example.csv"))
	lines := strings.Split(strings.TrimSuffix(example, "\n"), "\n")
	join := func(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }
	replaceIn := func(i int, old, new string) []byte {
		c := append([]string{}, lines...)
		if !strings.Contains(c[i], old) {
			t.Fatalf("line %d lacks %q", i+1, old)
		}
		c[i] = strings.Replace(c[i], old, new, 1)
		return join(c...)
	}
	cases := []struct {
		name string
		data []byte
		line int
		msg  string
	}{
		{"empty", nil, 1, "empty bill"},
		{"only blank lines", []byte("\n\r\n  \n"), 4, "empty bill"},
		{"rows first", join(lines[1:]...), 1, "expected the detail header"},
		{"not a trade bill", []byte("记账时间,微信支付业务单号,资金流水单号\n"), 1, "lacks column"},
		{"duplicate column", join(lines[0]+",交易时间", lines[1]), 1, "appears twice"},
		{"header only", join(lines[0]), 2, "without its summary"},
		{"truncated", join(lines[:3]...), 4, "without its summary"},
		{"too few values", replaceIn(2, ",`CMB_CREDIT", ""), 3, "26 values, want 27"},
		{"bad amount", replaceIn(1, "`12.34,", "`12.3x,"), 2, "应结订单金额"},
		{"sub-fen amount", replaceIn(1, "`12.34,", "`12.345,"), 2, "more than 2 decimals"},
		{"bad fee", replaceIn(1, "`0.07000,", "`0.070001,"), 2, "手续费"},
		{"bad time", replaceIn(3, "2024-05-01 18:03:11", "2024-05-01 18:63:11"), 4, "交易时间"},
		{"bad date", replaceIn(1, "2024-05-01 09:15:02", "2024-02-30 09:15:02"), 2, "not a valid date"},
		{"empty time", replaceIn(1, "`2024-05-01 09:15:02", "`"), 2, "交易时间: empty"},
		{"not utf-8", replaceIn(2, "测试商品B", "\xff\xfe"), 3, "UTF-8"},
		{"stray line", join(lines[0], lines[1], "hello", lines[4], lines[5]), 3, "summary header"},
		{"summary without totals", join(lines[:5]...), 6, "no totals row"},
		{"totals not backticked", join(append(lines[:5:5], "3,112.34,50.00,0.00,0.37000,112.34,50.00")...), 6, "expected the totals row"},
		{"totals short", join(append(lines[:5:5], "`3,`112.34")...), 6, "2 values, want 7"},
		{"bad count", join(append(lines[:5:5], "`3.5,`112.34,`50.00,`0.00,`0.37000,`112.34,`50.00")...), 6, "总交易单数"},
		{"after summary", join(append(lines, "", "`4,`1.00")...), 8, "after the summary"},
		{"long line", join(lines[0], "`"+strings.Repeat("x", bill.MaxLineBytes)), 2, "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(t, c.data)
			var se *bill.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if se.Line != c.line || !strings.Contains(se.Error(), c.msg) {
				t.Errorf("err = %v, want line %d and %q", err, c.line, c.msg)
			}
		})
	}
}

// An error sticks: the reader does not resynchronise on a later row.
func TestReadErrorSticks(t *testing.T) {
	data := strings.Replace(string(mustRead(t, "testdata/all-example.csv")), "`12.34,`0.00", "`x,`0.00", 1)
	r := bill.NewReader(strings.NewReader(data))
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors %v then %v", err1, err2)
	}
}

func TestAmounts(t *testing.T) {
	// Amounts reach the reader only through a bill; build one-row bills around each value.
	cases := []struct {
		in   string
		fen  int64
		fail bool
	}{
		{"12.34", 1234, false}, {"0.01", 1, false}, {"12", 1200, false}, {"12.3", 1230, false},
		{"12.340", 1234, false}, {"-0.30", -30, false}, {"-0.00", 0, false}, {"", 0, false},
		{"92233720368547758.07", 9223372036854775807, false},
		{"92233720368547758.08", 0, true}, {"12.345", 0, true}, {"1e3", 0, true}, {".5", 0, true},
		{"5.", 0, true}, {"-", 0, true}, {"+1.00", 0, true}, {"1.2.3", 0, true}, {" 1.00", 0, true},
		{"１.00", 0, true},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		buf.WriteString("交易时间,微信订单号,商户订单号,交易状态,订单金额\n`2024-05-01 00:00:00,`1,`T1,`SUCCESS,`" + c.in + "\n")
		buf.WriteString("总交易单数\n`1\n")
		rows, _, err := readAll(t, buf.Bytes())
		if c.fail {
			if err == nil {
				t.Errorf("%q: accepted as %d", c.in, rows[0].Total)
			}
			continue
		}
		if err != nil || rows[0].Total != c.fen {
			t.Errorf("%q: %v %v, want %d", c.in, err, rows, c.fen)
		}
	}
}

// Writing what was read gives back the canonical file byte for byte.
func TestWriteRoundTrip(t *testing.T) {
	for _, path := range []string{"testdata/all-example.csv", "testdata/refund-example.csv"} {
		data := mustRead(t, path)
		r := bill.NewReader(bytes.NewReader(data))
		var buf bytes.Buffer
		var w *bill.Writer
		for {
			row, err := r.Next()
			if w == nil {
				w = bill.NewWriter(&buf)
				w.Columns = r.Columns()
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(row); err != nil {
				t.Fatal(err)
			}
		}
		s, _ := r.Summary()
		if err := w.CloseWithSummary(s); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("%s: round trip differs:\n%s\nwant\n%s", path, buf.Bytes(), data)
		}
	}
}

func TestWriteRefusesLineBreaks(t *testing.T) {
	w := bill.NewWriter(io.Discard)
	if err := w.Write(bill.Row{TradeTime: cst("2024-05-01 00:00:00"), Description: "a\nb"}); err == nil || !strings.Contains(err.Error(), "商品名称") {
		t.Errorf("err = %v", err)
	}
	if err := w.Write(bill.Row{}); err == nil {
		t.Error("a row without a time was written")
	}
}

// Generated bills read back with the totals they were written with.
func TestGenerate(t *testing.T) {
	var buf bytes.Buffer
	want, err := Generate(&buf, 5000, "2024-05-01")
	if err != nil {
		t.Fatal(err)
	}
	rows, sum, err := readAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	refunds := 0
	for _, r := range rows {
		if r.IsRefund() {
			refunds++
		}
		if r.TradeTime.Format("2006-01-02") != "2024-05-01" {
			t.Fatalf("row at %v is not on the day", r.TradeTime)
		}
	}
	if len(rows) != 5000 || sum != want || want.Count != 5000 || refunds < 300 || refunds > 1000 {
		t.Errorf("%d rows (%d refunds), summary %+v, want %+v", len(rows), refunds, sum, want)
	}
	var again bytes.Buffer
	Generate(&again, 5000, "2024-05-01")
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("Generate is not deterministic")
	}
}

// A totals row that does not add up is reported column by column.
func TestSummaryMismatches(t *testing.T) {
	var buf bytes.Buffer
	w := bill.NewWriter(&buf)
	w.Write(bill.Row{TradeTime: cst("2024-05-01 09:00:00"), TransactionID: "1", OutTradeNo: "T1", TradeState: "SUCCESS", Total: 100, SettlementTotal: 100, FeeMilliFen: 1000})
	lie := w.Totals()
	lie.Count, lie.Total = 2, 200
	w.CloseWithSummary(lie)
	r := bill.NewReader(&buf)
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	s, _ := r.Summary()
	if m := r.Totals().Mismatches(s); !reflect.DeepEqual(m, []string{"总交易单数", "订单总金额"}) {
		t.Errorf("mismatches = %v", m)
	}
}
