package bill

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Writer writes a trade bill in WeChat Pay's format, for emulators, fixtures and tests. Rows
// are written in the layout Columns names (the ALL bill unless set before the first Write);
// Close appends the summary block.
type Writer struct {
	// Columns is the detail layout; nil means AllColumns. Unknown names get empty values.
	Columns []string
	// BOM starts the file with a UTF-8 byte-order mark, as some real bills do.
	BOM bool
	// CRLF ends lines with \r\n instead of \n.
	CRLF bool

	w       *bufio.Writer
	cols    []field
	started bool
	closed  bool
	totals  Summary
	buf     []byte
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10)}
}

func (w *Writer) start() error {
	if w.started {
		return nil
	}
	w.started = true
	if w.Columns == nil {
		w.Columns = AllColumns
	}
	w.cols = make([]field, len(w.Columns))
	for i, n := range w.Columns {
		if strings.ContainsAny(n, ",\r\n") || (i == 0 && strings.HasPrefix(n, "`")) {
			return fmt.Errorf("bill: write header: column name %q cannot be written", n)
		}
		w.cols[i] = detailFields[n]
	}
	if w.BOM {
		w.w.Write(bom)
	}
	w.w.WriteString(strings.Join(w.Columns, ","))
	return w.eol()
}

func (w *Writer) eol() error {
	var err error
	if w.CRLF {
		_, err = w.w.WriteString("\r\n")
	} else {
		err = w.w.WriteByte('\n')
	}
	return err
}

// Write writes one detail row. TradeTime is required; no value may hold a line break.
func (w *Writer) Write(r Row) error {
	if w.closed {
		return errors.New("bill: write after close")
	}
	if err := w.start(); err != nil {
		return err
	}
	if r.TradeTime.IsZero() {
		return fmt.Errorf("bill: write row %s: no trade time", r.OutTradeNo)
	}
	b := w.buf[:0]
	for i, f := range w.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '`')
		start := len(b)
		b = appendField(b, &r, f)
		if bytes.ContainsAny(b[start:], "\r\n") {
			return fmt.Errorf("bill: write row %s: column %s holds a line break", r.OutTradeNo, w.Columns[i])
		}
	}
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("bill: write: %w", err)
	}
	w.totals.add(&r)
	return w.eol()
}

func appendField(b []byte, r *Row, f field) []byte {
	switch f {
	case fieldTradeTime:
		return appendTime(b, r.TradeTime)
	case fieldAppID:
		return append(b, r.AppID...)
	case fieldMchID:
		return append(b, r.MchID...)
	case fieldSubMchID:
		return append(b, r.SubMchID...)
	case fieldDeviceInfo:
		return append(b, r.DeviceInfo...)
	case fieldTransactionID:
		return append(b, r.TransactionID...)
	case fieldOutTradeNo:
		return append(b, r.OutTradeNo...)
	case fieldOpenID:
		return append(b, r.OpenID...)
	case fieldTradeType:
		return append(b, r.TradeType...)
	case fieldTradeState:
		return append(b, r.TradeState...)
	case fieldBankType:
		return append(b, r.BankType...)
	case fieldCurrency:
		return append(b, r.Currency...)
	case fieldSettlementTotal:
		return appendAmount(b, r.SettlementTotal, 2)
	case fieldCoupon:
		return appendAmount(b, r.Coupon, 2)
	case fieldRefundApplyTime:
		return appendTime(b, r.RefundApplyTime)
	case fieldRefundSuccessTime:
		return appendTime(b, r.RefundSuccessTime)
	case fieldRefundID:
		return append(b, r.RefundID...)
	case fieldOutRefundNo:
		return append(b, r.OutRefundNo...)
	case fieldRefund:
		return appendAmount(b, r.Refund, 2)
	case fieldRechargeCouponRefund:
		return appendAmount(b, r.RechargeCouponRefund, 2)
	case fieldRefundType:
		return append(b, r.RefundType...)
	case fieldRefundStatus:
		return append(b, r.RefundStatus...)
	case fieldDescription:
		return append(b, r.Description...)
	case fieldAttach:
		return append(b, r.Attach...)
	case fieldFee:
		return appendAmount(b, r.FeeMilliFen, 5)
	case fieldRate:
		return append(b, r.Rate...)
	case fieldTotal:
		return appendAmount(b, r.Total, 2)
	case fieldRefundRequested:
		return appendAmount(b, r.RefundRequested, 2)
	case fieldRateNote:
		return append(b, r.RateNote...)
	}
	return b
}

// appendTime prints t in Beijing time; the zero time is an empty value.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return t.In(Shanghai).AppendFormat(b, TimeLayout)
}

// Totals returns the sums of the rows written so far.
func (w *Writer) Totals() Summary { return w.totals }

// Close writes the summary block with the totals of the rows written and flushes.
func (w *Writer) Close() error { return w.CloseWithSummary(w.totals) }

// CloseWithSummary writes the summary block with s (which a test may make disagree with the
// rows) and flushes.
func (w *Writer) CloseWithSummary(s Summary) error {
	if w.closed {
		return errors.New("bill: already closed")
	}
	if err := w.start(); err != nil {
		return err
	}
	w.closed = true
	w.w.WriteString(strings.Join(SummaryColumns, ","))
	w.eol()
	b := w.buf[:0]
	for i, v := range []struct {
		n     int64
		scale int
	}{{s.Count, 0}, {s.SettlementTotal, 2}, {s.Refund, 2}, {s.RechargeCouponRefund, 2}, {s.FeeMilliFen, 5}, {s.Total, 2}, {s.RefundRequested, 2}} {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '`')
		b = appendAmount(b, v.n, v.scale)
	}
	w.w.Write(b)
	w.eol()
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("bill: write: %w", err)
	}
	return nil
}
