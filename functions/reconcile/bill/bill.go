// Package bill reads and writes the WeChat Pay trade bill (交易账单), the daily CSV-like file
// that GET /v3/bill/tradebill points to (reference §7.3):
//
//	交易时间,公众账号ID,商户号,…,费率备注                       ← detail header (no backticks)
//	`2024-05-01 09:15:02,`wx00000000000000aa,`1900000001,…,`    ← detail rows, every value prefixed with `
//	总交易单数,应结订单总金额,退款总金额,…,申请退款总金额        ← summary header
//	`3,`112.34,`50.00,`0.00,`0.37000,`112.34,`50.00             ← one totals row
//
// The file is UTF-8, may start with a byte-order mark, and may end its lines with CRLF; blank
// lines are ignored. Money is printed in yuan as decimal strings (two decimals, five for the
// fee columns) and is converted to integer fen (milli-fen for fees) exactly, without floating
// point.
//
// The Reader is streaming: it holds one line at a time, so a bill of a million rows costs the
// same memory as one of ten. It maps columns by their header names, so the ALL, SUCCESS and
// REFUND layouts all read into the same Row, and a column WeChat adds later is ignored.
//
// Values are not quoted, and the merchant's free text (商品名称, 商户数据包) may hold commas.
// Rows are therefore split on the two-character separator ",`" rather than on ","; a row with
// more separators than columns (free text holding ",`") keeps the fixed columns in place and
// gives the surplus to 商户数据包, which is as much as the format lets anyone recover.
package bill

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Shanghai is the bill's time zone (Beijing time, UTC+8, no daylight saving since 1991). A fixed
// zone spares the function binary the tz database.
var Shanghai = time.FixedZone("CST", 8*3600)

// TimeLayout is how the bill prints times.
const TimeLayout = "2006-01-02 15:04:05"

// Trade states of the 交易状态 column.
const (
	StateSuccess = "SUCCESS" // a payment row
	StateRefund  = "REFUND"  // a refund row
	StateRevoked = "REVOKED" // a revoked (micropay) payment
)

// Row is one detail row. Amounts are in fen except FeeMilliFen; a column absent from the bill's
// layout leaves its field zero.
type Row struct {
	// Line is the row's line number in the file (1-based), for messages.
	Line int

	TradeTime     time.Time // 交易时间: payment time, or the refund's time on REFUND rows of the ALL bill
	AppID         string    // 公众账号ID
	MchID         string    // 商户号
	SubMchID      string    // 特约商户号 ("0" for direct merchants)
	DeviceInfo    string    // 设备号
	TransactionID string    // 微信订单号
	OutTradeNo    string    // 商户订单号
	OpenID        string    // 用户标识
	TradeType     string    // 交易类型: JSAPI, NATIVE, APP, MWEB, MICROPAY
	TradeState    string    // 交易状态: SUCCESS, REFUND, REVOKED
	BankType      string    // 付款银行
	Currency      string    // 货币种类
	// SettlementTotal is 应结订单金额: the order amount less non-cash coupons; 0 on refund rows.
	SettlementTotal int64
	Coupon          int64 // 代金券金额

	RefundApplyTime   time.Time // 退款申请时间 (REFUND bill only)
	RefundSuccessTime time.Time // 退款成功时间 (REFUND bill only)

	RefundID             string // 微信退款单号 ("0" on payment rows)
	OutRefundNo          string // 商户退款单号 ("0" on payment rows)
	Refund               int64  // 退款金额: the settled refund amount
	RechargeCouponRefund int64  // 充值券退款金额
	RefundType           string // 退款类型: ORIGINAL, BALANCE, …
	RefundStatus         string // 退款状态: SUCCESS, PROCESSING, …

	Description string // 商品名称
	Attach      string // 商户数据包
	// FeeMilliFen is 手续费 in thousandths of a fen (the bill prints it with five decimals of a
	// yuan); negative on refund rows, where the fee is returned.
	FeeMilliFen     int64
	Rate            string // 费率, e.g. "0.60%"
	Total           int64  // 订单金额: the order amount; 0 on refund rows
	RefundRequested int64  // 申请退款金额
	RateNote        string // 费率备注
}

// IsRefund reports whether r is a refund row.
func (r *Row) IsRefund() bool { return r.TradeState == StateRefund }

