package proctest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Header names of the Lambda Runtime API, as aws-lambda-go's runtime_api_client.go reads them.
const (
	HeaderRequestID          = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs         = "Lambda-Runtime-Deadline-Ms"
	HeaderInvokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID            = "Lambda-Runtime-Trace-Id"
	HeaderFunctionErrorType  = "Lambda-Runtime-Function-Error-Type"
	trailerFunctionErrorBody = "Lambda-Runtime-Function-Error-Body"
)

// runtimeAPIPrefix is the versioned path every Runtime API route lives under.
const runtimeAPIPrefix = "/2018-06-01/runtime"

// MaxAWSPayload is Lambda's limit on a synchronous response (6 MB); the fake refuses larger
// responses with 413 as the real Runtime API does.
const MaxAWSPayload = 6 << 20

// AWSRuntime is an in-process fake of the AWS Lambda Runtime API serving one child process, the
// way a Lambda execution environment serves its bootstrap: the binary long-polls
// GET /2018-06-01/runtime/invocation/next, gets one event with the Lambda-Runtime-* headers, and
// posts the outcome to /invocation/{id}/response or /invocation/{id}/error. Invocations are
// served one at a time, in order. Use StartAWS, or AWS in tests.
type AWSRuntime struct {
	opts   Options
	region string

	ln       net.Listener
	srv      *http.Server
	queue    chan *awsInvocation // unbuffered: an invocation is handed over by /next
	stopped  chan struct{}
	stopOnce sync.Once
	stopErr  error

	procDone chan struct{} // closed once the started child has exited
	proc     *process

	ready     chan struct{}
	readyOnce sync.Once
	readyAt   time.Time

	initFailed chan struct{}
	initOnce   sync.Once

	mu       sync.Mutex
	name     string
	arn      string
	inflight map[string]*awsInvocation
	initErr  []byte
}

// AWSResult is what the binary answered to one invocation.
type AWSResult struct {
	// RequestID is the Lambda-Runtime-Aws-Request-Id the invocation was given.
	RequestID string
	// Payload is the body posted to /response; nil when the function failed.
	Payload []byte
	// ContentType is the Content-Type of that post.
	ContentType string
	// ErrPayload is the error JSON posted to /error (or carried in the response's trailers); nil
	// on success.
	ErrPayload []byte
	// ErrorType is the Lambda-Runtime-Function-Error-Type header or trailer of a failure.
	ErrorType string
	// At is when the fake received the answer, for the cold-start benchmark.
	At time.Time
}

type awsInvocation struct {
	id       string
	event    []byte
	deadline time.Time
	traceID  string
	done     chan *AWSResult // buffered: the handler never blocks on a caller that gave up
	failed   chan error      // buffered likewise; the runtime broke the protocol for this invocation
}

// NewAWSRuntime starts the fake Runtime API on a loopback port without a child; Start runs one.
// Splitting the two lets a caller queue the first invocation before the process exists, which
// is how the cold-start benchmark measures exec → first response.
func NewAWSRuntime(opts Options) (*AWSRuntime, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("aws runtime api: listen: %w", err)
	}
	r := &AWSRuntime{
		opts:       opts,
		ln:         ln,
		queue:      make(chan *awsInvocation),
		stopped:    make(chan struct{}),
		procDone:   make(chan struct{}),
		ready:      make(chan struct{}),
		initFailed: make(chan struct{}),
		inflight:   map[string]*awsInvocation{},
	}
	r.region = "us-east-1"
	if v, ok := lookupEnv(opts.Env, "AWS_REGION"); ok && v != "" {
		r.region = v
	}
	r.setName("function")
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimeAPIPrefix+"/invocation/next", r.next)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/invocation/{id}/response", r.response)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/invocation/{id}/error", r.invocationError)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/init/error", r.postInitError)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: DefaultTimeout}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// StartAWS starts the fake Runtime API and the binary bin under it, and returns once the binary
// has asked for its first event (the moment Lambda considers init done).
func StartAWS(ctx context.Context, bin string, opts Options) (*AWSRuntime, error) {
	r, err := NewAWSRuntime(opts)
	if err != nil {
		return nil, err
	}
	if err := r.Start(bin); err != nil {
		_ = r.Stop()
		return nil, err
	}
	if err := r.WaitReady(ctx); err != nil {
		_ = r.Stop()
		return nil, err
	}
	return r, nil
}

// Address is the host:port the binary finds in AWS_LAMBDA_RUNTIME_API.
func (r *AWSRuntime) Address() string { return r.ln.Addr().String() }

// FunctionName is the name announced in AWS_LAMBDA_FUNCTION_NAME and the function ARN.
func (r *AWSRuntime) FunctionName() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.name
}

func (r *AWSRuntime) setName(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.name = name
	r.arn = "arn:aws:lambda:" + r.region + ":123456789012:function:" + name
}

