package proctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

// SCFRuntime runs a binary as a Tencent SCF Go1 event function: the binary serves scf-go-lib's
// net/rpc service "Function" on 0.0.0.0:$_LAMBDA_SERVER_PORT and the platform calls
// Function.Ping, then Function.Invoke once per event with a messages.InvokeRequest. Use StartSCF,
// or SCF in tests.
type SCFRuntime struct {
	opts   Options
	proc   *process
	client *rpc.Client
	addr   string
	name   string
	region string
	// userEnv is the function's configured environment, which SCF also sends with every
	// invocation (scf-go-lib sets each entry with os.Setenv before calling the handler).
	userEnv string
}

// scfStartAttempts bounds retries when another process takes the chosen port first.
const scfStartAttempts = 3

// StartSCF starts bin as an SCF event function and returns once it answers Function.Ping.
func StartSCF(ctx context.Context, bin string, opts Options) (*SCFRuntime, error) {
	ctx, cancel := bounded(ctx, opts.startTimeout())
	defer cancel()
	userEnv, err := envJSON(opts.Env)
	if err != nil {
		return nil, fmt.Errorf("scf start: %w", err)
	}
	for attempt := 1; ; attempt++ {
		s, err := startSCFOnce(ctx, bin, opts, userEnv)
		if err == nil {
			return s, nil
		}
		if s == nil || !s.proc.hasExited() || !s.proc.outputSaysAddrInUse() || attempt == scfStartAttempts {
			return nil, err
		}
		opts.logf("[proctest] port %s was taken; retrying", s.addr)
	}
}

func startSCFOnce(ctx context.Context, bin string, opts Options, userEnv string) (*SCFRuntime, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("scf start: %w", err)
	}
	s := &SCFRuntime{opts: opts, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), userEnv: userEnv}
	s.name = filepath.Base(bin)
	if v, ok := lookupEnv(opts.Env, "SCF_FUNCTIONNAME"); ok && v != "" {
		s.name = v
	}
	s.region = "ap-guangzhou"
	if v, ok := lookupEnv(opts.Env, "TENCENTCLOUD_REGION"); ok && v != "" {
		s.region = v
	}
	env, err := childEnv(s.platformEnv(bin, port), opts.Env)
	if err != nil {
		return nil, fmt.Errorf("scf start: %w", err)
	}
	p, err := startProcess(bin, env, "scf", opts.Log)
	if err != nil {
		return nil, fmt.Errorf("scf %w", err)
	}
	s.proc = p
	if err := s.waitPing(ctx); err != nil {
		_ = s.Stop()
		return s, err
	}
	return s, nil
}

// Environment variables of an SCF Go1 event function (serverless-platforms.md §1.4).
const (
	scfAppID = "1250000000"
	scfUin   = "100000000001"
)

func (s *SCFRuntime) platformEnv(bin string, port int) []string {
	return []string{
		"_LAMBDA_SERVER_PORT=" + strconv.Itoa(port),
		"_SCF_SERVER_PORT=28902",
		"SCF_FUNCTIONNAME=" + s.name,
		"SCF_FUNCTIONVERSION=$LATEST",
		"SCF_NAMESPACE=default",
		"TENCENTCLOUD_REGION=" + s.region,
		"TENCENTCLOUD_APPID=" + scfAppID,
		"TENCENTCLOUD_UIN=" + scfUin,
		"TENCENTCLOUD_RUNENV=SCF",
		"USER_CODE_ROOT=" + filepath.Dir(bin) + "/",
	}
}