// Summary is the bill's totals row, or the same sums computed from the rows read.
type Summary struct {
	Count                int64 // 总交易单数: detail rows, payments and refunds
	SettlementTotal      int64 // 应结订单总金额, fen
	Refund               int64 // 退款总金额, fen
	RechargeCouponRefund int64 // 充值券退款总金额, fen
	FeeMilliFen          int64 // 手续费总金额, thousandths of a fen
	Total                int64 // 订单总金额, fen
	RefundRequested      int64 // 申请退款总金额, fen
}

func (s *Summary) add(r *Row) {
	s.Count++
	s.SettlementTotal += r.SettlementTotal
	s.Refund += r.Refund
	s.RechargeCouponRefund += r.RechargeCouponRefund
	s.FeeMilliFen += r.FeeMilliFen
	s.Total += r.Total
	s.RefundRequested += r.RefundRequested
}

// Mismatches lists, by column name, where s and o differ; nil when they agree.
func (s Summary) Mismatches(o Summary) []string {
	var out []string
	check := func(name string, a, b int64) {
		if a != b {
			out = append(out, name)
		}
	}
	check(colCount, s.Count, o.Count)
	check(colSettlementSum, s.SettlementTotal, o.SettlementTotal)
	check(colRefundSum, s.Refund, o.Refund)
	check(colRechargeRefundSum, s.RechargeCouponRefund, o.RechargeCouponRefund)
	check(colFeeSum, s.FeeMilliFen, o.FeeMilliFen)
	check(colTotalSum, s.Total, o.Total)
	check(colRefundRequestedSum, s.RefundRequested, o.RefundRequested)
	return out
}

// SyntaxError is a malformed bill. Line is 1-based.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("bill: line %d: %s", e.Line, e.Msg) }

// MaxLineBytes bounds one line of the bill; a real row is a few hundred bytes.
const MaxLineBytes = 64 << 10

var bom = []byte{0xEF, 0xBB, 0xBF}

type readerState int

const (
	stateHeader readerState = iota
	stateRows
	stateDone
)

// Reader reads a trade bill row by row.
type Reader struct {
	br    *bufio.Reader
	line  int
	state readerState
	err   error

	cols      []field // detail column index → field
	attachCol int     // index of 商户数据包 in cols, -1 if absent
	names     []string
	pieces    []string // reused split buffer

	totals     Summary
	summary    Summary
	hasSummary bool
}

// NewReader returns a Reader reading the bill from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, MaxLineBytes), attachCol: -1}
}

// Next returns the next detail row. After the last row it reads and checks the summary block
// and returns io.EOF; Summary is then available. A malformed bill is a *SyntaxError naming
// the line; any error is returned again by every later call.
func (r *Reader) Next() (Row, error) {
	if r.err != nil {
		return Row{}, r.err
	}
	row, err := r.next()
	if err != nil {
		r.err = err
	}
	return row, err
}

// Columns returns the names of the detail header's columns, once the first Next has read it.
func (r *Reader) Columns() []string { return r.names }

// Summary returns the bill's totals row; ok is false until Next has returned io.EOF.
func (r *Reader) Summary() (s Summary, ok bool) { return r.summary, r.hasSummary }

// Totals returns the sums of the detail rows read so far, to compare with Summary.
func (r *Reader) Totals() Summary { return r.totals }

// Line returns the number of the last line read.
func (r *Reader) Line() int { return r.line }

func (r *Reader) fail(format string, args ...any) error {
	return &SyntaxError{Line: r.line, Msg: fmt.Sprintf(format, args...)}
}

// readLine returns the next line without its line ending, valid until the next read. At the
// end of the input it returns io.EOF (after returning a last line that has no newline).
func (r *Reader) readLine() ([]byte, error) {
	b, err := r.br.ReadSlice('\n')
	if len(b) == 0 && err == io.EOF {
		return nil, io.EOF
	}
	r.line++
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, r.fail("line longer than %d bytes", MaxLineBytes)
	case err != nil && err != io.EOF:
		return nil, fmt.Errorf("bill: read line %d: %w", r.line, err)
	}
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if r.line == 1 {
		b = bytes.TrimPrefix(b, bom)
	}
	if !utf8.Valid(b) {
		return nil, r.fail("not valid UTF-8")
	}
	if bytes.IndexByte(b, '\r') >= 0 {
		// A bare CR would end the line for some readers and not for others.
		return nil, r.fail("carriage return inside a line")
	}
	return b, nil
}

