package reconcile_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/functions/reconcile"
	"github.com/wxfn/wxfn/shared/runtime"
)

// Every sample event in events/reconcile runs through the runtime as its cloud would deliver it,
// with the placeholders make invoke fills from the running stack filled from this test's.
func TestSampleEvents(t *testing.T) {
	s := newStack(t, nil)
	s.paid(1234)
	// HTTP events answer a status; timer events succeed (0) or fail.
	want := map[string]int{
		"aws-url-reconcile.json":        200,
		"aws-url-reconcile-future.json": 400,
		"scf-url-reconcile.json":        200,
		"scf-timer-daily.json":          0,
		"aws-schedule-daily.json":       0,
		"aws-eventbridge-daily.json":    0,
	}
	files, _ := filepath.Glob("../../events/reconcile/*.json")
	if len(files) != len(want) {
		t.Errorf("%d sample events, want %d", len(files), len(want))
	}
	runs := 0
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ev := strings.NewReplacer("{{admin_key}}", adminKey, "{{today}}", s.today).Replace(string(raw))
			out, err := runtime.Invoke(context.Background(), s.f, []byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
				Status     string `json:"status"`
			}
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			if resp.StatusCode != want[name] || (want[name] == 0 && resp.Status != "ok") {
				t.Fatalf("%s", out)
			}
			if resp.StatusCode == 200 || want[name] == 0 {
				runs++
				db, _ := s.stored(s.today)
				if db == nil || db.Runs != runs || db.Bill.Rows != 1 || db.Status != reconcile.StatusBalanced {
					t.Errorf("report %+v", db)
				}
			}
		})
	}
}
