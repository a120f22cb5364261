package emulator

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Trade bills (reference §7): produced from the emulator's own payments and refunds for one day in
// Beijing time, in the exact CSV-like layout of the real files (UTF-8 BOM, a header row, detail
// rows whose every value starts with a backtick, a summary header and a summary row, amounts in
// yuan, fees with five decimals). Unlike the real service, which issues day D's bill from 09:00 on
// D+1, the emulator issues a bill for any day of the last three months, today included.

// Planted discrepancies (BillPlant.Kind): what reconciliation must find.
const (
	// PlantExtraPayment adds a payment row the merchant never saw: OutTradeNo and Amount (fen);
	// TransactionID is generated unless given.
	PlantExtraPayment = "extra_payment"
	// PlantAmount prints Amount (fen) instead of the real amount on OutTradeNo's payment row.
	PlantAmount = "amount"
	// PlantMissing leaves OutTradeNo's payment row out.
	PlantMissing = "missing"
	// PlantExtraRefund adds a refund row: OutTradeNo, OutRefundNo and Amount (fen).
	PlantExtraRefund = "extra_refund"
	// PlantRefundAmount prints Amount instead of the real amount on OutRefundNo's refund row.
	PlantRefundAmount = "refund_amount"
	// PlantMissingRefund leaves OutRefundNo's refund row out.
	PlantMissingRefund = "missing_refund"
)

// BillPlant is a discrepancy planted in one day's trade bill (POST /_emu/pay/bills/{date}/plant).
// Kinds that change or remove a row apply to that row in that day's bill only.
type BillPlant struct {
	MchID       string `json:"mchid,omitempty"`
	Kind        string `json:"kind"`
	OutTradeNo  string `json:"outTradeNo,omitempty"`
	OutRefundNo string `json:"outRefundNo,omitempty"`
	// TransactionID and RefundID of an extra row; generated when empty.
	TransactionID string `json:"transactionId,omitempty"`
	RefundID      string `json:"refundId,omitempty"`
	// Amount in fen: of the extra row, or the amount printed instead of the real one.
	Amount int64 `json:"amount,omitempty"`
}

// Bill types the emulator issues.
const (
	BillAll     = "ALL"
	BillSuccess = "SUCCESS"
	BillRefund  = "REFUND"
)

// The exact header rows (reference §7.3).
const (
	billHeaderAll     = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
	billHeaderSuccess = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注"
	billHeaderRefund  = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
	billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
	billFeeRate       = "0.60%"
	billTimeLayout    = "2006-01-02 15:04:05"
)

// billRow is one detail row; amounts in fen.
type billRow struct {
	at                                 time.Time // 交易时间: the payment's, or the refund's in ALL
	payTime, refundApplied, refundedAt time.Time
	appid, mchid, txn, outTradeNo      string
	openid, state, bank                string
	settle                             int64 // 应结订单金额
	refundID, outRefundNo              string
	refund                             int64 // 退款金额
	refundStatus                       string
	description, attach                string
	fee                                int64 // 手续费, negative on refund rows
	total                              int64 // 订单金额
	applied                            int64 // 申请退款金额
	isRefund                           bool
}

// feeOf is the 0.6% fee on fen, rounded half up to whole fen.
func feeOf(fen int64) int64 { return (fen*6 + 500) / 1000 }

func paymentRow(o *payOrder, amount int64) billRow {
	return billRow{
		at: o.successTime, payTime: o.successTime, appid: o.appid, mchid: o.mchid, txn: o.transactionID,
		outTradeNo: o.outTradeNo, openid: o.openid, state: "SUCCESS", bank: o.bankType, settle: amount,
		description: o.description, attach: o.attach, fee: feeOf(amount), total: amount,
	}
}

func refundRow(r *payRefund, amount int64) billRow {
	o := r.order
	row := billRow{
		at: r.createdAt, payTime: o.successTime, refundApplied: r.createdAt, appid: o.appid, mchid: r.mchid,
		txn: o.transactionID, outTradeNo: o.outTradeNo, openid: o.openid, state: "REFUND", bank: o.bankType,
		refundID: r.refundID, outRefundNo: r.outRefundNo, refund: amount, refundStatus: r.status,
		description: o.description, attach: o.attach, fee: -feeOf(amount), applied: amount, isRefund: true,
	}
	if r.status == refundSuccess {
		row.refundedAt = r.successTime
	}
	return row
}

