package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/logging"
	"github.com/wxfn/wxfn/shared/runtime/events"
)

// DefaultTimeout bounds an invocation in HTTP and invoke modes when the Spec sets no Timeout,
// matching the deployment default (the clouds enforce their own deadline on events).
const DefaultTimeout = 10 * time.Second

// server is the one place every mode goes through: body bound, panic recovery, request logging
// and the per-invocation context. The adapters only translate.
type server struct {
	f       fn.Function
	name    string
	limit   int64
	timeout time.Duration
	// log is the logger of a function process; nil means slog.Default() at each use, for
	// HTTPHandler whose host (the local gateway) may install its logger later.
	log *slog.Logger
}

func newServer(f fn.Function, log *slog.Logger) *server {
	t := f.Spec.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	return &server{f: f, name: f.Spec.Name, limit: f.Spec.BodyLimit(), timeout: t, log: log}
}

func (s *server) logger() *slog.Logger {
	if s.log != nil {
		return s.log
	}
	return slog.Default()
}

// errPanic is what a client learns of a panic: an opaque 500 with the request id.
var errPanic = errors.New("handler panicked")

// serve runs one HTTP request. readErr is a failure to read the body in HTTP mode (too large,
// broken connection); such a request is answered without calling the handler.
func (s *server) serve(ctx context.Context, req *fn.Request, readErr error) *fn.Response {
	start := time.Now()
	if req.RequestID == "" {
		req.RequestID = newRequestID()
	}
	ctx = logging.NewContext(ctx, s.name, req.RequestID)
	resp := s.dispatch(ctx, req, readErr)
	st := resp.Status
	if st == 0 {
		st = http.StatusOK
	}
	level := slog.LevelInfo
	if st >= 500 {
		level = slog.LevelWarn
	}
	// Method and path only: the query, headers and body may carry codes, tokens and PII.
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.Path),
		slog.Int("status", st),
		slog.Float64("durationMs", durationMs(time.Since(start))),
	}
	if req.Route != "" {
		// The matched pattern groups a route's requests in log queries whatever ids its path holds.
		attrs = append(attrs, slog.String("route", req.Route))
	}
	s.logger().LogAttrs(ctx, level, "request", attrs...)
	return resp
}

