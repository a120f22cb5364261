// Command fnhello is a minimal wxfn function started through shared/runtime, for the harness's
// test that one request gives the same answer in every runtime mode.
package main

import (
	"context"
	"net/http"

	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/runtime"
)

type greetRequest struct {
	Greeting string `json:"greeting"`
}

type greetResponse struct {
	Message string   `json:"message"`
	Method  string   `json:"method"`
	Path    string   `json:"path"`
	Tags    []string `json:"tags"`
}

func main() {
	runtime.Start(fn.Function{
		Spec: fn.Spec{Name: "fnhello", URL: true, MaxBodyBytes: 1 << 10},
		HTTP: fn.NewRouter(nil, fn.Route{Method: http.MethodPost, Pattern: "/greet/{name}", Handle: greet}),
	})
}

func greet(_ context.Context, req *fn.Request) (*fn.Response, error) {
	var in greetRequest
	if err := fn.DecodeJSON(req, &in); err != nil {
		return nil, err
	}
	if in.Greeting == "" {
		return nil, fn.BadRequest("invalid_greeting", "greeting is required")
	}
	resp := fn.JSON(http.StatusCreated, greetResponse{
		Message: in.Greeting + ", " + req.Param("name"),
		Method:  req.Method,
		Path:    req.Path,
		Tags:    req.Query["tag"],
	})
	resp.Header.Set("X-Greeted", req.Param("name"))
	return resp, nil
}
