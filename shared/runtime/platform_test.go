package runtime

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/wxfn/wxfn/shared/fn"
)

// These tests run the adapters under the real platform libraries, in-process: scf-go-lib's
// net/rpc server and aws-lambda-go's Runtime API client loop. Both loops never return, and both
// libraries register process-wide state, so each runs once per test binary and is left running.

// scf-go-lib registers its RPC service on net/rpc's default server, which allows it once per
// process; with -count=N the later runs reuse the first server through scfCurrent.
var (
	scfOnce    sync.Once
	scfPort    string
	scfCurrent atomic.Pointer[server]
)

// scfForward is the function registered with scf-go-lib: it forwards to the current test's.
func scfForward() fn.Function {
	return fn.Function{
		Spec: fn.Spec{Name: "echo"},
		HTTP: handlerFunc(func(ctx context.Context, req *fn.Request) *fn.Response {
			return scfCurrent.Load().f.HTTP.Serve(ctx, req)
		}),
		Schedule: func(ctx context.Context, s fn.Schedule) error { return scfCurrent.Load().f.Schedule(ctx, s) },
	}
}

func TestSCFOverNetRPC(t *testing.T) {
	log, _ := captureLogs(t)
	tf := &testFunction{}
	scfCurrent.Store(newServer(tf.function(), log))

	var err error
	scfOnce.Do(func() {
		// scf-go-lib listens on 0.0.0.0:$_LAMBDA_SERVER_PORT; find a free port first.
		probe, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			t.Fatal(lerr)
		}
		scfPort = strconv.Itoa(probe.Addr().(*net.TCPAddr).Port)
		probe.Close()
		t.Setenv("_LAMBDA_SERVER_PORT", scfPort)
		go startSCF(newServer(scfForward(), log))
	})
	port := scfPort

	var client *rpc.Client
	for i := 0; i < 200 && client == nil; i++ {
		if client, err = rpc.Dial("tcp", "127.0.0.1:"+port); err != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if client == nil {
		t.Fatalf("scf-go-lib never listened: %v", err)
	}
	defer client.Close()

	call := func(payload []byte, id string) messages.InvokeResponse {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		req := &messages.InvokeRequest{Payload: payload, RequestId: id, FunctionName: "echo", Namespace: "default",
			Deadline: messages.InvokeRequest_Timestamp{Seconds: deadline.Unix()}}
		var resp messages.InvokeResponse
		if err := client.Call("Function.Invoke", req, &resp); err != nil {
			t.Fatalf("rpc: %v", err)
		}
		return resp
	}

	resp := call(sample(t, "scf-url-post.json"), "scf-req-1")
	if resp.Error != nil {
		t.Fatalf("invocation error %+v", resp.Error)
	}
	env := decodeEnvelope(t, resp.Payload)
	var got echo
	if err := json.Unmarshal(env.body(t), &got); err != nil {
		t.Fatal(err)
	}
	if env.StatusCode != 200 || env.Headers["X-Request-Id"] != "scf-req-1" || got.RequestID != "scf-req-1" || !got.HasDeadline || got.Path != "/scores/weekly" {
		t.Errorf("got %+v, echo %+v", env, got)
	}

	// A panic is a 500 response, not an invocation error: scf-go-lib would drop the instance.
	resp = call(scfEvent("GET", "/panic", nil), "scf-req-2")
	if resp.Error != nil || decodeEnvelope(t, resp.Payload).StatusCode != 500 {
		t.Errorf("panic: error %+v, payload %s", resp.Error, resp.Payload)
	}

	// A failed schedule is an invocation error, so that SCF retries it, and keeps the instance.
	resp = call([]byte(`{"Type":"Timer","TriggerName":"fail","Time":"2026-08-22T02:30:00Z"}`), "scf-req-3")
	if resp.Error == nil || resp.Error.ShouldExit || !strings.Contains(resp.Error.Message, "scf-req-3") || strings.Contains(resp.Error.Message, "secret-detail") {
		t.Errorf("failed schedule: %+v", resp.Error)
	}
	resp = call(sample(t, "cos-object-created.json"), "scf-req-4")
	if resp.Error == nil || resp.Error.ShouldExit {
		t.Errorf("unknown event: %+v", resp.Error)
	}

	resp = call(sample(t, "scf-timer.json"), "scf-req-5")
	if resp.Error != nil || !strings.Contains(string(resp.Payload), `"status":"ok"`) {
		t.Errorf("timer: %+v %s", resp.Error, resp.Payload)
	}
}

