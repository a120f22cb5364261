package proctest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

const helloPkg = "github.com/wxfn/wxfn/scripts/bench/hello"

func TestMain(m *testing.M) {
	code := m.Run()
	if err := RemoveBuilds(); err != nil {
		println(err.Error())
	}
	os.Exit(code)
}

// urlEvent is a Lambda function URL event (payload 2.0) for method and path.
func urlEvent(t *testing.T, method, path, body string) []byte {
	t.Helper()
	e := events.LambdaFunctionURLRequest{
		Version:        "2.0",
		RawPath:        path,
		RawQueryString: "",
		Headers:        map[string]string{"content-type": "application/json", "host": "abc.lambda-url.us-east-1.on.aws"},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID:    "123456789012",
			RequestID:    "req-1",
			DomainName:   "abc.lambda-url.us-east-1.on.aws",
			DomainPrefix: "abc",
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7", UserAgent: "proctest",
			},
			Time:      "12/Mar/2020:19:03:58 +0000",
			TimeEpoch: 1583348638390,
		},
		Body: body,
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildIsSharedAndProductionLike(t *testing.T) {
	bin := Build(t, helloPkg)
	if again := Build(t, helloPkg); again != bin {
		t.Errorf("second Build = %s, want the cached %s", again, bin)
	}
	if filepath.Base(bin) != "hello" {
		t.Errorf("binary name = %s", filepath.Base(bin))
	}
	mods, err := Modules(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(mods, "github.com/aws/aws-lambda-go") {
		t.Errorf("modules %v lack aws-lambda-go", mods)
	}
	if slices.Contains(mods, "github.com/FerretDB/FerretDB") {
		t.Errorf("hello links FerretDB: %v", mods)
	}
	// -tags lambda.norpc drops net/rpc, which aws-lambda-go otherwise links for go1.x.
	deps, err := Deps(context.Background(), helloPkg)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(deps, "net/rpc") || !slices.Contains(deps, "github.com/aws/aws-lambda-go/lambda") {
		t.Errorf("deps with lambda.norpc: net/rpc present=%v, lambda present=%v",
			slices.Contains(deps, "net/rpc"), slices.Contains(deps, "github.com/aws/aws-lambda-go/lambda"))
	}
	if _, err := Modules(context.Background(), "proctest_test.go"); err == nil {
		t.Error("Modules of a source file succeeded")
	}
}

func TestCompileReportsBuildErrors(t *testing.T) {
	err := Compile(context.Background(), filepath.Join(t.TempDir(), "x"), "./testdata/no-such-package")
	if err == nil || !strings.Contains(err.Error(), "no-such-package") {
		t.Errorf("Compile of a missing package = %v", err)
	}
}

func TestHelloUnderAWS(t *testing.T) {
	rt := AWS(t, Build(t, helloPkg))
	if rt.FunctionName() != "hello" {
		t.Errorf("function name = %q", rt.FunctionName())
	}
	// Two invocations: the second is served warm by the same process.
	for range 2 {
		payload, errPayload, err := rt.Invoke(context.Background(), urlEvent(t, "GET", "/", ""))
		if err != nil {
			t.Fatal(err)
		}
		if errPayload != nil {
			t.Fatalf("function error: %s", errPayload)
		}
		var resp events.LambdaFunctionURLResponse
		if err := json.Unmarshal(payload, &resp); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		if resp.StatusCode != 200 || resp.Body != "hello" {
			t.Errorf("response = %+v", resp)
		}
	}
}

type lambdaEcho struct {
	Event              json.RawMessage `json:"event"`
	RequestID          string          `json:"requestId"`
	InvokedFunctionArn string          `json:"invokedFunctionArn"`
	DeadlineMs         int64           `json:"deadlineMs"`
	TraceID            string          `json:"traceId"`
	FunctionName       string          `json:"functionName"`
	Greeting           string          `json:"greeting"`
}

type lambdaError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

func TestLambdaContextReachesTheFunction(t *testing.T) {
	// The child must not inherit this: only the env given to the harness reaches it.
	t.Setenv("GREETING", "leaked")
	bin := Build(t, "./testdata/lambdaecho")
	rt := AWS(t, bin, "AWS_LAMBDA_FUNCTION_NAME=echo-fn")

	res, err := rt.Do(context.Background(), []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	var echo lambdaEcho
	if err := json.Unmarshal(res.Payload, &echo); err != nil {
		t.Fatalf("payload %s: %v", res.Payload, err)
	}
	if echo.RequestID != res.RequestID || !uuidPattern.MatchString(echo.RequestID) {
		t.Errorf("request id %q, harness said %q", echo.RequestID, res.RequestID)
	}
	if echo.InvokedFunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:echo-fn" || echo.FunctionName != "echo-fn" {
		t.Errorf("arn %q, name %q", echo.InvokedFunctionArn, echo.FunctionName)
	}
	if echo.DeadlineMs <= 0 || !strings.HasPrefix(echo.TraceID, "Root=1-") {
		t.Errorf("deadline %d, trace %q", echo.DeadlineMs, echo.TraceID)
	}
	if string(echo.Event) != `{"a":1}` || echo.Greeting != "" {
		t.Errorf("event %s, greeting %q", echo.Event, echo.Greeting)
	}

	_, errPayload, err := rt.Invoke(context.Background(), []byte(`"fail"`))
	if err != nil {
		t.Fatal(err)
	}
	var fe lambdaError
	if err := json.Unmarshal(errPayload, &fe); err != nil || fe.ErrorMessage != "lambdaecho: asked to fail" {
		t.Errorf("error payload %s (%v)", errPayload, err)
	}

	// A panic is reported, then aws-lambda-go ends the process; the next invocation says so.
	_, errPayload, err = rt.Invoke(context.Background(), []byte(`"panic"`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(errPayload), "asked to panic") {
		t.Errorf("panic payload %s", errPayload)
	}
	_, _, err = rt.Invoke(context.Background(), []byte(`{}`))
	if !errors.Is(err, ErrExited) {
		t.Errorf("invoke after the panic = %v, want ErrExited", err)
	}
}

func TestLambdaEnvGiven(t *testing.T) {
	rt := AWS(t, Build(t, "./testdata/lambdaecho"), "GREETING=hi")
	payload, _, err := rt.Invoke(context.Background(), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var echo lambdaEcho
	if err := json.Unmarshal(payload, &echo); err != nil || echo.Greeting != "hi" || echo.FunctionName != "lambdaecho" {
		t.Errorf("echo %s (%v)", payload, err)
	}
}

type scfEcho struct {
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

func TestSCFHello(t *testing.T) {
	rt := SCF(t, Build(t, "./testdata/scfhello"), "GREETING=hi")

	resp, err := rt.Invoke(context.Background(), []byte(`{"name":"wxfn"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil {
		t.Fatalf("function error: %+v", resp.Error)
	}
	var echo scfEcho
	if err := json.Unmarshal(resp.Payload, &echo); err != nil {
		t.Fatalf("payload %s: %v", resp.Payload, err)
	}
	want := scfEcho{
		Greeting: "hello, wxfn", RequestID: echo.RequestID, FunctionName: "scfhello", Namespace: "default",
		Region: "ap-guangzhou", TimeLimitInMs: 10000, HasDeadline: true,
		Environment: map[string]string{"GREETING": "hi"}, EnvGreeting: "hi", ProcessFuncName: "scfhello",
	}
	if !uuidPattern.MatchString(echo.RequestID) || !equalJSON(t, echo, want) {
		t.Errorf("echo = %+v\nwant %+v", echo, want)
	}

	// Call sends a request as given.
	req := rt.NewRequest([]byte(`{"name":"raw"}`))
	req.RequestId = "fixed-id"
	req.FunctionName = "renamed"
	resp, err = rt.Call(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp.Payload, &echo); err != nil || echo.RequestID != "fixed-id" || echo.FunctionName != "renamed" {
		t.Errorf("raw call echo %s (%v)", resp.Payload, err)
	}

	resp, err = rt.Invoke(context.Background(), []byte(`{"fail":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error == nil || resp.Error.Message != "scfhello: asked to fail" || resp.Payload != nil {
		t.Errorf("failing invoke = %+v", resp)
	}

	// scf-go-lib recovers a panic and asks the platform to drop the instance.
	resp, err = rt.Invoke(context.Background(), []byte(`{"panic":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error == nil || !resp.Error.ShouldExit || !strings.Contains(resp.Error.Message, "asked to panic") {
		t.Errorf("panicking invoke = %+v", resp.Error)
	}

	if _, err := rt.Invoke(context.Background(), []byte(`{"name":`)); err == nil {
		t.Error("Invoke accepted an event that is not JSON")
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// An aws-lambda-go-only binary started in another mode exits at once; the harness must say so
// with the binary's own words instead of waiting out its timeout.
func TestWrongModeFailsWithTheChildsOutput(t *testing.T) {
	bin := Build(t, helloPkg)
	opts := Options{Log: func(line string) { t.Log(line) }}
	_, err := StartHTTP(context.Background(), bin, opts)
	if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "expected AWS Lambda environment variables") {
		t.Errorf("StartHTTP(hello) = %v", err)
	}
	_, err = StartSCF(context.Background(), bin, opts)
	if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "expected AWS Lambda environment variables") {
		t.Errorf("StartSCF(hello) = %v", err)
	}

	// scf-go-lib without _LAMBDA_SERVER_PORT listens on a random port and never polls: the
	// bounded wait ends it.
	opts.StartTimeout = 300 * time.Millisecond
	_, err = StartAWS(context.Background(), Build(t, "./testdata/scfhello"), opts)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "invocation/next") {
		t.Errorf("StartAWS(scfhello) = %v", err)
	}
}
