package runtime_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/runtime"
)

func hello() fn.Function {
	return fn.Function{
		Spec: fn.Spec{Name: "hello"},
		HTTP: fn.NewRouter(nil, fn.Route{Method: http.MethodGet, Pattern: "/{name}",
			Handle: func(ctx context.Context, req *fn.Request) (*fn.Response, error) {
				return fn.OK(map[string]string{"hello": req.Param("name")})
			}}),
		Schedule: func(ctx context.Context, s fn.Schedule) error { return nil },
	}
}

// A function's main is one line; the environment decides how it runs.
func ExampleStart() {
	// func main() { runtime.Start(hello()) }
}

// Invoke runs one event of any supported format, as `BINARY invoke EVENT.json` does.
func ExampleInvoke() {
	scfURL := `{"httpMethod":"GET","path":"/wxfn","headers":{"x-scf-remote-addr":"203.0.113.9"},"queryString":{},"body":""}`
	out, err := runtime.Invoke(context.Background(), hello(), []byte(scfURL))
	fmt.Println(len(out) > 0, err)

	timer := `{"Type":"Timer","TriggerName":"daily","Time":"2026-08-22T02:30:00Z","Message":""}`
	out, err = runtime.Invoke(context.Background(), hello(), []byte(timer))
	fmt.Println(string(out), err)
	// Output:
	// true <nil>
	// {"schedule":"daily","id":"daily@2026-08-22T02:30:00Z","status":"ok"} <nil>
}

// HTTPHandler serves a function under a prefix, as the local gateway mounts it.
func ExampleHTTPHandler() {
	srv := httptest.NewServer(http.StripPrefix("/hello", runtime.HTTPHandler(hello())))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/hello/wxfn")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Request-Id") != "")
	// Output: 200 application/json true
}