// fakeRuntimeAPI is the part of the Lambda Runtime API that aws-lambda-go's loop uses.
type fakeRuntimeAPI struct {
	next    chan lambdaInvocation
	results chan lambdaResult
}

type lambdaInvocation struct {
	id      string
	payload []byte
}

type lambdaResult struct {
	id, kind, contentType string
	body                  []byte
}

func (f *fakeRuntimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/invocation/"
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == "GET" && rest == "next":
		inv := <-f.next // Blocks for good once the test is over; the loop then idles.
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:ap-east-1:123456789012:function:echo")
		_, _ = w.Write(inv.payload)
	case r.Method == "POST" && (strings.HasSuffix(rest, "/response") || strings.HasSuffix(rest, "/error")):
		id, kind, _ := strings.Cut(rest, "/")
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		f.results <- lambdaResult{id: id, kind: kind, contentType: r.Header.Get("Content-Type"), body: body}
	default:
		http.NotFound(w, r)
	}
}

func TestLambdaOverRuntimeAPI(t *testing.T) {
	log, _ := captureLogs(t)
	tf := &testFunction{}
	api := &fakeRuntimeAPI{next: make(chan lambdaInvocation), results: make(chan lambdaResult)}
	// Not closed: the loop's last GET next stays open until the test binary exits.
	srv := httptest.NewServer(api)
	t.Setenv("AWS_LAMBDA_RUNTIME_API", strings.TrimPrefix(srv.URL, "http://"))
	go startLambda(newServer(tf.function(), log))

	invoke := func(id string, payload []byte) lambdaResult {
		t.Helper()
		api.next <- lambdaInvocation{id: id, payload: payload}
		r := <-api.results
		if r.id != id {
			t.Fatalf("result for %s, want %s", r.id, id)
		}
		return r
	}

	r := invoke("aws-req-1", sample(t, "lambda-url-post.json"))
	if r.kind != "response" || r.contentType != "application/json" {
		t.Fatalf("got %s (%s): %s", r.kind, r.contentType, r.body)
	}
	env := decodeEnvelope(t, r.body)
	var got echo
	if err := json.Unmarshal(env.body(t), &got); err != nil {
		t.Fatal(err)
	}
	// The function URL's own request id wins over the invocation's.
	if env.StatusCode != 200 || env.Headers["X-Request-Id"] != "7f0e6c0e-3b8e-4b7c-9d2a-5a1f8e2c4b6d" || !got.HasDeadline ||
		got.Body != `{"reason":"user cancel"}` || len(env.Cookies) != 1 {
		t.Errorf("got %+v, echo %+v", env, got)
	}

	r = invoke("aws-req-2", lambdaEvent("GET", "/panic", nil, ""))
	if env := decodeEnvelope(t, r.body); r.kind != "response" || env.StatusCode != 500 || env.Headers["X-Request-Id"] != "aws-req-2" {
		t.Errorf("panic: %s %s", r.kind, r.body)
	}

	r = invoke("aws-req-3", sample(t, "eventbridge-scheduled.json"))
	if r.kind != "response" || !strings.Contains(string(r.body), `"status":"ok"`) {
		t.Errorf("schedule: %s %s", r.kind, r.body)
	}

	r = invoke("aws-req-4", []byte(`{"wxfnSchedule":"fail"}`))
	var lerr struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal(r.body, &lerr); err != nil || r.kind != "error" || lerr.Type != "ScheduleError" ||
		!strings.Contains(lerr.Message, "aws-req-4") || strings.Contains(lerr.Message, "secret-detail") {
		t.Errorf("failed schedule: %s %s (%v)", r.kind, r.body, err)
	}
	tf.mu.Lock()
	last := tf.schedules[len(tf.schedules)-1]
	tf.mu.Unlock()
	if last.ID != "aws-req-4" {
		t.Errorf("schedule id %q, want the invocation id", last.ID)
	}

	// The loop survived all of it.
	if r := invoke("aws-req-5", lambdaEvent("GET", "/again", nil, "")); r.kind != "response" {
		t.Errorf("after failures: %s %s", r.kind, r.body)
	}
}
