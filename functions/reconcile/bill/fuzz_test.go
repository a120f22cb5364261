package bill_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/wxfn/wxfn/functions/reconcile/bill"
)

// FuzzBill feeds the reader arbitrary bytes. It must never panic; it fails only with a
// *SyntaxError on a line that exists; and whatever it accepts, written back out and read again,
// gives the same rows and summary, and writing those again gives the same bytes.
func FuzzBill(f *testing.F) {
	for _, p := range []string{"testdata/all-example.csv", "testdata/all-bom-crlf.csv", "testdata/refund-example.csv"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var gen bytes.Buffer
	Generate(&gen, 20, "2024-05-02")
	f.Add(gen.Bytes())
	f.Add([]byte(""))
	f.Add([]byte("交易时间,微信订单号,商户订单号,交易状态,订单金额,商户数据包\n`2024-05-01 00:00:00,`1,`T1,`SUCCESS,`1.00,`a,`b\n总交易单数\n`1\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		rows, cols, sum, err := parse(data)
		if err != nil {
			var se *bill.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error is not a *SyntaxError: %v", err)
			}
			if lines := bytes.Count(data, []byte("\n")) + 1; se.Line < 1 || se.Line > lines+1 {
				t.Fatalf("error names line %d of %d: %v", se.Line, lines, err)
			}
			return
		}
		for _, r := range rows {
			if r.TradeTime.IsZero() || r.Line < 2 {
				t.Fatalf("accepted row without time or on line %d: %+v", r.Line, r)
			}
		}
		first := write(t, cols, rows, sum)
		rows2, cols2, sum2, err := parse(first)
		if err != nil {
			t.Fatalf("re-reading what was written: %v\n%q", err, first)
		}
		if sum2 != sum || len(rows2) != len(rows) || !reflect.DeepEqual(cols2, cols) {
			t.Fatalf("round trip: summary %+v → %+v, %d → %d rows", sum, sum2, len(rows), len(rows2))
		}
		for i := range rows {
			rows[i].Line, rows2[i].Line = 0, 0
		}
		if !reflect.DeepEqual(rows, rows2) {
			t.Fatalf("round trip changed rows:\n%+v\n%+v", rows, rows2)
		}
		if second := write(t, cols2, rows2, sum2); !bytes.Equal(first, second) {
			t.Fatalf("writing is not stable:\n%q\n%q", first, second)
		}
	})
}

func parse(data []byte) ([]bill.Row, []string, bill.Summary, error) {
	r := bill.NewReader(bytes.NewReader(data))
	var rows []bill.Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			s, ok := r.Summary()
			if !ok {
				panic("io.EOF without a summary")
			}
			return rows, r.Columns(), s, nil
		}
		if err != nil {
			return nil, nil, bill.Summary{}, err
		}
		rows = append(rows, row)
	}
}

func write(t *testing.T, cols []string, rows []bill.Row, s bill.Summary) []byte {
	var buf bytes.Buffer
	w := bill.NewWriter(&buf)
	w.Columns = cols
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatalf("writing an accepted row: %v", err)
		}
	}
	if err := w.CloseWithSummary(s); err != nil {
		t.Fatalf("writing the summary: %v", err)
	}
	return buf.Bytes()
}
