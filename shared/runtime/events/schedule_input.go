package events

import (
	"encoding/json"
	"fmt"

	"github.com/wxfn/wxfn/shared/fn"
)

// ScheduleInput is wxfn's own schedule event. A Serverless Framework schedule with an `input`
// object delivers that object instead of the EventBridge envelope, so the deployment generator
// emits, for a function's schedule NAME:
//
//	events:
//	  - schedule:
//	      rate: cron(30 2 * * ? *)
//	      input: {"wxfnSchedule": "NAME"}
//
// The fields:
//
//   - wxfnSchedule (required): the schedule's name, as in fn.ScheduleSpec.Name;
//   - payload (optional): any JSON value, given to the handler as Schedule.Payload;
//   - time (optional): RFC 3339 firing time; without it the runtime uses the time it received
//     the event;
//   - id (optional): an id that stays the same when the platform redelivers the event; without
//     it the invocation's id is used.
//
// An inputTransformer can fill time and id from the envelope:
// {"inputPathsMap": {"t": "$.time", "id": "$.id"}, "inputTemplate": "{\"wxfnSchedule\":\"NAME\",\"time\":<t>,\"id\":<id>}"}.
type ScheduleInput struct {
	Name    string          `json:"wxfnSchedule"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Time    string          `json:"time,omitempty"`
	ID      string          `json:"id,omitempty"`
}

// Schedule translates in; invocationID is the id used when in has none.
func (in *ScheduleInput) Schedule(invocationID string) (*fn.Schedule, error) {
	if in.Name == "" {
		return nil, fmt.Errorf("events: schedule input: wxfnSchedule is empty")
	}
	t, err := parseTime(in.Time)
	if err != nil {
		return nil, fmt.Errorf("events: schedule input %s: %w", in.Name, err)
	}
	s := &fn.Schedule{Name: in.Name, Time: t, Payload: payload(in.Payload), ID: in.ID}
	if s.ID == "" {
		s.ID = invocationID
	}
	return s, nil
}
