package proctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds each wait of the harness (start-up, one invocation, shut-down) when the
// caller's context has no deadline. It is generous because the machines running tests are shared.
const DefaultTimeout = 20 * time.Second

// DefaultFunctionTimeout is the function timeout the fake platforms announce to the binary (the
// invocation deadline) when Options.FunctionTimeout is zero.
const DefaultFunctionTimeout = 10 * time.Second

// Options configures one child process.
type Options struct {
	// Env is the function's own configuration as "KEY=VALUE" entries. It is added after the
	// platform's variables, so it may override them (AWS_LAMBDA_FUNCTION_NAME, SCF_FUNCTIONNAME).
	// The child does not inherit the caller's environment beyond PATH, TMPDIR and GOCOVERDIR, so
	// that a stray variable cannot switch the binary into another runtime mode.
	Env []string
	// Log receives each line the child writes to stdout or stderr, prefixed with the stream, and
	// the harness's own notes about protocol violations; nil discards them.
	Log func(line string)
	// StartTimeout bounds waiting for the binary to become ready; zero means DefaultTimeout.
	StartTimeout time.Duration
	// FunctionTimeout is the invocation deadline announced to the binary; zero means
	// DefaultFunctionTimeout. Waiting for an answer is bounded by it plus DefaultTimeout.
	FunctionTimeout time.Duration
}

func (o Options) startTimeout() time.Duration {
	if o.StartTimeout > 0 {
		return o.StartTimeout
	}
	return DefaultTimeout
}

func (o Options) functionTimeout() time.Duration {
	if o.FunctionTimeout > 0 {
		return o.FunctionTimeout
	}
	return DefaultFunctionTimeout
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(fmt.Sprintf(format, args...))
	}
}

// bounded returns ctx, or ctx limited to d when it has no deadline of its own.
func bounded(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// inherited are the only variables a child takes from our environment: enough to run and to
// collect coverage, nothing that could select a runtime mode.
var inherited = []string{"PATH", "TMPDIR", "GOCOVERDIR"}

// childEnv is the base environment, then the platform's variables, then the function's own.
func childEnv(platform, user []string) ([]string, error) {
	var env []string
	for _, k := range inherited {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, platform...)
	for _, kv := range user {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("env entry %q is not KEY=VALUE", kv)
		}
		env = append(env, kv)
	}
	return env, nil
}

// lookupEnv returns the last value of key in env, as exec does with duplicates.
func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// freePort returns a loopback TCP port that was free a moment ago. Another process may take it
// before the child binds it; the SCF and HTTP starters retry when that happens.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// process is one running child whose output goes line by line to a log and a bounded tail.
type process struct {
	name      string
	cmd       *exec.Cmd
	out       *output
	startedAt time.Time
	exited    chan struct{} // closed once the child has exited and its output is drained
	waitErr   error         // the child's exit status; read only after exited is closed
}

// tailLines is how many of the child's last output lines an error message quotes.
const tailLines = 20

func startProcess(bin string, env []string, label string, logf func(string)) (*process, error) {
	info, err := os.Stat(bin)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("start %s: not an executable file", bin)
	}
	name := filepath.Base(bin)
	cmd := exec.Command(bin)
	cmd.Env = env
	// Both platforms run the binary from the directory its package was unpacked into.
	cmd.Dir = filepath.Dir(bin)
	out := &output{prefix: name + " " + label, logf: logf}
	cmd.Stdout = out.stream("stdout")
	cmd.Stderr = out.stream("stderr")
	// A grandchild holding our pipes must not keep Wait (and so the test) waiting.
	cmd.WaitDelay = 5 * time.Second
	p := &process{name: name, cmd: cmd, out: out, exited: make(chan struct{})}
	p.startedAt = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		out.flush()
		close(p.exited)
	}()
	return p, nil
}

// hasExited reports whether the child has exited.
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// exitError describes the child's exit, quoting its last output lines. Call after exited.
func (p *process) exitError(op string) error {
	status := "exit status 0"
	if p.waitErr != nil {
		status = p.waitErr.Error()
	}
	return fmt.Errorf("%s: %w (%s)%s", op, ErrExited, status, p.out.tailText())
}

// ErrExited is wrapped by the errors that report a child process exiting when it should not have.
var ErrExited = errors.New("process exited")

// stop kills the child if it still runs and waits for it (bounded). It is safe to call twice.
func (p *process) stop() error {
	if !p.hasExited() {
		// Neither platform gives a function time to clean up once it decided to end the
		// instance, so SIGKILL is faithful and never hangs on a handler that ignores SIGTERM.
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(DefaultTimeout):
		return fmt.Errorf("stop %s: still not reaped %v after SIGKILL", p.name, DefaultTimeout)
	}
}

// outputSaysAddrInUse reports whether the child died because its port was taken.
func (p *process) outputSaysAddrInUse() bool {
	return strings.Contains(p.out.tailText(), "address already in use")
}

// output splits the child's stdout and stderr into lines for the log and keeps the last few.
type output struct {
	prefix string
	logf   func(string)

	mu   sync.Mutex
	tail []string
	open []*stream
}

// stream is one of the child's pipes. exec copies each pipe from its own goroutine, so a
// stream's partial line needs no lock; flush runs after both copiers are done.
type stream struct {
	o       *output
	label   string
	partial []byte
}

// maxLine bounds a line kept while waiting for its newline.
const maxLine = 64 << 10

func (o *output) stream(label string) *stream {
	s := &stream{o: o, label: label}
	o.mu.Lock()
	o.open = append(o.open, s)
	o.mu.Unlock()
	return s
}

func (s *stream) Write(b []byte) (int, error) {
	s.partial = append(s.partial, b...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.o.line(s.label, string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > maxLine {
		s.o.line(s.label, string(s.partial))
		s.partial = nil
	}
	// Drop the consumed prefix so that a chatty child does not grow the buffer forever.
	s.partial = append([]byte(nil), s.partial...)
	return len(b), nil
}

func (o *output) line(label, text string) {
	text = strings.TrimRight(text, "\r")
	o.mu.Lock()
	o.tail = append(o.tail, label+": "+text)
	if len(o.tail) > tailLines {
		o.tail = o.tail[len(o.tail)-tailLines:]
	}
	o.mu.Unlock()
	if o.logf != nil {
		o.logf("[" + o.prefix + " " + label + "] " + text)
	}
}

func (o *output) flush() {
	o.mu.Lock()
	open := o.open
	o.mu.Unlock()
	for _, s := range open {
		if len(s.partial) > 0 {
			o.line(s.label, string(s.partial))
			s.partial = nil
		}
	}
}

func (o *output) tailText() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.tail) == 0 {
		return "; it wrote nothing"
	}
	return "; its last output:\n\t" + strings.Join(o.tail, "\n\t")
}
