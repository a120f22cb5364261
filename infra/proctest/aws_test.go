package proctest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests drive the fake Runtime API with a hand-written runtime client, so that its protocol
// is checked independently of aws-lambda-go; proctest_test.go then runs real binaries.

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func newTestRuntime(t *testing.T, opts Options) *AWSRuntime {
	t.Helper()
	r, err := NewAWSRuntime(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Error(err)
		}
	})
	return r
}

type doResult struct {
	res *AWSResult
	err error
}

// invokeAsync starts r.Do in the background, as the platform queues an event.
func invokeAsync(r *AWSRuntime, event string) <-chan doResult {
	ch := make(chan doResult, 1)
	go func() {
		res, err := r.Do(context.Background(), []byte(event))
		ch <- doResult{res, err}
	}()
	return ch
}

func apiURL(r *AWSRuntime, path string) string {
	return "http://" + r.Address() + runtimeAPIPrefix + path
}

func getNext(t *testing.T, r *AWSRuntime) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(apiURL(r, "/invocation/next"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func post(t *testing.T, url string, header http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func wait(t *testing.T, ch <-chan doResult) doResult {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(DefaultTimeout):
		t.Fatal("Do did not return")
		return doResult{}
	}
}

func TestAWSRuntimeDeliversEventWithRuntimeHeaders(t *testing.T) {
	r := newTestRuntime(t, Options{FunctionTimeout: time.Hour, Env: []string{"AWS_REGION=eu-west-1"}})
	before := time.Now()
	done := invokeAsync(r, `{"hello":"world"}`)

	resp, body := getNext(t, r)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("next: status %d", resp.StatusCode)
	}
	if string(body) != `{"hello":"world"}` {
		t.Errorf("next: body %s, want the event", body)
	}
	id := resp.Header.Get(HeaderRequestID)
	if !uuidPattern.MatchString(id) {
		t.Errorf("request id %q is not a UUID", id)
	}
	ms, err := strconv.ParseInt(resp.Header.Get(HeaderDeadlineMs), 10, 64)
	if err != nil {
		t.Fatalf("deadline header: %v", err)
	}
	if d := time.UnixMilli(ms); d.Before(before) || d.After(time.Now().Add(time.Hour)) {
		t.Errorf("deadline %v is not FunctionTimeout from the invocation", d)
	}
	if arn := resp.Header.Get(HeaderInvokedFunctionARN); arn != "arn:aws:lambda:eu-west-1:123456789012:function:function" {
		t.Errorf("arn = %q", arn)
	}
	if tr := resp.Header.Get(HeaderTraceID); !strings.HasPrefix(tr, "Root=1-") || !strings.Contains(tr, ";Parent=") {
		t.Errorf("trace id = %q", tr)
	}
	if r.ReadyAt().IsZero() {
		t.Error("ReadyAt is zero after the first poll")
	}

	status, text := post(t, apiURL(r, "/invocation/"+id+"/response"), http.Header{"Content-Type": {"application/json"}}, []byte(`{"ok":true}`))
	if status != http.StatusAccepted {
		t.Fatalf("response: status %d %s", status, text)
	}
	d := wait(t, done)
	if d.err != nil {
		t.Fatal(d.err)
	}
	if string(d.res.Payload) != `{"ok":true}` || d.res.ErrPayload != nil || d.res.RequestID != id || d.res.ContentType != "application/json" {
		t.Errorf("result = %+v", d.res)
	}

	// The invocation is complete: a second answer for it is refused.
	status, text = post(t, apiURL(r, "/invocation/"+id+"/response"), nil, []byte(`{}`))
	if status != http.StatusBadRequest || !strings.Contains(text, "InvalidRequestID") {
		t.Errorf("second response: %d %s, want 400 InvalidRequestID", status, text)
	}
}

func TestAWSRuntimeReportsFunctionErrors(t *testing.T) {
	r := newTestRuntime(t, Options{})

	done := invokeAsync(r, `1`)
	resp, _ := getNext(t, r)
	id := resp.Header.Get(HeaderRequestID)
	errBody := []byte(`{"errorMessage":"boom","errorType":"errorString"}`)
	status, _ := post(t, apiURL(r, "/invocation/"+id+"/error"),
		http.Header{"Content-Type": {"application/json"}, HeaderFunctionErrorType: {"Function.Boom"}}, errBody)
	if status != http.StatusAccepted {
		t.Fatalf("error: status %d", status)
	}
	d := wait(t, done)
	if d.err != nil {
		t.Fatal(d.err)
	}
	if d.res.Payload != nil || string(d.res.ErrPayload) != string(errBody) || d.res.ErrorType != "Function.Boom" {
		t.Errorf("result = %+v", d.res)
	}

	// aws-lambda-go reports a failure met while streaming a response in the request's trailers.
	done = invokeAsync(r, `2`)
	resp, _ = getNext(t, r)
	id = resp.Header.Get(HeaderRequestID)
	trailerBody := `{"errorMessage":"reader failed","errorType":"errorString"}`
	req, err := http.NewRequest(http.MethodPost, apiURL(r, "/invocation/"+id+"/response"), io.MultiReader(strings.NewReader("partial")))
	if err != nil {
		t.Fatal(err)
	}
	req.Trailer = http.Header{
		HeaderFunctionErrorType:  {"errorString"},
		trailerFunctionErrorBody: {base64.StdEncoding.EncodeToString([]byte(trailerBody))},
	}
	hresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hresp.Body.Close()
	d = wait(t, done)
	if d.err != nil {
		t.Fatal(d.err)
	}
	if d.res.Payload != nil || string(d.res.ErrPayload) != trailerBody || d.res.ErrorType != "errorString" {
		t.Errorf("trailer result = %+v", d.res)
	}
}

func TestAWSRuntimeRefusesOversizedResponse(t *testing.T) {
	r := newTestRuntime(t, Options{})
	done := invokeAsync(r, `{}`)
	resp, _ := getNext(t, r)
	id := resp.Header.Get(HeaderRequestID)
	status, text := post(t, apiURL(r, "/invocation/"+id+"/response"), nil, bytes.Repeat([]byte("x"), MaxAWSPayload+1))
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(text, "RequestEntityTooLarge") {
		t.Errorf("oversized response: %d %s", status, text)
	}
	if d := wait(t, done); d.err == nil || !strings.Contains(d.err.Error(), "limit") {
		t.Errorf("Do = %+v, want a size-limit error", d)
	}
}

func TestAWSRuntimeRefusesBadInput(t *testing.T) {
	r := newTestRuntime(t, Options{})
	if _, err := r.Do(context.Background(), []byte("not json")); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("Do(not json) = %v", err)
	}
	// Nothing was queued by the refused event: a poll finds nothing until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, apiURL(r, "/invocation/next"), nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("next returned %d with nothing queued", resp.StatusCode)
	}

	status, text := post(t, apiURL(r, "/invocation/no-such-id/response"), nil, []byte(`{}`))
	if status != http.StatusBadRequest || !strings.Contains(text, "InvalidRequestID") {
		t.Errorf("unknown id: %d %s", status, text)
	}
	if err := r.Start("/nonexistent/bootstrap"); err == nil {
		t.Error("Start of a missing binary succeeded")
	}
	if err := r.WaitReady(context.Background()); err == nil {
		t.Error("WaitReady without a process succeeded")
	}
	if _, err := StartAWS(context.Background(), "/nonexistent/bootstrap", Options{Env: []string{"NOEQUALS"}}); err == nil {
		t.Error("StartAWS with a malformed env entry succeeded")
	}
}