// readNonBlank returns the next line that is not blank.
func (r *Reader) readNonBlank() ([]byte, error) {
	for {
		b, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			return b, nil
		}
	}
}

func (r *Reader) next() (Row, error) {
	if r.state == stateDone {
		return Row{}, io.EOF
	}
	if r.state == stateHeader {
		b, err := r.readNonBlank()
		if err == io.EOF {
			return Row{}, &SyntaxError{Line: r.line + 1, Msg: "empty bill: no detail header"}
		}
		if err != nil {
			return Row{}, err
		}
		if err := r.parseHeader(string(b)); err != nil {
			return Row{}, err
		}
		r.state = stateRows
	}
	b, err := r.readNonBlank()
	if err == io.EOF {
		return Row{}, &SyntaxError{Line: r.line + 1, Msg: "the bill ends without its summary block (truncated?)"}
	}
	if err != nil {
		return Row{}, err
	}
	if b[0] != '`' {
		if err := r.readSummary(string(b)); err != nil {
			return Row{}, err
		}
		r.state = stateDone
		return Row{}, io.EOF
	}
	row, err := r.parseRow(string(b))
	if err != nil {
		return Row{}, err
	}
	r.totals.add(&row)
	return row, nil
}

// split cuts a backtick-prefixed line into its values, in r.pieces.
func (r *Reader) split(s string) []string {
	p := r.pieces[:0]
	s = s[1:] // the first value's backtick
	for {
		i := strings.Index(s, ",`")
		if i < 0 {
			p = append(p, s)
			break
		}
		p = append(p, s[:i])
		s = s[i+2:]
	}
	r.pieces = p
	return p
}

func (r *Reader) parseHeader(s string) error {
	if strings.HasPrefix(s, "`") {
		return r.fail("expected the detail header, found a data row")
	}
	names := strings.Split(s, ",")
	r.cols = make([]field, len(names))
	seen := make(map[field]bool, len(names))
	for i, n := range names {
		n = strings.TrimSpace(n)
		names[i] = n
		f := detailFields[n]
		if f != fieldUnknown {
			if seen[f] {
				return r.fail("column %q appears twice", n)
			}
			seen[f] = true
		}
		if f == fieldAttach {
			r.attachCol = i
		}
		r.cols[i] = f
	}
	for _, f := range requiredFields {
		if !seen[f] {
			return r.fail("the detail header lacks column %q (is this a trade bill?)", fieldNames[f])
		}
	}
	r.names = names
	return nil
}

func (r *Reader) parseRow(s string) (Row, error) {
	p := r.split(s)
	n := len(r.cols)
	if len(p) < n || (len(p) > n && r.attachCol < 0) {
		return Row{}, r.fail("%d values, want %d", len(p), n)
	}
	if extra := len(p) - n; extra > 0 {
		// Free text holding ",`": keep the fixed columns on both sides in place.
		a := r.attachCol
		p[a] = strings.Join(p[a:a+extra+1], ",`")
		p = append(p[:a+1], p[a+extra+1:]...)
		r.pieces = p
	}
	row := Row{Line: r.line}
	for i, v := range p {
		if err := r.set(&row, r.cols[i], v); err != nil {
			return Row{}, err
		}
	}
	return row, nil
}