// waitPing dials the RPC port until Function.Ping succeeds, the process exits, or ctx ends.
func (s *SCFRuntime) waitPing(ctx context.Context) error {
	delay := 10 * time.Millisecond
	var last error
	for {
		if s.proc.hasExited() {
			return s.proc.exitError("scf start: before answering Function.Ping")
		}
		client, err := s.ping(ctx)
		if err == nil {
			s.client = client
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("scf start: Function.Ping on %s never succeeded (last: %v): %w", s.addr, last, ctx.Err())
		case <-s.proc.exited:
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

func (s *SCFRuntime) ping(ctx context.Context) (*rpc.Client, error) {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	client := rpc.NewClient(conn)
	call := client.Go("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		if call.Error != nil {
			client.Close()
			return nil, call.Error
		}
		return client, nil
	case <-time.After(2 * time.Second):
		client.Close()
		return nil, errors.New("Function.Ping: no answer")
	case <-ctx.Done():
		client.Close()
		return nil, ctx.Err()
	}
}

// Address is the host:port of the binary's RPC server.
func (s *SCFRuntime) Address() string { return s.addr }

// FunctionName is the name announced in SCF_FUNCTIONNAME and each request's FunctionName.
func (s *SCFRuntime) FunctionName() string { return s.name }

// NewRequest builds the InvokeRequest the platform would send for event: a fresh RequestId, a
// deadline Options.FunctionTimeout away, the function's identity and its environment as JSON.
// Change fields before passing it to Call to test other inputs.
func (s *SCFRuntime) NewRequest(event []byte) *messages.InvokeRequest {
	timeout := s.opts.functionTimeout()
	deadline := time.Now().Add(timeout)
	return &messages.InvokeRequest{
		Payload:               event,
		RequestId:             newRequestID(),
		TraceId:               randomHex(16),
		Deadline:              messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())},
		InvokedFunctionUnique: "qcs::scf:" + s.region + ":uin/" + scfUin + ":lam/default/" + s.name + "/$LATEST",
		Namespace:             "default",
		FunctionName:          s.name,
		FunctionVersion:       "$LATEST",
		MemoryLimitInMb:       128,
		TimeLimitInMs:         int32(timeout / time.Millisecond),
		Environment:           s.userEnv,
		TencentcloudRegion:    s.region,
		TencentcloudAppID:     scfAppID,
		TencentcloudUin:       scfUin,
	}
}

// Invoke sends one event (which must be JSON, as SCF's Invoke API requires) through
// Function.Invoke. A function error arrives in the response's Error; err reports a failure of
// the harness or the process (exit, timeout, RPC failure).
func (s *SCFRuntime) Invoke(ctx context.Context, event []byte) (*messages.InvokeResponse, error) {
	if !json.Valid(event) {
		return nil, errors.New("scf invoke: the event is not valid JSON")
	}
	return s.Call(ctx, s.NewRequest(event))
}

// Call sends req as it is through Function.Invoke.
func (s *SCFRuntime) Call(ctx context.Context, req *messages.InvokeRequest) (*messages.InvokeResponse, error) {
	ctx, cancel := bounded(ctx, s.opts.functionTimeout()+DefaultTimeout)
	defer cancel()
	resp := new(messages.InvokeResponse)
	call := s.client.Go("Function.Invoke", req, resp, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
	case <-ctx.Done():
		return nil, fmt.Errorf("scf invoke %s: no answer: %w", req.RequestId, ctx.Err())
	}
	if call.Error != nil {
		// A dropped connection usually means the process died; say so with its output.
		select {
		case <-s.proc.exited:
			return nil, s.proc.exitError("scf invoke " + req.RequestId)
		case <-time.After(time.Second):
		}
		return nil, fmt.Errorf("scf invoke %s: %w", req.RequestId, call.Error)
	}
	return resp, nil
}

// Stop closes the RPC connection, kills the process and waits for it.
func (s *SCFRuntime) Stop() error {
	if s.client != nil {
		_ = s.client.Close()
	}
	if err := s.proc.stop(); err != nil {
		return fmt.Errorf("scf %w", err)
	}
	return nil
}

// envJSON turns "KEY=VALUE" entries into the JSON object string SCF sends as Environment.
func envJSON(env []string) (string, error) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return "", fmt.Errorf("env entry %q is not KEY=VALUE", kv)
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("env json: %w", err)
	}
	return string(b), nil
}
