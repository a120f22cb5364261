package refund_test

import (
	"path/filepath"
	"testing"

	"github.com/wxfn/wxfn/infra/fntest"
)

// Every sample event in events/refund runs through the runtime as its cloud would deliver it,
// with the placeholders make invoke fills from the running stack filled from this test's.
func TestSampleEvents(t *testing.T) {
	s := newStack(t, map[string]string{"REFUND_QUERY_AFTER": "0s"})
	want := map[string]int{
		"aws-url-refund.json":            200,
		"aws-url-refund-partial.json":    200,
		"aws-url-refund-bad-amount.json": 400,
		"aws-url-refund-no-key.json":     401,
		"aws-url-get.json":               200,
		"scf-url-refund.json":            200,
		"scf-url-get.json":               200,
	}
	fill := fntest.Fill{
		"paid_out_trade_no": func(testing.TB) string { return s.paidOrder(990) },
		"out_refund_no": func(testing.TB) string {
			return s.refund(map[string]any{"outTradeNo": s.paidOrder(500), "amount": 100}).Str("outRefundNo")
		},
		"admin_key": func(testing.TB) string { return fntest.AdminKey },
	}
	for _, path := range fntest.SampleEvents(t, "refund", want) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			if o := fntest.Invoke(t, s.Fn, path, fill); o.Status != want[name] {
				t.Errorf("status %d, want %d: %s", o.Status, want[name], o.Raw)
			}
		})
	}
}
