package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxfn/wxfn/infra/proctest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	_ = proctest.RemoveBuilds()
	os.Exit(code)
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := stats{Min: 1, P50: 50, P90: 90, P99: 99, Mean: 50.5}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("summarize reordered its input")
	}
	if one := summarize([]time.Duration{3 * time.Millisecond}); one.P99 != 3 || one.Min != 3 {
		t.Errorf("one sample: %+v", one)
	}
	if (summarize(nil) != stats{}) {
		t.Error("no samples should give zero stats")
	}
}

func TestFunctionName(t *testing.T) {
	for pkg, want := range map[string]string{
		"github.com/wxfn/wxfn/functions/login/cmd": "login",
		"./functions/payorder/cmd/":                "payorder",
		"github.com/wxfn/wxfn/scripts/bench/hello": "hello",
	} {
		if got := functionName(pkg); got != want {
			t.Errorf("functionName(%q) = %q, want %q", pkg, got, want)
		}
	}
}

func TestEnvFlagRefusesMalformedEntries(t *testing.T) {
	var e envFlag
	if err := e.Set("A=1"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"A", "=1", ""} {
		if err := e.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	if len(e) != 1 {
		t.Errorf("env = %v", e)
	}
}

// TestRunAgainstItself runs the whole harness with the baseline as the function under test: every
// run must complete with the baseline's 200, and the link check must pass.
func TestRunAgainstItself(t *testing.T) {
	o := options{runs: 2, baseline: "github.com/wxfn/wxfn/scripts/bench/hello", event: probeEvent,
		maxRatio: 1000, maxSizeMB: 100, timeout: 20 * time.Second}
	var progress strings.Builder
	rep, err := run(context.Background(), o, []string{"github.com/wxfn/wxfn/scripts/bench/hello"}, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if rep.FailedRuns != 0 || !rep.LinksOK || len(rep.Functions) != 1 {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range []result{rep.Baseline, rep.Functions[0]} {
		if r.Status != 200 || r.Errors != 0 || r.SizeBytes == 0 || r.First.Min <= 0 || r.First.P50 < r.First.Min || r.Init.Min <= 0 {
			t.Errorf("result %+v", r)
		}
	}
}

// The link check must see this module's infra packages: this very command imports proctest.
func TestForbiddenLinksSeesInfra(t *testing.T) {
	bin := proctest.Build(t, "github.com/wxfn/wxfn/scripts/bench/hello")
	bad, err := forbiddenLinks(context.Background(), bin, "github.com/wxfn/wxfn/scripts/bench/coldstart")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(bad, "github.com/wxfn/wxfn/infra/proctest") {
		t.Errorf("forbiddenLinks = %v, want infra/proctest", bad)
	}
	bad, err = forbiddenLinks(context.Background(), bin, "github.com/wxfn/wxfn/scripts/bench/hello")
	if err != nil || len(bad) != 0 {
		t.Errorf("hello: forbiddenLinks = %v, %v", bad, err)
	}
}
