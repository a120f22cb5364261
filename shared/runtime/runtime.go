// Package runtime runs a wxfn function on every platform from one binary (DESIGN §2). Start
// picks the mode from the environment, with no flags:
//
//   - AWS_LAMBDA_RUNTIME_API set: AWS Lambda, through aws-lambda-go's Runtime API client (build
//     with -tags lambda.norpc); function URL / HTTP API 2.0 requests and EventBridge schedules.
//   - otherwise, _LAMBDA_SERVER_PORT set: Tencent SCF event function, through scf-go-lib's
//     net/rpc server; function URL requests, timer events and legacy API-gateway requests.
//   - otherwise: a plain HTTP server on $PORT, for SCF web functions, containers and local runs.
//     Without PORT it listens on 9000 when the environment is an SCF one (SCF web functions must
//     listen there: SCF_RUNTIME, SCF_FUNCTIONNAME or TENCENTCLOUD_RUNENV is set), else on 8080.
//     It listens on all interfaces (0.0.0.0; SCF refuses 127.0.0.1) and shuts down gracefully
//     on SIGINT or SIGTERM.
//   - first argument "invoke": `BINARY invoke EVENT.json` (or "-" for stdin) runs one event of any
//     of the formats above and prints the response payload to stdout, logs going to stderr.
//
// Every mode goes through the same wrapping: the request body is bounded by Spec.BodyLimit (a
// larger one gets a 413 without reaching the handler), a panic becomes a 500 carrying the
// request id and the process keeps serving, each request is logged on one access line, and the
// handler's context carries the request id for its own log lines. Responses always carry
// x-request-id: the platform's request id, or in HTTP mode the client's x-request-id when it is
// a short token, else a fresh one.
package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/logging"
)

// Start runs f in the mode the environment names and does not return, except that the HTTP
// and invoke modes exit the process when they finish.
func Start(f fn.Function) {
	os.Exit(run(context.Background(), f, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr))
}

// Mode is how a function process is run.
type Mode int

// Modes, in the order Start checks for them.
const (
	ModeHTTP Mode = iota
	ModeLambda
	ModeSCF
)

func (m Mode) String() string {
	switch m {
	case ModeLambda:
		return "lambda"
	case ModeSCF:
		return "scf"
	}
	return "http"
}

// DetectMode returns the mode the environment names.
func DetectMode(lookup config.Lookup) Mode {
	if v, ok := lookup("AWS_LAMBDA_RUNTIME_API"); ok && v != "" {
		return ModeLambda
	}
	if v, ok := lookup("_LAMBDA_SERVER_PORT"); ok && v != "" {
		return ModeSCF
	}
	return ModeHTTP
}

// Default HTTP ports.
const (
	DefaultPort    = "8080"
	DefaultSCFPort = "9000"
)

// ListenAddr returns the address HTTP mode listens on: ":$PORT", else the SCF web-function
// port when the environment is an SCF one, else DefaultPort.
func ListenAddr(lookup config.Lookup) (string, error) {
	if p, ok := lookup("PORT"); ok && p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("runtime: setting PORT: %q is not a port number", p)
		}
		return ":" + p, nil
	}
	for _, k := range []string{"SCF_RUNTIME", "SCF_FUNCTIONNAME", "TENCENTCLOUD_RUNENV"} {
		if v, ok := lookup(k); ok && v != "" {
			return ":" + DefaultSCFPort, nil
		}
	}
	return ":" + DefaultPort, nil
}

const usage = `usage:
  %[1]s                  serve (mode from the environment: AWS Lambda, Tencent SCF, or HTTP on $PORT)
  %[1]s invoke EVENT.json  run one event (a file, or - for stdin) and print the response
`

// run is Start without the exit, for tests.
func run(ctx context.Context, f fn.Function, args []string, lookup config.Lookup, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "invoke" && len(args) == 2 {
			return runInvoke(ctx, f, args[1], lookup, stdin, stdout, stderr)
		}
		fmt.Fprintf(stderr, usage, f.Spec.Name)
		return 2
	}
	log := logging.Setup(stdout, f.Spec.Name, lookup)
	s := newServer(f, log)
	switch mode := DetectMode(lookup); mode {
	case ModeLambda:
		startLambda(s)
	case ModeSCF:
		startSCF(s)
	}
	// Catch SIGTERM before anything can be served, so that no request is cut off by it.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr, err := ListenAddr(lookup)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("cannot listen", "addr", addr, "err", err)
		return 1
	}
	log.Info("listening", "mode", ModeHTTP.String(), "addr", ln.Addr().String())
	if err := serveHTTP(ctx, s, ln); err != nil {
		log.Error("http server stopped", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// startLambda runs aws-lambda-go's Runtime API loop; it returns only by exiting the process.
// The raw JSON in and out lets us decode every event family ourselves, and returning JSON (not
// bytes) keeps the Runtime API response typed application/json.
func startLambda(s *server) {
	lambda.StartHandlerFunc(func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		var id string
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			id = lc.AwsRequestID
		}
		return s.invoke(ctx, event, id)
	})
}

// scfHandler is scf-go-lib's raw handler, which skips its reflection-based decoding.
type scfHandler struct{ s *server }

// Invoke implements cloudfunction.Handler.
func (h scfHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var id string
	if fc, ok := functioncontext.FromContext(ctx); ok {
		id = fc.RequestID
	}
	return h.s.invoke(ctx, payload, id)
}

// startSCF serves scf-go-lib's net/rpc on $_LAMBDA_SERVER_PORT; it never returns.
func startSCF(s *server) {
	cloudfunction.StartHandler(scfHandler{s: s})
}

// Invoke runs one raw event of any supported format through f as the Lambda and SCF modes do
// and returns the response payload: for an HTTP event, the response in that event's platform
// shape; for a timer event, a small JSON result. The error is an unrecognised event, or a
// *ScheduleError for a failed schedule. Logs go to slog.Default().
func Invoke(ctx context.Context, f fn.Function, event []byte) ([]byte, error) {
	s := newServer(f, nil)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.invoke(ctx, event, "")
}

// runInvoke is the invoke mode: read one event from path ("-": stdin), run it, print the
// response. Only an unreadable or unrecognised event is a failure (exit 1); a failed schedule
// prints its error result and exits 0, like an HTTP error response does.
func runInvoke(ctx context.Context, f fn.Function, path string, lookup config.Lookup, stdin io.Reader, stdout, stderr io.Writer) int {
	// Logs go to stderr so that stdout holds nothing but the response.
	log := logging.New(stderr, f.Spec.Name, config.LogLevel(lookup))
	slog.SetDefault(log)
	var event []byte
	var err error
	if path == "-" {
		event, err = io.ReadAll(stdin)
	} else {
		event, err = os.ReadFile(path)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s invoke: %v\n", f.Spec.Name, err)
		return 1
	}
	s := newServer(f, log)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.invoke(ctx, event, "")
	if err != nil {
		var se *ScheduleError
		if !errors.As(err, &se) {
			fmt.Fprintf(stderr, "%s invoke %s: %v\n", f.Spec.Name, path, err)
			return 1
		}
		out, _ = json.Marshal(scheduleResult{Schedule: se.Name, Status: "error", Error: se.Err.Error()})
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", out); err != nil {
		return 1
	}
	return 0
}