func (s *server) dispatch(ctx context.Context, req *fn.Request, readErr error) (resp *fn.Response) {
	switch {
	case readErr != nil:
		return fn.ErrorResponse(readErr, req.RequestID)
	case s.f.HTTP == nil:
		return fn.ErrorResponse(fn.Errorf(http.StatusNotFound, "not_found", "function %s has no HTTP routes", s.name), req.RequestID)
	case int64(len(req.Body)) > s.limit:
		return fn.ErrorResponse(errTooLarge(s.limit), req.RequestID)
	}
	defer func() {
		if v := recover(); v != nil {
			// The instance keeps serving: a crashed process would cost every request in
			// flight, and on SCF a panic reaching scf-go-lib drops the instance.
			s.logger().LogAttrs(ctx, slog.LevelError, "handler panicked",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			resp = fn.ErrorResponse(errPanic, req.RequestID)
		}
	}()
	resp = s.f.HTTP.Serve(ctx, req)
	if resp == nil {
		resp = &fn.Response{Status: http.StatusNoContent}
	}
	return resp
}

func errTooLarge(limit int64) error {
	return fn.Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the request body exceeds %d bytes", limit)
}

// ScheduleError is the error of a failed timer firing. Its message names the schedule and the
// invocation but not the cause, which is logged: the error goes back to the platform, whose
// console is not the place for what a handler's error may contain.
type ScheduleError struct {
	Name         string
	InvocationID string
	// Err is the handler's error (or the panic), for logs and errors.Is.
	Err error
}

func (e *ScheduleError) Error() string {
	return fmt.Sprintf("schedule %q failed (request id %s); see the function's logs", e.Name, e.InvocationID)
}

func (e *ScheduleError) Unwrap() error { return e.Err }

// schedule runs one timer firing; an error makes the platform retry it.
func (s *server) schedule(ctx context.Context, sch fn.Schedule, invocationID string) (err error) {
	start := time.Now()
	ctx = logging.NewContext(ctx, s.name, invocationID)
	if sch.Time.IsZero() {
		sch.Time = start.UTC()
	}
	defer func() {
		if v := recover(); v != nil {
			s.logger().LogAttrs(ctx, slog.LevelError, "schedule panicked",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("panic: %v", v)
		}
		attrs := []slog.Attr{
			slog.String("schedule", sch.Name),
			slog.String("scheduleId", sch.ID),
			slog.Float64("durationMs", durationMs(time.Since(start))),
		}
		if err != nil {
			s.logger().LogAttrs(ctx, slog.LevelError, "schedule failed", append(attrs, slog.String("err", err.Error()))...)
			err = &ScheduleError{Name: sch.Name, InvocationID: invocationID, Err: err}
			return
		}
		s.logger().LogAttrs(ctx, slog.LevelInfo, "schedule", attrs...)
	}()
	if s.f.Schedule == nil {
		return fmt.Errorf("function %s has no schedule", s.name)
	}
	return s.f.Schedule(ctx, sch)
}

// scheduleResult is the payload returned for a successful timer firing. The platforms discard
// it; it is there for people reading invoke output and console test runs.
type scheduleResult struct {
	Schedule string `json:"schedule"`
	ID       string `json:"id,omitempty"`
	Status   string `json:"status"`
	Error    string `json:"error,omitempty"`
}

// invoke handles one raw event as the Lambda and SCF adapters receive it and returns the
// payload of the answer. The error is an invocation error, reported to the platform: an event
// that is not recognised, or a failed schedule (*ScheduleError), which the platform retries.
// An HTTP request never yields an error; whatever happens becomes its response.
func (s *server) invoke(ctx context.Context, payload []byte, invocationID string) (out []byte, err error) {
	if invocationID == "" {
		invocationID = newRequestID()
	}
	defer func() {
		// Decoding and encoding are ours and should not panic; if they do, the instance lives.
		if v := recover(); v != nil {
			s.logger().LogAttrs(logging.NewContext(ctx, s.name, invocationID), slog.LevelError, "invocation panicked",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			out, err = nil, fmt.Errorf("runtime: invocation %s failed", invocationID)
		}
	}()
	ev, err := events.Decode(payload, invocationID)
	if err != nil {
		var fe *fn.Error
		if ev.Format.HTTP() && errors.As(err, &fe) {
			// A recognised but malformed request gets a 400 in its own shape.
			s.logger().LogAttrs(logging.NewContext(ctx, s.name, invocationID), slog.LevelWarn, "malformed event",
				slog.String("format", ev.Format.String()), slog.String("err", err.Error()))
			resp := s.serve(ctx, &fn.Request{RequestID: invocationID}, err)
			return ev.Format.EncodeResponse(resp, invocationID)
		}
		s.logger().LogAttrs(logging.NewContext(ctx, s.name, invocationID), slog.LevelError, "unrecognised event",
			slog.Int("bytes", len(payload)), slog.String("err", err.Error()))
		return nil, fmt.Errorf("runtime: %w", err)
	}
	if ev.Request != nil {
		resp := s.serve(ctx, ev.Request, nil)
		if n := len(resp.Cookies) + len(resp.Header.Values("Set-Cookie")); n > 1 && ev.Format != events.FormatLambdaURL {
			s.logger().LogAttrs(logging.NewContext(ctx, s.name, ev.Request.RequestID), slog.LevelWarn,
				"SCF responses carry one Set-Cookie; the others were dropped", slog.Int("cookies", n))
		}
		return ev.Format.EncodeResponse(resp, ev.Request.RequestID)
	}
	if err := s.schedule(ctx, *ev.Schedule, invocationID); err != nil {
		return nil, err
	}
	return json.Marshal(scheduleResult{Schedule: ev.Schedule.Name, ID: ev.Schedule.ID, Status: "ok"})
}

func durationMs(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
