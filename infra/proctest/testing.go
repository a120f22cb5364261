package proctest

import (
	"context"
	"testing"
)

// testOptions sends the child's output to t.Log. Every Start path stops the process (and so
// drains its output) before the test ends, so no line is logged after the test completed.
func testOptions(t testing.TB, env []string) Options {
	return Options{Env: env, Log: func(line string) { t.Log(line) }}
}

// AWS starts bin under a fake AWS Lambda Runtime API (see StartAWS) with the function's env
// ("KEY=VALUE" entries), fails t if it does not become ready, and stops it when t ends.
func AWS(t testing.TB, bin string, env ...string) *AWSRuntime {
	t.Helper()
	r, err := StartAWS(context.Background(), bin, testOptions(t, env))
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("proctest: %v", err)
		}
	})
	return r
}

// SCF starts bin as a Tencent SCF event function (see StartSCF) with the function's env, fails t
// if it does not answer Function.Ping, and stops it when t ends.
func SCF(t testing.TB, bin string, env ...string) *SCFRuntime {
	t.Helper()
	s, err := StartSCF(context.Background(), bin, testOptions(t, env))
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("proctest: %v", err)
		}
	})
	return s
}

// HTTP starts bin as a plain HTTP server (see StartHTTP) with the function's env, fails t if it
// does not listen, and stops it when t ends.
func HTTP(t testing.TB, bin string, env ...string) *HTTPServer {
	t.Helper()
	h, err := StartHTTP(context.Background(), bin, testOptions(t, env))
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Stop(); err != nil {
			t.Errorf("proctest: %v", err)
		}
	})
	return h
}
