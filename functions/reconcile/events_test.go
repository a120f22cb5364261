package reconcile_test

import (
	"path/filepath"
	"testing"

	"github.com/wxfn/wxfn/functions/reconcile"
	"github.com/wxfn/wxfn/infra/fntest"
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
	fill := fntest.Fill{
		"admin_key": func(testing.TB) string { return fntest.AdminKey },
		"today":     func(testing.TB) string { return s.today },
	}
	runs := 0
	for _, path := range fntest.SampleEvents(t, "reconcile", want) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			o := fntest.Invoke(t, s.Fn, path, fill)
			if o.Status != want[name] || (want[name] == 0 && o.Body["status"] != "ok") {
				t.Fatalf("%s", o.Out)
			}
			if o.Status == 200 || want[name] == 0 {
				runs++
				db, _ := s.stored(s.today)
				if db == nil || db.Runs != runs || db.Bill.Rows != 1 || db.Status != reconcile.StatusBalanced {
					t.Errorf("report %+v", db)
				}
			}
		})
	}
}