// billRows builds the detail rows of mchid's day (starting at day, Beijing midnight) with the
// planted discrepancies applied, in time order. Expects Emulator.mu held.
func (s *payState) billRows(mchid string, day time.Time, defaultApp string) []billRow {
	end := day.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.Before(day) && t.Before(end) }
	plants := s.plants[payKey{mchid, day.Format(time.DateOnly)}]
	var rows []billRow
	for _, o := range s.orders {
		if o.mchid != mchid || !o.paid() || !in(o.successTime) {
			continue
		}
		row, keep := paymentRow(o, o.total), true
		for _, p := range plants {
			switch {
			case p.Kind == PlantMissing && p.OutTradeNo == o.outTradeNo:
				keep = false
			case p.Kind == PlantAmount && p.OutTradeNo == o.outTradeNo:
				row = paymentRow(o, p.Amount)
			}
		}
		if keep {
			rows = append(rows, row)
		}
	}
	for _, r := range s.refunds {
		if r.mchid != mchid || !in(r.createdAt) {
			continue
		}
		row, keep := refundRow(r, r.amount), true
		for _, p := range plants {
			switch {
			case p.Kind == PlantMissingRefund && p.OutRefundNo == r.outRefundNo:
				keep = false
			case p.Kind == PlantRefundAmount && p.OutRefundNo == r.outRefundNo:
				row = refundRow(r, p.Amount)
			}
		}
		if keep {
			rows = append(rows, row)
		}
	}
	noon := day.Add(12 * time.Hour)
	for _, p := range plants {
		switch p.Kind {
		case PlantExtraPayment:
			ghost := &payOrder{mchid: mchid, appid: defaultApp, outTradeNo: p.OutTradeNo, openid: "o" + strings.Repeat("0", 27),
				transactionID: p.TransactionID, bankType: "OTHERS", successTime: noon, description: "emulator: planted payment"}
			if o := s.orders[payKey{mchid, p.OutTradeNo}]; o != nil {
				ghost.appid, ghost.openid, ghost.description, ghost.attach = o.appid, o.openid, o.description, o.attach
			}
			rows = append(rows, paymentRow(ghost, p.Amount))
		case PlantExtraRefund:
			ghost := &payOrder{mchid: mchid, appid: defaultApp, outTradeNo: p.OutTradeNo, openid: "o" + strings.Repeat("0", 27),
				transactionID: p.TransactionID, bankType: "OTHERS", successTime: noon, description: "emulator: planted refund", total: p.Amount}
			if o := s.orders[payKey{mchid, p.OutTradeNo}]; o != nil && o.paid() {
				ghost = o
			}
			r := &payRefund{mchid: mchid, order: ghost, outRefundNo: p.OutRefundNo, refundID: p.RefundID,
				amount: p.Amount, status: refundSuccess, createdAt: noon, successTime: noon}
			rows = append(rows, refundRow(r, p.Amount))
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].at.Equal(rows[j].at) {
			return rows[i].at.Before(rows[j].at)
		}
		return rows[i].outTradeNo+rows[i].outRefundNo < rows[j].outTradeNo+rows[j].outRefundNo
	})
	return rows
}

