package emulator

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// tradeBill requests a bill through the SDK's verifying client and downloads it through an
// unverified one, as reference §7.2 prescribes; it returns the reference and the file as
// downloaded (still gzipped when asked).
func (p *payEnv) tradeBill(t *testing.T, c *core.Client, q url.Values) (billResponse, []byte, http.Header) {
	t.Helper()
	ctx := context.Background()
	res, err := c.Get(ctx, PayHost+"/v3/bill/tradebill?"+q.Encode())
	if err != nil {
		t.Fatalf("tradebill %v: %v", q, err)
	}
	var ref billResponse
	if err := core.UnMarshalResponse(res.Response, &ref); err != nil {
		t.Fatal(err)
	}
	dl, err := core.NewClient(ctx, option.WithMerchantCredential(p.a.MchID, p.a.CertSerial, p.aKey), option.WithoutValidator(),
		option.WithHTTPClient(p.redirecting()))
	if err != nil {
		t.Fatal(err)
	}
	res, err = dl.Get(ctx, ref.DownloadURL)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer res.Response.Body.Close()
	raw, err := io.ReadAll(res.Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return ref, raw, res.Response.Header
}

// billClock sets the emulator's clock for a bill test: the wall clock (the SDK signs and checks
// with it, within five minutes), moved back a few minutes when Beijing midnight is near, so that
// the test's payments and refunds, a minute or two apart, fall on one bill day.
func (p *payEnv) billClock() time.Time {
	now := time.Now().In(cst)
	if now.Hour() == 23 && now.Minute() >= 57 {
		now = now.Add(-4 * time.Minute)
	}
	p.clock.set(now)
	return now
}

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// billLines splits a bill into its lines, checking and dropping the BOM.
func billLines(t *testing.T, data []byte) []string {
	t.Helper()
	s, ok := strings.CutPrefix(string(data), "\ufeff")
	if !ok {
		t.Error("the bill does not start with a UTF-8 BOM")
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// billFields splits a detail or summary line on ",`" after its first backtick.
func billFields(t *testing.T, line string) []string {
	t.Helper()
	rest, ok := strings.CutPrefix(line, "`")
	if !ok {
		t.Fatalf("line %q does not start with a backtick", line)
	}
	return strings.Split(rest, ",`")
}

func TestPayTradeBill(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	c := p.client(t)
	day := p.billClock()
	date := day.Format(time.DateOnly)

	a := p.paidOrder(t, c, "ORDER_A", 1234, "")
	p.prepay(t, c, "ORDER_B", 10000, "")
	b, err := p.emu.PayOrder(ctx, "ORDER_B", PayRequest{Deliver: core.Bool(false), BankType: "CMB_CREDIT"})
	if err != nil {
		t.Fatal(err)
	}
	p.clock.advance(time.Minute)
	rf, _, err := (&refunddomestic.RefundsApiService{Client: c}).Create(ctx, refundReq("ORDER_B", "RF_B1", 5000, 10000, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.emu.SettleRefund(ctx, "RF_B1", SettleRequest{Status: "SUCCESS", Deliver: core.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	p.prepay(t, c, "ORDER_C", 50, "") // unpaid: not in the bill

	ref, data, hdr := p.tradeBill(t, c, url.Values{"bill_date": {date}, "bill_type": {"ALL"}})
	if ref.HashType != "SHA1" || ref.HashValue != sha1Hex(data) || !strings.HasPrefix(ref.DownloadURL, PayHost+"/v3/billdownload/file?token=") {
		t.Errorf("bill reference %+v; file SHA-1 %s", ref, sha1Hex(data))
	}
	if hdr.Get("Wechatpay-Signature") != "" || hdr.Get("Request-ID") == "" {
		t.Errorf("download headers: %v", hdr)
	}
	lines := billLines(t, data)
	if len(lines) != 6 || lines[0] != billHeaderAll || lines[4] != billSummaryHeader {
		t.Fatalf("bill layout:\n%s", data)
	}
	ts := func(tm time.Time) string { return tm.In(cst).Format(billTimeLayout) }
	oa, _ := p.emu.Order("", "ORDER_A")
	ob, _ := p.emu.Order("", "ORDER_B")
	successA, _ := time.Parse(time.RFC3339, oa.SuccessTime)
	wantA := "`" + ts(successA) + ",`" + appA + ",`" + mchA + ",`0,`,`" + a.TransactionID + ",`ORDER_A,`oUser0000000000000000000001,`JSAPI,`SUCCESS,`OTHERS,`CNY,`12.34,`0.00,`0,`0,`0.00,`0.00,`,`,`测试商品 <1>,`u=42,`0.07000,`0.60%,`12.34,`0.00,`"
	if lines[1] != wantA {
		t.Errorf("payment row\n got %s\nwant %s", lines[1], wantA)
	}
	fb := billFields(t, lines[2])
	fr := billFields(t, lines[3])
	if len(fb) != 27 || fb[5] != b.TransactionID || fb[10] != "CMB_CREDIT" || fb[12] != "100.00" || fb[22] != "0.60000" {
		t.Errorf("second payment row: %q", fb)
	}
	if len(fr) != 27 || fr[9] != "REFUND" || fr[5] != ob.TransactionID || fr[14] != *rf.RefundId || fr[15] != "RF_B1" ||
		fr[16] != "50.00" || fr[18] != "ORIGINAL" || fr[19] != "SUCCESS" || fr[12] != "0.00" || fr[22] != "-0.30000" ||
		fr[24] != "0.00" || fr[25] != "50.00" || fr[0] != ts(day.Add(time.Minute)) {
		t.Errorf("refund row: %q", fr)
	}
	if lines[5] != "`3,`112.34,`50.00,`0.00,`0.37000,`112.34,`50.00" {
		t.Errorf("summary row %s", lines[5])
	}

	// gzip: the hash is over the uncompressed bytes; the control API shows the same file.
	gref, gz, _ := p.tradeBill(t, c, url.Values{"bill_date": {date}, "tar_type": {"GZIP"}})
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("gzip bill: %v", err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, data) || gref.HashValue != sha1Hex(plain) {
		t.Errorf("gzip bill differs from the plain one")
	}
	if status, body := controlCall(t, p, http.MethodGet, PayPrefix+"/bills/"+date, ""); status != 200 || !bytes.Equal(body, data) {
		t.Errorf("control bill: %d", status)
	}

	// SUCCESS and REFUND bills.
	_, succ, _ := p.tradeBill(t, c, url.Values{"bill_date": {date}, "bill_type": {"SUCCESS"}})
	sl := billLines(t, succ)
	if len(sl) != 5 || sl[0] != billHeaderSuccess || len(billFields(t, sl[1])) != 20 || sl[4] != "`2,`112.34,`0.00,`0.00,`0.67000,`112.34,`0.00" {
		t.Errorf("SUCCESS bill:\n%s", succ)
	}
	_, refb, _ := p.tradeBill(t, c, url.Values{"bill_date": {date}, "bill_type": {"REFUND"}})
	rl := billLines(t, refb)
	rfields := billFields(t, rl[1])
	successB, _ := time.Parse(time.RFC3339, ob.SuccessTime)
	if len(rl) != 4 || rl[0] != billHeaderRefund || len(rfields) != 29 || rfields[0] != ts(successB) ||
		rfields[14] != ts(day.Add(time.Minute)) || rfields[15] != ts(day.Add(time.Minute)) || rfields[17] != "RF_B1" {
		t.Errorf("REFUND bill:\n%s", refb)
	}

	// Errors: no statement, dates, parameters.
	for _, tc := range []struct {
		q      string
		status int
		code   string
	}{
		{"bill_date=" + day.AddDate(0, 0, -1).Format(time.DateOnly), 400, "NO_STATEMENT_EXIST"},
		{"bill_date=" + day.AddDate(0, 0, 1).Format(time.DateOnly), 400, "INVALID_REQUEST"},
		{"bill_date=" + day.AddDate(0, -4, 0).Format(time.DateOnly), 400, "INVALID_REQUEST"},
		{"bill_date=20240501", 400, "PARAM_ERROR"},
		{"bill_date=" + date + "&bill_type=ALL_SPECIAL", 400, "PARAM_ERROR"},
		{"bill_date=" + date + "&tar_type=ZIP", 400, "PARAM_ERROR"},
	} {
		resp, body := p.raw(t, p.a, p.aKey, http.MethodGet, "/v3/bill/tradebill?"+tc.q, nil, nil)
		assertPayError(t, resp, body, tc.status, tc.code)
	}

	// Download tokens: another merchant may not use it; it expires.
	token := strings.TrimPrefix(ref.DownloadURL, PayHost+"/v3/billdownload/file?token=")
	resp, body := p.raw(t, p.b, p.bKey, http.MethodGet, "/v3/billdownload/file?token="+token, nil, nil)
	assertPayError(t, resp, body, 403, "NO_AUTH")
	resp, body = p.raw(t, p.a, p.aKey, http.MethodGet, "/v3/billdownload/file?token=nope", nil, nil)
	assertPayError(t, resp, body, 400, "INVALID_REQUEST")
	p.clock.advance(4 * time.Minute)
	if resp, body := p.raw(t, p.a, p.aKey, http.MethodGet, "/v3/billdownload/file?token="+token, nil, nil); resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Errorf("download within the token's life: %d", resp.StatusCode)
	}
	p.clock.advance(2 * time.Minute)
	resp, body = p.raw(t, p.a, p.aKey, http.MethodGet, "/v3/billdownload/file?token="+token, nil, nil)
	assertPayError(t, resp, body, 400, "INVALID_REQUEST")
}

func TestPayBillPlants(t *testing.T) {
	p := payFresh(t)
	ctx := context.Background()
	c := p.client(t)
	day := p.billClock()
	date := day.Format(time.DateOnly)
	p.paidOrder(t, c, "ORDER_A", 1000, "")
	p.paidOrder(t, c, "ORDER_B", 2000, "")
	if _, _, err := (&refunddomestic.RefundsApiService{Client: c}).Create(ctx, refundReq("ORDER_B", "RF_B1", 500, 2000, "")); err != nil {
		t.Fatal(err)
	}
	rows := func() map[string][]string {
		data, err := p.emu.TradeBill("", date, "")
		if err != nil {
			t.Fatal(err)
		}
		lines := billLines(t, data)
		out := map[string][]string{}
		for _, l := range lines[1 : len(lines)-2] {
			f := billFields(t, l)
			k := f[6]
			if f[9] == "REFUND" {
				k = f[15]
			}
			out[k] = f
		}
		out["summary"] = billFields(t, lines[len(lines)-1])
		return out
	}

	// Over the control API: a payment the merchant never heard of, a wrong amount, a missing
	// payment, an extra refund and a wrong refund amount.
	for _, body := range []string{
		`{"kind":"extra_payment","outTradeNo":"ORD_GHOST","amount":500}`,
		`{"kind":"amount","outTradeNo":"ORDER_A","amount":900}`,
		`{"kind":"missing","outTradeNo":"ORDER_B"}`,
		`{"kind":"extra_refund","outTradeNo":"ORDER_A","outRefundNo":"RF_GHOST","amount":100}`,
		`{"kind":"refund_amount","outRefundNo":"RF_B1","amount":400}`,
	} {
		if status, raw := controlCall(t, p, http.MethodPost, PayPrefix+"/bills/"+date+"/plant", body); status != http.StatusCreated {
			t.Fatalf("plant %s: %d %s", body, status, raw)
		}
	}
	r := rows()
	oa, _ := p.emu.Order("", "ORDER_A")
	switch {
	case r["ORD_GHOST"] == nil || r["ORD_GHOST"][12] != "5.00" || len(r["ORD_GHOST"][5]) != 28:
		t.Errorf("extra payment: %q", r["ORD_GHOST"])
	case r["ORDER_A"][12] != "9.00" || r["ORDER_A"][24] != "9.00":
		t.Errorf("planted amount: %q", r["ORDER_A"])
	case r["ORDER_B"] != nil:
		t.Errorf("missing payment is there: %q", r["ORDER_B"])
	case r["RF_GHOST"] == nil || r["RF_GHOST"][16] != "1.00" || r["RF_GHOST"][5] != oa.TransactionID || r["RF_GHOST"][6] != "ORDER_A":
		t.Errorf("extra refund: %q", r["RF_GHOST"])
	case r["RF_B1"][16] != "4.00" || r["RF_B1"][19] != "PROCESSING":
		t.Errorf("planted refund amount: %q", r["RF_B1"])
	case r["summary"][0] != "4" || r["summary"][1] != "14.00" || r["summary"][2] != "5.00":
		t.Errorf("summary %q", r["summary"])
	}
	if got := p.emu.BillPlants("", date); len(got) != 5 || got[0].TransactionID == "" || got[3].RefundID == "" {
		t.Errorf("plants: %+v", got)
	}

	// Cleared, then the missing refund.
	if status, _ := controlCall(t, p, http.MethodDelete, PayPrefix+"/bills/"+date+"/plant", ""); status != 200 || len(p.emu.BillPlants("", date)) != 0 {
		t.Fatalf("clear plants: %d", status)
	}
	if _, err := p.emu.PlantBill(date, BillPlant{Kind: PlantMissingRefund, OutRefundNo: "RF_B1"}); err != nil {
		t.Fatal(err)
	}
	if r := rows(); r["RF_B1"] != nil || r["ORDER_A"][12] != "10.00" || r["ORDER_B"] == nil {
		t.Errorf("after clearing and planting a missing refund: %v", r)
	}
	// Plants on another day leave this one alone.
	if _, err := p.emu.PlantBill(day.AddDate(0, 0, -1).Format(time.DateOnly), BillPlant{Kind: PlantMissing, OutTradeNo: "ORDER_A"}); err != nil {
		t.Fatal(err)
	}
	if r := rows(); r["ORDER_A"] == nil {
		t.Error("a plant for yesterday changed today's bill")
	}

	// Bad plants change nothing.
	for _, bp := range []BillPlant{
		{Kind: "double"},
		{Kind: PlantAmount, OutTradeNo: "NOPE_0001", Amount: 1},
		{Kind: PlantAmount, OutTradeNo: "ORDER_A"},
		{Kind: PlantMissingRefund, OutRefundNo: "RF_NOPE"},
		{Kind: PlantExtraPayment, OutTradeNo: "X", Amount: 1},
		{Kind: PlantExtraRefund, OutTradeNo: "ORDER_A", Amount: 1},
		{Kind: PlantMissing, OutTradeNo: "ORDER_A", MchID: "1"},
	} {
		if _, err := p.emu.PlantBill(date, bp); err == nil {
			t.Errorf("plant %+v accepted", bp)
		}
	}
	if _, err := p.emu.PlantBill("2024-13-01", BillPlant{Kind: PlantMissing, OutTradeNo: "ORDER_A"}); err == nil {
		t.Error("plant on a bad date accepted")
	}
	if n := len(p.emu.BillPlants("", date)); n != 1 {
		t.Errorf("%d plants after refused ones, want 1", n)
	}
}

// TestPayBillSampleParses checks the committed sample bill against the format rules a parser relies
// on: BOM, exact headers, backticks, 27 columns, summary sums.
func TestPayBillSampleParses(t *testing.T) {
	data := readSample(t, "pay/tradebill_all.csv")
	lines := billLines(t, data)
	if lines[0] != billHeaderAll || lines[len(lines)-2] != billSummaryHeader {
		t.Fatalf("sample headers")
	}
	for _, l := range lines[1 : len(lines)-2] {
		if f := billFields(t, l); len(f) != 27 {
			t.Errorf("sample row with %d columns: %s", len(f), l)
		}
	}
	if s := billFields(t, lines[len(lines)-1]); len(s) != 7 || s[0] != strconv.Itoa(len(lines)-3) {
		t.Errorf("sample summary %q", s)
	}
}