// platformEnv is the environment Lambda's provided.al2023 runtime gives a function named name,
// pointed at this fake.
func (r *AWSRuntime) platformEnv(bin, name string) []string {
	root := filepath.Dir(bin)
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + r.Address(),
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=" + r.region,
		"AWS_DEFAULT_REGION=" + r.region,
		"LAMBDA_TASK_ROOT=" + root,
		"LAMBDA_RUNTIME_DIR=" + root,
		"_HANDLER=bootstrap",
		"TZ=:UTC",
	}
}

// Start runs bin as the function's bootstrap. It returns once the process exists; WaitReady
// waits for its first poll. A runtime serves one process in its life.
func (r *AWSRuntime) Start(bin string) error {
	if r.proc != nil {
		return errors.New("aws start: a process was already started on this runtime")
	}
	name := filepath.Base(bin)
	if v, ok := lookupEnv(r.opts.Env, "AWS_LAMBDA_FUNCTION_NAME"); ok && v != "" {
		name = v
	}
	r.setName(name)
	env, err := childEnv(r.platformEnv(bin, name), r.opts.Env)
	if err != nil {
		return fmt.Errorf("aws start: %w", err)
	}
	p, err := startProcess(bin, env, "aws", r.opts.Log)
	if err != nil {
		return fmt.Errorf("aws %w", err)
	}
	r.proc = p
	go func() {
		<-p.exited
		close(r.procDone)
	}()
	return nil
}

// StartedAt is when the process was exec'd; zero before Start.
func (r *AWSRuntime) StartedAt() time.Time {
	if r.proc == nil {
		return time.Time{}
	}
	return r.proc.startedAt
}

// ReadyAt is when the process first called /invocation/next; zero before that.
func (r *AWSRuntime) ReadyAt() time.Time {
	select {
	case <-r.ready:
		return r.readyAt
	default:
		return time.Time{}
	}
}

// WaitReady waits (bounded by Options.StartTimeout) for the binary's first /invocation/next.
func (r *AWSRuntime) WaitReady(ctx context.Context) error {
	if r.proc == nil {
		return errors.New("aws wait ready: no process started")
	}
	ctx, cancel := bounded(ctx, r.opts.startTimeout())
	defer cancel()
	select {
	case <-r.ready:
		return nil
	case <-r.initFailed:
		return fmt.Errorf("aws wait ready: the function reported an init error: %s", r.initError())
	case <-r.procDone:
		return r.proc.exitError("aws wait ready: before asking for an event")
	case <-ctx.Done():
		return fmt.Errorf("aws wait ready: no GET /invocation/next: %w", ctx.Err())
	}
}

func (r *AWSRuntime) initError() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.initErr
}

// Invoke sends one event (which must be JSON, as Lambda's Invoke API requires) and returns the
// response payload, or the error payload when the function failed. err reports a failure of the
// harness or the process (exit, timeout, protocol violation), not of the function.
func (r *AWSRuntime) Invoke(ctx context.Context, event []byte) (payload, errPayload []byte, err error) {
	res, err := r.Do(ctx, event)
	if err != nil {
		return nil, nil, err
	}
	return res.Payload, res.ErrPayload, nil
}

// Do is Invoke with everything the binary answered. It may be called before the process is ready
// (or started): the event waits for the next poll.
func (r *AWSRuntime) Do(ctx context.Context, event []byte) (*AWSResult, error) {
	if !json.Valid(event) {
		return nil, errors.New("aws invoke: the event is not valid JSON")
	}
	timeout := r.opts.functionTimeout()
	ctx, cancel := bounded(ctx, timeout+DefaultTimeout)
	defer cancel()
	inv := &awsInvocation{
		id:       newRequestID(),
		event:    event,
		deadline: time.Now().Add(timeout),
		traceID:  "Root=1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + randomHex(12) + ";Parent=" + randomHex(8) + ";Sampled=0",
		done:     make(chan *AWSResult, 1),
		failed:   make(chan error, 1),
	}
	select {
	case r.queue <- inv:
	case <-r.initFailed:
		return nil, fmt.Errorf("aws invoke: the function reported an init error: %s", r.initError())
	case <-r.procDone:
		return nil, r.proc.exitError("aws invoke: before asking for the event")
	case <-r.stopped:
		return nil, errors.New("aws invoke: the runtime is stopped")
	case <-ctx.Done():
		return nil, fmt.Errorf("aws invoke: the function did not ask for the next event: %w", ctx.Err())
	}
	select {
	case res := <-inv.done:
		return res, nil
	case err := <-inv.failed:
		return nil, err
	case <-r.procDone:
		// A function may answer and then exit (aws-lambda-go does after reporting a panic).
		select {
		case res := <-inv.done:
			return res, nil
		default:
			return nil, r.proc.exitError("aws invoke " + inv.id + ": before answering")
		}
	case <-r.stopped:
		return nil, errors.New("aws invoke: the runtime was stopped during the invocation")
	case <-ctx.Done():
		return nil, fmt.Errorf("aws invoke %s: no answer: %w", inv.id, ctx.Err())
	}
}

