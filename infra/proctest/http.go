package proctest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// HTTPServer runs a binary in its plain-HTTP mode (SCF web functions, containers, local): no
// cloud variables, PORT set to a free port. Use StartHTTP, or HTTP in tests.
type HTTPServer struct {
	// URL is the server's base URL, "http://127.0.0.1:PORT", without a trailing slash.
	URL  string
	proc *process
}

// httpStartAttempts bounds retries when another process takes the chosen port first.
const httpStartAttempts = 3

// StartHTTP starts bin with PORT set and returns once the port accepts connections. Readiness is
// a TCP connect rather than a request because any request would reach the function's handler.
func StartHTTP(ctx context.Context, bin string, opts Options) (*HTTPServer, error) {
	ctx, cancel := bounded(ctx, opts.startTimeout())
	defer cancel()
	for attempt := 1; ; attempt++ {
		h, err := startHTTPOnce(ctx, bin, opts)
		if err == nil {
			return h, nil
		}
		if h == nil || !h.proc.outputSaysAddrInUse() || attempt == httpStartAttempts {
			return nil, err
		}
		opts.logf("[proctest] port of %s was taken; retrying", h.URL)
	}
}

func startHTTPOnce(ctx context.Context, bin string, opts Options) (*HTTPServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("http start: %w", err)
	}
	env, err := childEnv([]string{"PORT=" + strconv.Itoa(port)}, opts.Env)
	if err != nil {
		return nil, fmt.Errorf("http start: %w", err)
	}
	p, err := startProcess(bin, env, "http", opts.Log)
	if err != nil {
		return nil, fmt.Errorf("http %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	h := &HTTPServer{URL: "http://" + addr, proc: p}
	if err := h.waitListening(ctx, addr); err != nil {
		_ = h.Stop()
		return h, err
	}
	return h, nil
}

func (h *HTTPServer) waitListening(ctx context.Context, addr string) error {
	delay := 10 * time.Millisecond
	d := net.Dialer{Timeout: time.Second}
	for {
		if h.proc.hasExited() {
			return h.proc.exitError("http start: before listening on " + addr)
		}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			// Someone else may own the port; then our child dies of "address already in use".
			select {
			case <-h.proc.exited:
				return h.proc.exitError("http start: while " + addr + " was answering")
			case <-time.After(10 * time.Millisecond):
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("http start: nothing listening on %s (last: %v): %w", addr, err, ctx.Err())
		case <-h.proc.exited:
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// Exited reports whether the server process has exited, for tests that expect it to keep running.
func (h *HTTPServer) Exited() bool { return h.proc.hasExited() }

// Stop kills the process and waits for it.
func (h *HTTPServer) Stop() error {
	if err := h.proc.stop(); err != nil {
		return fmt.Errorf("http %w", err)
	}
	return nil
}
