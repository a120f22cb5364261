// Command lambdaecho is a minimal aws-lambda-go function for the harness's own tests. It echoes
// the invocation metadata the Runtime API delivered, so that a test can check every header.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type echo struct {
	Event              json.RawMessage `json:"event"`
	RequestID          string          `json:"requestId"`
	InvokedFunctionArn string          `json:"invokedFunctionArn"`
	DeadlineMs         int64           `json:"deadlineMs"`
	TraceID            string          `json:"traceId"`
	FunctionName       string          `json:"functionName"`
	Greeting           string          `json:"greeting"`
}

func main() {
	lambda.Start(handle)
}

func handle(ctx context.Context, event json.RawMessage) (echo, error) {
	switch string(event) {
	case `"fail"`:
		return echo{}, errors.New("lambdaecho: asked to fail")
	case `"panic"`:
		panic("lambdaecho: asked to panic")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	return echo{
		Event:              event,
		RequestID:          lc.AwsRequestID,
		InvokedFunctionArn: lc.InvokedFunctionArn,
		DeadlineMs:         deadline.Truncate(time.Millisecond).UnixMilli(),
		TraceID:            os.Getenv("_X_AMZN_TRACE_ID"),
		FunctionName:       lambdacontext.FunctionName,
		Greeting:           os.Getenv("GREETING"),
	}, nil
}
