package bill_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/wxfn/wxfn/functions/reconcile/bill"
)

// Generate writes a plausible ALL bill of n detail rows for date (YYYY-MM-DD): payments of the
// merchant's mini-program with about one refund row for every eight, Chinese descriptions,
// attach values holding commas, fees of 0.6 % in whole fen. The same date gives the same bill.
func Generate(w io.Writer, n int, date string) (bill.Summary, error) {
	day, err := time.ParseInLocation("2006-01-02", date, bill.Shanghai)
	if err != nil {
		return bill.Summary{}, fmt.Errorf("generate: %w", err)
	}
	rng := rand.New(rand.NewPCG(uint64(day.Unix()), 42))
	bw := bill.NewWriter(w)
	descs := []string{"测试商品A", "月度会员", "咖啡豆 500g", "T恤（白色, L码）", "充值100元"}
	type paid struct {
		row      bill.Row
		refunded int64
	}
	var recent []paid
	step := 86400 * time.Second / time.Duration(n+1)
	for i := range n {
		at := day.Add(time.Duration(i+1) * step).Truncate(time.Second)
		if len(recent) > 0 && rng.IntN(8) == 0 {
			k := rng.IntN(len(recent))
			p := &recent[k]
			left := p.row.Total - p.refunded
			if left > 0 {
				amt := 1 + rng.Int64N(left)
				p.refunded += amt
				r := p.row
				r.TradeTime = at
				r.TradeState = bill.StateRefund
				r.SettlementTotal, r.Coupon, r.Total = 0, 0, 0
				r.RefundID = fmt.Sprintf("503000000%s%010d", day.Format("20060102"), i)
				r.OutRefundNo = fmt.Sprintf("R%s%08d", day.Format("20060102"), i)
				r.Refund, r.RefundRequested = amt, amt
				r.RefundType, r.RefundStatus = "ORIGINAL", "SUCCESS"
				r.FeeMilliFen = -feeFen(amt) * 1000
				if err := bw.Write(r); err != nil {
					return bill.Summary{}, err
				}
				continue
			}
		}
		total := 1 + rng.Int64N(99999)
		r := bill.Row{
			TradeTime:       at,
			AppID:           "wx0000000000000001",
			MchID:           "1900000001",
			SubMchID:        "0",
			TransactionID:   fmt.Sprintf("4200000000%s%010d", day.Format("20060102"), i),
			OutTradeNo:      fmt.Sprintf("T%s%08d", day.Format("20060102"), i),
			OpenID:          fmt.Sprintf("oUser%023d", rng.IntN(1000)),
			TradeType:       "JSAPI",
			TradeState:      bill.StateSuccess,
			BankType:        "OTHERS",
			Currency:        "CNY",
			SettlementTotal: total,
			Total:           total,
			RefundID:        "0",
			OutRefundNo:     "0",
			Description:     descs[rng.IntN(len(descs))],
			FeeMilliFen:     feeFen(total) * 1000,
			Rate:            "0.60%",
		}
		if rng.IntN(3) == 0 {
			r.Attach = fmt.Sprintf("u=%d,src=share", rng.IntN(1e6))
		}
		if err := bw.Write(r); err != nil {
			return bill.Summary{}, err
		}
		recent = append(recent, paid{row: r})
		if len(recent) > 64 {
			recent = recent[1:]
		}
	}
	s := bw.Totals()
	return s, bw.Close()
}

// feeFen is 0.6 % of fen, rounded half up, in whole fen.
func feeFen(fen int64) int64 { return (fen*6 + 500) / 1000 }

// repeated streams a bill of blocks×(rows of one generated block) without holding it: the
// header, the block's rows again and again, and a summary that adds up. Parsing it measures the
// parser, not the generator or the disk.
type repeated struct {
	header, rows, summary []byte
	blocks                int
	cur                   []byte
	stage                 int
}

func newRepeated(blockRows, blocks int, date string) (*repeated, bill.Summary) {
	var buf bytes.Buffer
	s, err := Generate(&buf, blockRows, date)
	if err != nil {
		panic(err)
	}
	b := buf.Bytes()
	h := bytes.IndexByte(b, '\n') + 1
	end := bytes.Index(b, []byte("\n总交易单数")) + 1
	total := bill.Summary{
		Count: s.Count * int64(blocks), SettlementTotal: s.SettlementTotal * int64(blocks),
		Refund: s.Refund * int64(blocks), RechargeCouponRefund: s.RechargeCouponRefund * int64(blocks),
		FeeMilliFen: s.FeeMilliFen * int64(blocks), Total: s.Total * int64(blocks),
		RefundRequested: s.RefundRequested * int64(blocks),
	}
	var sum bytes.Buffer
	w := bill.NewWriter(&sum)
	w.CloseWithSummary(total)
	summary := sum.Bytes()[bytes.IndexByte(sum.Bytes(), '\n')+1:]
	return &repeated{header: b[:h], rows: b[h:end], summary: summary, blocks: blocks}, total
}

// size is the number of bytes the stream yields.
func (r *repeated) size() int64 {
	return int64(len(r.header)) + int64(len(r.rows))*int64(r.blocks) + int64(len(r.summary))
}

func (r *repeated) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		switch {
		case r.stage == 0:
			r.cur = r.header
		case r.stage <= r.blocks:
			r.cur = r.rows
		case r.stage == r.blocks+1:
			r.cur = r.summary
		default:
			return 0, io.EOF
		}
		r.stage++
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