func (r *Reader) set(row *Row, f field, v string) error {
	var err error
	switch f {
	case fieldTradeTime:
		row.TradeTime, err = parseTime(v, true)
	case fieldAppID:
		row.AppID = v
	case fieldMchID:
		row.MchID = v
	case fieldSubMchID:
		row.SubMchID = v
	case fieldDeviceInfo:
		row.DeviceInfo = v
	case fieldTransactionID:
		row.TransactionID = v
	case fieldOutTradeNo:
		row.OutTradeNo = v
	case fieldOpenID:
		row.OpenID = v
	case fieldTradeType:
		row.TradeType = v
	case fieldTradeState:
		row.TradeState = v
	case fieldBankType:
		row.BankType = v
	case fieldCurrency:
		row.Currency = v
	case fieldSettlementTotal:
		row.SettlementTotal, err = parseAmount(v, 2)
	case fieldCoupon:
		row.Coupon, err = parseAmount(v, 2)
	case fieldRefundApplyTime:
		row.RefundApplyTime, err = parseTime(v, false)
	case fieldRefundSuccessTime:
		row.RefundSuccessTime, err = parseTime(v, false)
	case fieldRefundID:
		row.RefundID = v
	case fieldOutRefundNo:
		row.OutRefundNo = v
	case fieldRefund:
		row.Refund, err = parseAmount(v, 2)
	case fieldRechargeCouponRefund:
		row.RechargeCouponRefund, err = parseAmount(v, 2)
	case fieldRefundType:
		row.RefundType = v
	case fieldRefundStatus:
		row.RefundStatus = v
	case fieldDescription:
		row.Description = v
	case fieldAttach:
		row.Attach = v
	case fieldFee:
		row.FeeMilliFen, err = parseAmount(v, 5)
	case fieldRate:
		row.Rate = v
	case fieldTotal:
		row.Total, err = parseAmount(v, 2)
	case fieldRefundRequested:
		row.RefundRequested, err = parseAmount(v, 2)
	case fieldRateNote:
		row.RateNote = v
	}
	if err != nil {
		return r.fail("%s: %v", fieldNames[f], err)
	}
	return nil
}

// readSummary reads the summary header in s, its totals row and the (blank) rest of the file.
func (r *Reader) readSummary(s string) error {
	names := strings.Split(s, ",")
	cols := make([]sumField, len(names))
	seen := make(map[sumField]bool, len(names))
	for i, n := range names {
		f := summaryFields[strings.TrimSpace(n)]
		if f != sumUnknown {
			if seen[f] {
				return r.fail("summary column %q appears twice", strings.TrimSpace(n))
			}
			seen[f] = true
		}
		cols[i] = f
	}
	if !seen[sumCount] {
		return r.fail("expected a detail row (starting with `) or the summary header (starting with %s)", colCount)
	}
	b, err := r.readNonBlank()
	if err == io.EOF {
		return &SyntaxError{Line: r.line + 1, Msg: "the summary header has no totals row"}
	}
	if err != nil {
		return err
	}
	if b[0] != '`' {
		return r.fail("expected the totals row (values starting with `)")
	}
	p := r.split(string(b))
	if len(p) != len(cols) {
		return r.fail("totals row has %d values, want %d", len(p), len(cols))
	}
	var sum Summary
	for i, v := range p {
		var err error
		switch cols[i] {
		case sumCount:
			sum.Count, err = parseAmount(v, 0)
		case sumSettlement:
			sum.SettlementTotal, err = parseAmount(v, 2)
		case sumRefund:
			sum.Refund, err = parseAmount(v, 2)
		case sumRechargeRefund:
			sum.RechargeCouponRefund, err = parseAmount(v, 2)
		case sumFee:
			sum.FeeMilliFen, err = parseAmount(v, 5)
		case sumTotal:
			sum.Total, err = parseAmount(v, 2)
		case sumRefundRequested:
			sum.RefundRequested, err = parseAmount(v, 2)
		}
		if err != nil {
			return r.fail("%s: %v", strings.TrimSpace(names[i]), err)
		}
	}
	if _, err := r.readNonBlank(); err != io.EOF {
		if err != nil {
			return err
		}
		return r.fail("unexpected content after the summary block")
	}
	r.summary, r.hasSummary = sum, true
	return nil
}

// parseTime reads a bill time in Beijing time. An empty value is the zero time unless required.
func parseTime(v string, required bool) (time.Time, error) {
	if v == "" {
		if required {
			return time.Time{}, errors.New("empty")
		}
		return time.Time{}, nil
	}
	// A hand-rolled parse: time.Parse is a third of the cost of a row.
	if len(v) != len(TimeLayout) || v[4] != '-' || v[7] != '-' || v[10] != ' ' || v[13] != ':' || v[16] != ':' {
		return time.Time{}, fmt.Errorf("%q is not a time like %s", v, TimeLayout)
	}
	num := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	y, mo, d, h, mi, s := num(v[0:4]), num(v[5:7]), num(v[8:10]), num(v[11:13]), num(v[14:16]), num(v[17:19])
	if y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 {
		return time.Time{}, fmt.Errorf("%q is not a valid time", v)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, Shanghai)
	if t.Day() != d {
		return time.Time{}, fmt.Errorf("%q is not a valid date", v)
	}
	return t, nil
}