// renderBill writes the bill file of billType from rows. Rows of the other kind are left out of
// SUCCESS and REFUND bills.
func renderBill(rows []billRow, billType string) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeff") // real files start with a UTF-8 BOM
	switch billType {
	case BillSuccess:
		b.WriteString(billHeaderSuccess)
	case BillRefund:
		b.WriteString(billHeaderRefund)
	default:
		b.WriteString(billHeaderAll)
	}
	b.WriteByte('\n')
	var n, settle, refund, fee, total, applied int64
	for _, r := range rows {
		if (billType == BillSuccess && r.isRefund) || (billType == BillRefund && !r.isRefund) {
			continue
		}
		n++
		settle += r.settle
		refund += r.refund
		fee += r.fee
		total += r.total
		applied += r.applied
		refundID, outRefundNo := "0", "0"
		if r.isRefund {
			refundID, outRefundNo = r.refundID, r.outRefundNo
		}
		refundType := ""
		if r.isRefund {
			refundType = "ORIGINAL"
		}
		head := []string{r.at.In(cst).Format(billTimeLayout), r.appid, r.mchid, "0", "", r.txn, r.outTradeNo, r.openid,
			"JSAPI", r.state, r.bank, "CNY", yuan(r.settle), "0.00"}
		text := []string{billText(r.description), billText(r.attach)}
		var fields []string
		switch billType {
		case BillSuccess:
			fields = append(append(head, text...), yuan5(r.fee), billFeeRate, yuan(r.total), "")
		case BillRefund:
			head[0] = r.payTime.In(cst).Format(billTimeLayout)
			refundedAt := ""
			if !r.refundedAt.IsZero() {
				refundedAt = r.refundedAt.In(cst).Format(billTimeLayout)
			}
			fields = append(head, r.refundApplied.In(cst).Format(billTimeLayout), refundedAt, refundID, outRefundNo,
				yuan(r.refund), "0.00", refundType, r.refundStatus)
			fields = append(append(fields, text...), yuan5(r.fee), billFeeRate, yuan(r.total), yuan(r.applied), "")
		default:
			fields = append(head, refundID, outRefundNo, yuan(r.refund), "0.00", refundType, r.refundStatus)
			fields = append(append(fields, text...), yuan5(r.fee), billFeeRate, yuan(r.total), yuan(r.applied), "")
		}
		writeBillLine(&b, fields)
	}
	b.WriteString(billSummaryHeader)
	b.WriteByte('\n')
	writeBillLine(&b, []string{strconv.FormatInt(n, 10), yuan(settle), yuan(refund), "0.00", yuan5(fee), yuan(total), yuan(applied)})
	return b.Bytes()
}

// writeBillLine writes the values each prefixed with a backtick, comma-separated, no quoting.
func writeBillLine(b *bytes.Buffer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('`')
		b.WriteString(f)
	}
	b.WriteByte('\n')
}

// billText keeps merchant text on one line; commas stay, as in real bills (that is why parsers
// split on ",`").
func billText(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// yuan renders fen as yuan with two decimals.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// yuan5 renders a fee: yuan with five decimals, though its value is in whole fen.
func yuan5(fen int64) string { return yuan(fen) + "000" }

// billFile is an issued bill waiting behind a download token.
type billFile struct {
	mchid   string
	data    []byte // uncompressed: the SHA-1 is over these bytes
	gzip    bool
	expires time.Time
}

// billDay parses a bill date and checks it is one the emulator issues: today or up to about three
// months back.
func billDay(date string, now time.Time) (time.Time, *payError) {
	day, err := time.ParseInLocation(time.DateOnly, date, cst)
	if err != nil {
		return time.Time{}, paramError("query", "bill_date", "须为yyyy-MM-DD格式")
	}
	today := now.In(cst)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, cst)
	switch {
	case day.After(today):
		return time.Time{}, payErr("INVALID_REQUEST", "账单日期不能晚于今天")
	case today.Sub(day) > billHistory:
		return time.Time{}, payErr("INVALID_REQUEST", "仅支持下载三个月内的账单")
	}
	return day, nil
}

