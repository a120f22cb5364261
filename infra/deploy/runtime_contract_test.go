package deploy

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wxfn/wxfn/shared/runtime/events"
)

// TestSchedulesReachRuntimeByName: what each cloud delivers for a generated timer decodes, in
// the runtime's own decoder, to a Schedule named like the fn.ScheduleSpec. On AWS that is the
// object our input transformer fills; on SCF it is the timer event whose TriggerName is the
// trigger name the config sets.
func TestSchedulesReachRuntimeByName(t *testing.T) {
	specs := sampleSpecs()
	files, err := Files(specs)
	if err != nil {
		t.Fatal(err)
	}
	var aws awsConfig
	if err := yaml.Unmarshal(files[AWSConfigPath], &aws); err != nil {
		t.Fatal(err)
	}
	fired := time.Date(2026, 3, 1, 2, 30, 0, 0, time.UTC)
	checked := 0
	for _, s := range specs {
		var scf scfConfig
		if err := yaml.Unmarshal(files[SCFConfigPath(s.Name)], &scf); err != nil {
			t.Fatal(err)
		}
		var timers []string
		for _, ev := range scf.Inputs.Events {
			if tm, ok := ev["timer"]; ok {
				timers = append(timers, tm.Name)
			}
		}
		for i, sc := range s.Schedules {
			tmpl := aws.Functions[s.Name].Events[i].Schedule.InputTransformer.InputTemplate
			input := strings.NewReplacer("<time>", `"`+fired.Format(time.RFC3339)+`"`, "<id>", `"evt-1"`).Replace(tmpl)
			ev, err := events.Decode([]byte(input), "inv-1")
			if err != nil {
				t.Errorf("%s/%s: AWS input %s: %v", s.Name, sc.Name, input, err)
			} else if ev.Schedule == nil || ev.Schedule.Name != sc.Name || !ev.Schedule.Time.Equal(fired) || ev.Schedule.ID != "evt-1" {
				t.Errorf("%s/%s: AWS input decoded to %+v", s.Name, sc.Name, ev.Schedule)
			}

			timer := `{"Type":"Timer","TriggerName":"` + timers[i] + `","Time":"2026-03-01T02:30:00Z","Message":""}`
			ev, err = events.Decode([]byte(timer), "inv-2")
			if err != nil {
				t.Errorf("%s/%s: SCF timer %s: %v", s.Name, sc.Name, timer, err)
			} else if ev.Schedule == nil || ev.Schedule.Name != sc.Name {
				t.Errorf("%s/%s: SCF timer decoded to %+v", s.Name, sc.Name, ev.Schedule)
			}
			checked++
		}
	}
	if checked != 4 {
		t.Errorf("checked %d schedules, want the sample's 4", checked)
	}
}