// Stop kills the process (if any), waits for it, and shuts the fake Runtime API down.
func (r *AWSRuntime) Stop() error {
	r.stopOnce.Do(func() {
		var errs []error
		// Kill first so that the binary never sees the API go away under it and logs noise.
		if r.proc != nil {
			errs = append(errs, r.proc.stop())
		}
		close(r.stopped)
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		if err := r.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("aws runtime api: shutdown: %w", err))
			_ = r.srv.Close()
		}
		r.stopErr = errors.Join(errs...)
	})
	return r.stopErr
}

func (r *AWSRuntime) markReady() {
	r.readyOnce.Do(func() {
		r.readyAt = time.Now()
		close(r.ready)
	})
}

// next serves GET /invocation/next: it blocks until an invocation is queued, as Lambda does.
func (r *AWSRuntime) next(w http.ResponseWriter, req *http.Request) {
	r.markReady()
	var inv *awsInvocation
	select {
	case inv = <-r.queue:
	case <-r.stopped:
		writeAPIError(w, http.StatusInternalServerError, "Runtime.Stopped", "the execution environment is shutting down")
		return
	case <-req.Context().Done():
		return
	}
	r.mu.Lock()
	r.inflight[inv.id] = inv
	arn := r.arn
	r.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderRequestID, inv.id)
	h.Set(HeaderDeadlineMs, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(HeaderInvokedFunctionARN, arn)
	h.Set(HeaderTraceID, inv.traceID)
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(inv.event); err != nil {
		r.take(inv.id)
		inv.failed <- fmt.Errorf("aws invoke %s: delivering the event: %w", inv.id, err)
	}
}

// take removes and returns the in-flight invocation id, or nil.
func (r *AWSRuntime) take(id string) *awsInvocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	inv := r.inflight[id]
	delete(r.inflight, id)
	return inv
}

// response serves POST /invocation/{id}/response.
func (r *AWSRuntime) response(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	body, ok := r.readBody(w, req, id)
	if !ok {
		return
	}
	inv := r.take(id)
	if inv == nil {
		r.opts.logf("[aws runtime api] response for unknown request id %q refused", id)
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	res := &AWSResult{RequestID: id, ContentType: req.Header.Get("Content-Type"), At: time.Now()}
	// aws-lambda-go reports an error met while reading a (streamed) response body in trailers.
	if typ := req.Trailer.Get(HeaderFunctionErrorType); typ != "" {
		res.ErrorType = typ
		res.ErrPayload, _ = base64.StdEncoding.DecodeString(req.Trailer.Get(trailerFunctionErrorBody))
	} else {
		res.Payload = body
	}
	inv.done <- res
	writeAccepted(w)
}

// invocationError serves POST /invocation/{id}/error.
func (r *AWSRuntime) invocationError(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	body, ok := r.readBody(w, req, id)
	if !ok {
		return
	}
	inv := r.take(id)
	if inv == nil {
		r.opts.logf("[aws runtime api] error for unknown request id %q refused", id)
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	typ := req.Header.Get(HeaderFunctionErrorType)
	if typ == "" {
		typ = req.Trailer.Get(HeaderFunctionErrorType)
	}
	inv.done <- &AWSResult{RequestID: id, ContentType: req.Header.Get("Content-Type"), ErrPayload: body, ErrorType: typ, At: time.Now()}
	writeAccepted(w)
}

// postInitError serves POST /init/error: the function could not initialise.
func (r *AWSRuntime) postInitError(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxAWSPayload))
	if err != nil {
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "init error payload too large")
		return
	}
	r.mu.Lock()
	if r.initErr == nil {
		r.initErr = body
	}
	r.mu.Unlock()
	r.opts.logf("[aws runtime api] init error: %s", body)
	r.initOnce.Do(func() { close(r.initFailed) })
	writeAccepted(w)
}

// readBody reads a posted answer, refusing one over Lambda's limit: the invocation then fails the
// way Lambda fails it, and the process is told 413.
func (r *AWSRuntime) readBody(w http.ResponseWriter, req *http.Request, id string) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxAWSPayload))
	if err == nil {
		return body, true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		if inv := r.take(id); inv != nil {
			inv.failed <- fmt.Errorf("aws invoke %s: the answer exceeds Lambda's %d-byte limit", id, MaxAWSPayload)
		}
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"Exceeded maximum allowed payload size ("+strconv.Itoa(MaxAWSPayload)+" bytes).")
		return nil, false
	}
	writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "reading the body: "+err.Error())
	return nil, false
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// writeAPIError writes the Runtime API's error shape.
func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
