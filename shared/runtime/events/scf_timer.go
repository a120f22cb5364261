package events

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wxfn/wxfn/shared/fn"
)

// SCFTimerEvent is an SCF timer-trigger event:
//
//	{"Type":"Timer","TriggerName":"daily","Time":"2019-08-17T05:26:00Z","Message":"argument"}
//
// Type is "Timer" (an old doc spells it "timer"; keys are matched case-insensitively too).
// Message is the trigger's argument, empty by default.
type SCFTimerEvent struct {
	Type        string `json:"Type"`
	TriggerName string `json:"TriggerName"`
	Time        string `json:"Time"`
	Message     string `json:"Message"`
}

// Schedule translates e. A Message that is JSON becomes the payload as is; any other text
// becomes a JSON string. SCF gives a timer event no id of its own and does not document that a
// retried firing keeps its request id, so the id is "TriggerName@Time", the same for every
// delivery of one firing.
func (e *SCFTimerEvent) Schedule() (*fn.Schedule, error) {
	if !strings.EqualFold(e.Type, "timer") {
		return nil, fmt.Errorf("events: scf timer: %w: type %q", ErrUnknownEvent, e.Type)
	}
	t, err := parseTime(e.Time)
	if err != nil {
		return nil, fmt.Errorf("events: scf timer %s: %w", e.TriggerName, err)
	}
	s := &fn.Schedule{Name: e.TriggerName, Time: t}
	if e.Time != "" {
		s.ID = e.TriggerName + "@" + e.Time
	}
	if msg := strings.TrimSpace(e.Message); msg != "" {
		if json.Valid([]byte(msg)) {
			s.Payload = payload(json.RawMessage(msg))
		} else {
			b, _ := json.Marshal(e.Message)
			s.Payload = b
		}
	}
	return s, nil
}
