package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

// EventBridgeEvent is an EventBridge (formerly CloudWatch Events) event. wxfn accepts only the
// "Scheduled Event" that a schedule rule sends:
//
//	{"version":"0","id":"…","detail-type":"Scheduled Event","source":"aws.events",
//	 "time":"2016-12-30T18:44:49Z","resources":["arn:aws:events:…:rule/NAME"],"detail":{}}
type EventBridgeEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	AccountID  string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail,omitempty"`
}

// ScheduledEventDetailType is the detail-type of the events schedule rules send.
const ScheduledEventDetailType = "Scheduled Event"

// Schedule translates e: the name is the rule's name (the last segment of its ARN), the payload
// the event's detail unless that is empty, and the id the event's id, which EventBridge keeps
// when it retries a delivery.
func (e *EventBridgeEvent) Schedule() (*fn.Schedule, error) {
	if e.DetailType != ScheduledEventDetailType {
		return nil, fmt.Errorf("events: eventbridge: %w: detail-type %q is not %q", ErrUnknownEvent, e.DetailType, ScheduledEventDetailType)
	}
	t, err := parseTime(e.Time)
	if err != nil {
		return nil, fmt.Errorf("events: eventbridge: %w", err)
	}
	s := &fn.Schedule{Time: t, ID: e.ID, Payload: payload(e.Detail)}
	if len(e.Resources) > 0 {
		// arn:aws:events:REGION:ACCOUNT:rule/[BUS/]NAME
		r := e.Resources[0]
		s.Name = r[strings.LastIndexByte(r, '/')+1:]
	}
	return s, nil
}

// parseTime reads an RFC 3339 time, as both clouds send them, in UTC. An empty string is the
// zero time, which the runtime replaces by the time it received the event.
func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not RFC 3339", v)
	}
	return t.UTC(), nil
}

// payload returns raw compacted, or nil when it carries nothing (absent, null, {} or ""), so
// that a handler sees the same payload whichever cloud and event shape delivered it.
func payload(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		// Not reachable for a value that came out of the JSON decoder; keep it as it came.
		return raw
	}
	switch b.String() {
	case "", "null", "{}", `""`:
		return nil
	}
	return b.Bytes()
}
