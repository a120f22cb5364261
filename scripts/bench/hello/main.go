// Command hello is the cold-start baseline: the smallest aws-lambda-go function that answers a
// Lambda function URL event, built with the same flags as every wxfn function. The cold-start
// harness (scripts/bench/coldstart) compares each function's exec → first response with this.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(handle)
}

// handle answers every request with a fixed plain-text 200, doing no I/O, like the hello-world
// functions of published Lambda cold-start benchmarks.
func handle(_ context.Context, _ events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return events.LambdaFunctionURLResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		Body:       "hello",
	}, nil
}