// payTradeBill is GET /v3/bill/tradebill?bill_date=&bill_type=&tar_type=.
func (e *Emulator) payTradeBill(c *payCall) (int, any, *payError) {
	q := c.r.URL.Query()
	day, perr := billDay(q.Get("bill_date"), c.now)
	if perr != nil {
		return 0, nil, perr
	}
	billType := q.Get("bill_type")
	switch billType {
	case "":
		billType = BillAll
	case BillAll, BillSuccess, BillRefund:
	default:
		return 0, nil, paramError("query", "bill_type", "取值须为ALL、SUCCESS或REFUND")
	}
	tar := q.Get("tar_type")
	if tar != "" && tar != "GZIP" {
		return 0, nil, paramError("query", "tar_type", "取值须为GZIP")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	data, ok := e.billLocked(c.mch.MchID, day, billType)
	if !ok {
		return 0, nil, payErr("NO_STATEMENT_EXIST", "")
	}
	for t, f := range e.pay.bills {
		if !c.now.Before(f.expires) {
			delete(e.pay.bills, t)
		}
	}
	token := randomString(urlSafe, 64)
	e.pay.bills[token] = &billFile{mchid: c.mch.MchID, data: data, gzip: tar == "GZIP", expires: c.now.Add(billTokenTTL)}
	sum := sha1.Sum(data)
	return http.StatusOK, billResponse{HashType: "SHA1", HashValue: hex.EncodeToString(sum[:]),
		DownloadURL: e.payCfg.downloadBase + "/v3/billdownload/file?token=" + token}, nil
}

// billLocked renders a bill; false when the day has no row of that type (NO_STATEMENT_EXIST).
func (e *Emulator) billLocked(mchid string, day time.Time, billType string) ([]byte, bool) {
	rows := e.pay.billRows(mchid, day, e.payCfg.merchants[mchid].AppIDs[0])
	found := false
	for _, r := range rows {
		if billType == BillAll || (billType == BillRefund) == r.isRefund {
			found = true
			break
		}
	}
	if !found {
		return nil, false
	}
	return renderBill(rows, billType), true
}

// payBillDownload is GET /v3/billdownload/file?token=: the file itself, gzip if asked, with no
// Wechatpay-* signature headers (integrity comes from the SHA-1), as the real service answers.
func (e *Emulator) payBillDownload(w http.ResponseWriter, r *http.Request) {
	c, perr := e.payCallFor(w, r)
	var data []byte
	var gz bool
	if perr == nil {
		e.mu.Lock()
		f := e.pay.bills[r.URL.Query().Get("token")]
		switch {
		case f == nil || !c.now.Before(f.expires):
			perr = payErr("INVALID_REQUEST", "下载链接已失效，请重新申请")
		case f.mchid != c.mch.MchID:
			perr = payErr("NO_AUTH", "无权下载该账单")
		default:
			data, gz = f.data, f.gzip
		}
		e.mu.Unlock()
	}
	if perr != nil {
		writePayError(w, perr)
		return
	}
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(data)
		_ = zw.Close()
		data = buf.Bytes()
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Request-ID", newRequestID(0))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// payCertificates is GET /v3/certificates: the platform certificate encrypted with the caller's
// APIv3 key (AAD "certificate"); none for a public-key-only merchant.
func (e *Emulator) payCertificates(c *payCall) (int, any, *payError) {
	out := certificatesResponse{Data: []platformCertificate{}}
	if e.payCfg.mode == PayModePublicKeyOnly {
		return http.StatusOK, out, nil
	}
	p := e.payCfg.platform()
	nonce := randomString(alnum, 12)
	ct, err := sealAESGCM(c.mch.APIv3Key, nonce, "certificate", []byte(p.certPEM))
	if err != nil {
		return 0, nil, payErr("SYSTEM_ERROR", "")
	}
	out.Data = append(out.Data, platformCertificate{
		SerialNo: p.certSerial, EffectiveTime: rfc3339(p.cert.NotBefore), ExpireTime: rfc3339(p.cert.NotAfter),
		EncryptCertificate: encryptedResource{Algorithm: "AEAD_AES_256_GCM", Nonce: nonce, AssociatedData: "certificate", Ciphertext: ct},
	})
	return http.StatusOK, out, nil
}

// PlantBill plants a discrepancy in one day's trade bill (date YYYY-MM-DD, Beijing) and returns it
// as stored (with generated ids). It fails with a *ControlError, changing nothing, on an unknown
// merchant, kind, order or refund, or a missing field.
func (e *Emulator) PlantBill(date string, p BillPlant) (BillPlant, error) {
	if _, err := time.ParseInLocation(time.DateOnly, date, cst); err != nil {
		return BillPlant{}, badRequest("date must be YYYY-MM-DD")
	}
	mchid, cerr := e.merchantID(p.MchID)
	if cerr != nil {
		return BillPlant{}, cerr
	}
	p.MchID = mchid
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch p.Kind {
	case PlantExtraPayment, PlantExtraRefund:
		if !outTradeNoPattern.MatchString(p.OutTradeNo) || p.Amount <= 0 {
			return BillPlant{}, badRequest(p.Kind + " needs outTradeNo and a positive amount (fen)")
		}
		if p.TransactionID == "" {
			p.TransactionID = newTransactionID(now)
			if o := e.pay.orders[payKey{mchid, p.OutTradeNo}]; o != nil && o.paid() {
				p.TransactionID = o.transactionID
			}
		}
		if p.Kind == PlantExtraRefund {
			if !outRefundNoPattern.MatchString(p.OutRefundNo) {
				return BillPlant{}, badRequest(p.Kind + " needs outRefundNo")
			}
			if p.RefundID == "" {
				p.RefundID = newRefundID(now)
			}
		}
	case PlantAmount, PlantMissing:
		if e.pay.orders[payKey{mchid, p.OutTradeNo}] == nil {
			return BillPlant{}, unknownOrder(p.OutTradeNo)
		}
		if p.Kind == PlantAmount && p.Amount <= 0 {
			return BillPlant{}, badRequest("amount needs a positive amount (fen)")
		}
	case PlantRefundAmount, PlantMissingRefund:
		if e.pay.refunds[payKey{mchid, p.OutRefundNo}] == nil {
			return BillPlant{}, &ControlError{Status: http.StatusNotFound, Code: "unknown_refund", Message: "no refund " + p.OutRefundNo + " at the emulator"}
		}
		if p.Kind == PlantRefundAmount && p.Amount <= 0 {
			return BillPlant{}, badRequest("refund_amount needs a positive amount (fen)")
		}
	default:
		return BillPlant{}, badRequest("kind must be one of extra_payment, amount, missing, extra_refund, refund_amount, missing_refund")
	}
	k := payKey{mchid, date}
	e.pay.plants[k] = append(e.pay.plants[k], p)
	e.log.Info("emulator: bill discrepancy planted", "mchid", mchid, "date", date, "kind", p.Kind)
	return p, nil
}

// BillPlants lists the discrepancies planted in the day's bill (mchid empty: the default merchant).
func (e *Emulator) BillPlants(mchid, date string) []BillPlant {
	if mchid == "" && len(e.payCfg.order) > 0 {
		mchid = e.payCfg.order[0]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]BillPlant{}, e.pay.plants[payKey{mchid, date}]...)
}

// ClearBillPlants removes the discrepancies planted in the day's bill.
func (e *Emulator) ClearBillPlants(mchid, date string) {
	if mchid == "" && len(e.payCfg.order) > 0 {
		mchid = e.payCfg.order[0]
	}
	e.mu.Lock()
	delete(e.pay.plants, payKey{mchid, date})
	e.mu.Unlock()
}

// TradeBill renders the day's bill as /v3/bill/tradebill would issue it now (billType ALL when
// empty; mchid empty: the default merchant). It fails with a *ControlError when the day has
// nothing to bill (the API's NO_STATEMENT_EXIST).
func (e *Emulator) TradeBill(mchid, date, billType string) ([]byte, error) {
	mchid, cerr := e.merchantID(mchid)
	if cerr != nil {
		return nil, cerr
	}
	day, perr := billDay(date, e.now())
	if perr != nil {
		return nil, badRequest(perr.message)
	}
	if billType == "" {
		billType = BillAll
	}
	if billType != BillAll && billType != BillSuccess && billType != BillRefund {
		return nil, badRequest("bill type must be ALL, SUCCESS or REFUND")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	data, ok := e.billLocked(mchid, day, billType)
	if !ok {
		return nil, &ControlError{Status: http.StatusNotFound, Code: "no_statement", Message: "nothing to bill on " + date + " (the API answers NO_STATEMENT_EXIST)"}
	}
	return data, nil
}

// merchantID resolves an optional merchant id to a registered one (empty: the default).
func (e *Emulator) merchantID(mchid string) (string, *ControlError) {
	if mchid == "" {
		if len(e.payCfg.order) == 0 {
			return "", &ControlError{Status: http.StatusNotFound, Code: "no_merchant", Message: "no WeChat Pay merchant is registered with the emulator"}
		}
		return e.payCfg.order[0], nil
	}
	if e.payCfg.merchants[mchid] == nil {
		return "", &ControlError{Status: http.StatusNotFound, Code: "unknown_merchant", Message: "merchant " + mchid + " is not registered with the emulator"}
	}
	return mchid, nil
}
