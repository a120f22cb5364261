// Package events holds the wire formats in which AWS Lambda and Tencent SCF deliver invocations
// to a wxfn function, and their translation to and from the cloud-neutral types of package fn.
//
// Each event family has its own file with plain structs carrying the platform's JSON field
// names, in the style of aws-lambda-go's events package, and realistic samples in testdata/.
// Decode recognises a raw event of any supported family; Format.EncodeResponse answers an HTTP
// event in the shape its platform expects.
//
// Supported families:
//
//   - Lambda function URL and API Gateway HTTP API (payload 2.0) requests (lambda_url.go);
//   - EventBridge scheduled events (eventbridge.go) and wxfn's own schedule input object, which a
//     Serverless `schedule.input` delivers instead (schedule_input.go);
//   - SCF function URL requests (scf_url.go) and legacy SCF API-gateway requests (scf_apigw.go);
//   - SCF timer events (scf_timer.go).
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/wxfn/wxfn/shared/fn"
)

// ErrUnknownEvent is returned (wrapped) by Decode for a JSON object of no supported family.
var ErrUnknownEvent = errors.New("unrecognised event")

// Format names the wire format of an event. The format of an HTTP event decides the shape of
// its response.
type Format int

// Event formats.
const (
	FormatUnknown Format = iota
	// FormatLambdaURL is a Lambda function URL or API Gateway HTTP API payload 2.0 request.
	FormatLambdaURL
	// FormatEventBridge is an EventBridge (CloudWatch Events) scheduled event.
	FormatEventBridge
	// FormatScheduleInput is wxfn's ScheduleInput object.
	FormatScheduleInput
	// FormatSCFURL is an SCF function URL request.
	FormatSCFURL
	// FormatSCFAPIGateway is a legacy SCF API-gateway request.
	FormatSCFAPIGateway
	// FormatSCFTimer is an SCF timer-trigger event.
	FormatSCFTimer
)

var formatNames = [...]string{"unknown", "lambda-url", "eventbridge", "schedule-input", "scf-url", "scf-apigw", "scf-timer"}

// String returns the format's short name, as used in logs.
func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return formatNames[f]
}

// HTTP reports whether events of this format are HTTP requests (as opposed to timer firings).
func (f Format) HTTP() bool {
	return f == FormatLambdaURL || f == FormatSCFURL || f == FormatSCFAPIGateway
}

// Event is one decoded invocation. Exactly one of Request and Schedule is set.
type Event struct {
	Format   Format
	Request  *fn.Request
	Schedule *fn.Schedule
}

// Decode recognises payload as an event of one of the supported families and translates it.
// invocationID is the platform's id of this invocation (Lambda's AwsRequestID, SCF's request
// id); it becomes the request id of events that carry none of their own, and the id of a
// schedule firing that has no better one.
//
// The families are told apart by their top-level keys, in this order: "version" "2.0" with
// "rawPath" (Lambda URL / HTTP API 2.0), "wxfnSchedule" (ScheduleInput), "detail-type"
// (EventBridge), "Type" "Timer" (SCF timer), "httpMethod" with "requestContext" (legacy SCF API
// gateway), "httpMethod" alone (SCF function URL).
//
// An HTTP event that is recognised but malformed (a base64 body that does not decode) returns
// its Format together with an error carrying a *fn.Error, so that the caller can answer it with
// a 400 in the right shape. Anything else that is not a supported event is an error wrapping
// ErrUnknownEvent.
func Decode(payload []byte, invocationID string) (Event, error) {
	p, err := sniff(payload)
	if err != nil {
		return Event{}, fmt.Errorf("events: decode: %w: %v", ErrUnknownEvent, err)
	}
	switch {
	case p.lambdaURL():
		// First: the most frequent event, recognised before its first keys are even all read.
		var e LambdaURLRequest
		if err := e.decode(payload); err != nil {
			return Event{Format: FormatLambdaURL}, badEvent(FormatLambdaURL, err)
		}
		r, err := e.Request(invocationID)
		return Event{Format: FormatLambdaURL, Request: r}, err

	case p.schedule:
		var in ScheduleInput
		if err := json.Unmarshal(payload, &in); err != nil {
			return Event{Format: FormatScheduleInput}, fmt.Errorf("events: decode schedule input: %w", err)
		}
		s, err := in.Schedule(invocationID)
		return Event{Format: FormatScheduleInput, Schedule: s}, err

	case p.detailType:
		var e EventBridgeEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			return Event{Format: FormatEventBridge}, fmt.Errorf("events: decode eventbridge event: %w", err)
		}
		s, err := e.Schedule()
		return Event{Format: FormatEventBridge, Schedule: withID(s, invocationID)}, err

	case strings.EqualFold(p.typ, "timer"):
		var e SCFTimerEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			return Event{Format: FormatSCFTimer}, fmt.Errorf("events: decode scf timer event: %w", err)
		}
		s, err := e.Schedule()
		return Event{Format: FormatSCFTimer, Schedule: withID(s, invocationID)}, err

	case p.version == "1.0" && p.httpMethod:
		// API Gateway payload 1.0 looks enough like an SCF event to be misread; refuse it.
		return Event{}, fmt.Errorf("events: decode: %w: API Gateway payload format 1.0 is not supported, use 2.0", ErrUnknownEvent)

	case p.httpMethod && p.requestContext:
		var e SCFAPIGatewayRequest
		if err := e.decode(payload); err != nil {
			return Event{Format: FormatSCFAPIGateway}, badEvent(FormatSCFAPIGateway, err)
		}
		r, err := e.Request(invocationID)
		return Event{Format: FormatSCFAPIGateway, Request: r}, err

	case p.httpMethod:
		var e SCFURLRequest
		if err := e.decode(payload); err != nil {
			return Event{Format: FormatSCFURL}, badEvent(FormatSCFURL, err)
		}
		r, err := e.Request(invocationID)
		return Event{Format: FormatSCFURL, Request: r}, err
	}
	return Event{}, fmt.Errorf("events: decode: %w: no known event has this shape", ErrUnknownEvent)
}

// withID gives a schedule that has no id of its own the invocation's.
func withID(s *fn.Schedule, invocationID string) *fn.Schedule {
	if s != nil && s.ID == "" {
		s.ID = invocationID
	}
	return s
}

// badEvent reports a recognised HTTP event that could not be decoded as a client error.
func badEvent(f Format, err error) error {
	return &fn.Error{Status: 400, Code: "invalid_request", Message: "the request could not be read", Cause: fmt.Errorf("events: decode %s event: %w", f, err)}
}

// EncodeResponse encodes resp as the answer to an HTTP event of format f, with x-request-id
// set to requestID. It is an error to call it for a format that is not HTTP.
func (f Format) EncodeResponse(resp *fn.Response, requestID string) ([]byte, error) {
	switch f {
	case FormatLambdaURL:
		e := NewLambdaURLResponse(resp, requestID)
		return e.appendJSON(make([]byte, 0, 128+len(e.Body))), nil
	case FormatSCFURL, FormatSCFAPIGateway:
		e := NewSCFResponse(resp, requestID)
		return e.appendJSON(make([]byte, 0, 128+len(e.Body))), nil
	}
	return nil, fmt.Errorf("events: encode response: %s events are not HTTP requests", f)
}
