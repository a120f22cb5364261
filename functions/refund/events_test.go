package refund_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/functions/refund"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/runtime"
)

// Every sample event in events/refund runs through the runtime as its cloud would deliver it,
// with the placeholders make invoke fills from the running stack filled from this test's.
func TestSampleEvents(t *testing.T) {
	s := newStack(t, map[string]string{"REFUND_QUERY_AFTER": "0s"})
	d := deps.New(config.Map(s.env))
	t.Cleanup(func() { d.Close(context.Background()) })
	f := refund.NewWithDeps(d)
	want := map[string]int{
		"aws-url-refund.json":            200,
		"aws-url-refund-partial.json":    200,
		"aws-url-refund-bad-amount.json": 400,
		"aws-url-refund-no-key.json":     401,
		"aws-url-get.json":               200,
		"scf-url-refund.json":            200,
		"scf-url-get.json":               200,
	}
	files, _ := filepath.Glob("../../events/refund/*.json")
	if len(files) != len(want) {
		t.Errorf("%d sample events, want %d", len(files), len(want))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ev := string(raw)
			if strings.Contains(ev, "{{paid_out_trade_no}}") {
				ev = strings.ReplaceAll(ev, "{{paid_out_trade_no}}", s.paidOrder(990))
			}
			if strings.Contains(ev, "{{out_refund_no}}") {
				r := s.refund(map[string]any{"outTradeNo": s.paidOrder(500), "amount": 100})
				ev = strings.ReplaceAll(ev, "{{out_refund_no}}", r.str("outRefundNo"))
			}
			ev = strings.ReplaceAll(ev, "{{admin_key}}", adminKey)
			if strings.Contains(ev, "{{") {
				t.Fatalf("unfilled placeholder in %s", ev)
			}
			out, err := runtime.Invoke(context.Background(), f, []byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
			}
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			if resp.StatusCode != want[name] {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, want[name], resp.Body)
			}
		})
	}
}