func TestAWSRuntimeInitErrorFailsInvocations(t *testing.T) {
	r := newTestRuntime(t, Options{})
	status, _ := post(t, apiURL(r, "/init/error"), http.Header{HeaderFunctionErrorType: {"Runtime.Init"}}, []byte(`{"errorMessage":"no config"}`))
	if status != http.StatusAccepted {
		t.Fatalf("init error: status %d", status)
	}
	_, err := r.Do(context.Background(), []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "no config") {
		t.Errorf("Do after init error = %v, want the init error", err)
	}
}

func TestAWSRuntimeDoEndsWithContextOrStop(t *testing.T) {
	r := newTestRuntime(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Do(ctx, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do with nobody polling = %v, want deadline exceeded", err)
	}
	done := invokeAsync(r, `{}`)
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if d := wait(t, done); d.err == nil || !strings.Contains(d.err.Error(), "stopped") {
		t.Errorf("Do across Stop = %+v", d)
	}
}

func TestEnvJSON(t *testing.T) {
	got, err := envJSON([]string{"A=1", "B=x=y", "A=2"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["A"] != "2" || m["B"] != "x=y" {
		t.Errorf("envJSON = %s", got)
	}
	if _, err := envJSON([]string{"=v"}); err == nil {
		t.Error("envJSON accepted an entry without a key")
	}
}

func TestBinaryName(t *testing.T) {
	for pkg, want := range map[string]string{
		"github.com/wxfn/wxfn/functions/login/cmd": "login",
		"./functions/login/cmd/":                   "login",
		"./testdata/scfhello":                      "scfhello",
		"github.com/wxfn/wxfn/scripts/bench/hello": "hello",
		".": "function",
	} {
		if got := binaryName(pkg); got != want {
			t.Errorf("binaryName(%q) = %q, want %q", pkg, got, want)
		}
	}
}
