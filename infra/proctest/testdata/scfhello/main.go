// Command scfhello is a minimal scf-go-lib event function for the harness's own tests. It echoes
// what the platform told it, so that a test can check every field SCFRuntime sends.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/functioncontext"
)

type event struct {
	Name string `json:"name"`
	// Fail makes the handler return an error; Panic makes it panic.
	Fail  bool `json:"fail"`
	Panic bool `json:"panic"`
}

type echo struct {
	Greeting        string            `json:"greeting"`
	RequestID       string            `json:"requestId"`
	FunctionName    string            `json:"functionName"`
	Namespace       string            `json:"namespace"`
	Region          string            `json:"region"`
	TimeLimitInMs   int32             `json:"timeLimitInMs"`
	HasDeadline     bool              `json:"hasDeadline"`
	Environment     map[string]string `json:"environment"`
	EnvGreeting     string            `json:"envGreeting"`
	ProcessFuncName string            `json:"processFunctionName"`
}

func main() {
	cloudfunction.Start(handle)
}

func handle(ctx context.Context, e event) (echo, error) {
	if e.Panic {
		panic("scfhello: asked to panic")
	}
	if e.Fail {
		return echo{}, errors.New("scfhello: asked to fail")
	}
	fc, _ := functioncontext.FromContext(ctx)
	_, hasDeadline := ctx.Deadline()
	return echo{
		Greeting:        "hello, " + e.Name,
		RequestID:       fc.RequestID,
		FunctionName:    fc.FunctionName,
		Namespace:       fc.Namespace,
		Region:          fc.TencentcloudRegion,
		TimeLimitInMs:   fc.TimeLimitInMs,
		HasDeadline:     hasDeadline,
		Environment:     fc.Environment,
		EnvGreeting:     os.Getenv("GREETING"),
		ProcessFuncName: os.Getenv("SCF_FUNCTIONNAME"),
	}, nil
}
