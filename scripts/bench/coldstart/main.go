// Command coldstart measures how long a wxfn function binary takes from exec to its first
// response under a fake AWS Lambda Runtime API, against an aws-lambda-go hello-world built with
// the same flags, and checks the binaries' sizes and that no function links the local stack.
//
//	go run ./scripts/bench/coldstart [flags] [PACKAGE...]
//
// PACKAGEs are function main packages or patterns (default ./functions/...; non-main packages
// are skipped). Each run starts a fresh process whose first event is already waiting, as on a
// Lambda cold start, and records the time from exec to the first GET /invocation/next (init)
// and to the POST of the first response (first). Baseline and function runs are interleaved,
// rotating their order each round, so that the noise of a shared machine hits both alike; one
// warm-up round (binaries into the page cache) is discarded.
//
// The default event is a function URL GET of a path no function routes, which every function
// answers 404 without touching the database or WeChat; -event replaces it.
//
// Exit status: 1 when a run fails or a function links FerretDB, gofakes3 or wxfn's infra
// packages; with -enforce, also when a budget (-max-ratio, -max-size-mb) is exceeded.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wxfn/wxfn/infra/proctest"
)

//go:embed probe-event.json
var probeEvent []byte

// forbiddenModules must never be linked into a function binary (DESIGN §3).
var forbiddenModules = []string{"github.com/FerretDB/FerretDB", "github.com/johannesboyne/gofakes3"}

// forbiddenPackages is the import-path prefix of the local stack, which lives in this module
// and so cannot be seen in `go version -m`.
const forbiddenPackages = "github.com/wxfn/wxfn/infra/"

type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, ",") }
func (e *envFlag) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

type options struct {
	runs      int
	baseline  string
	eventPath string
	event     []byte
	env       envFlag
	jsonOut   bool
	maxRatio  float64
	maxSizeMB float64
	enforce   bool
	timeout   time.Duration
	keep      string
}

func main() {
	var o options
	flag.IntVar(&o.runs, "n", 30, "measured runs per binary")
	flag.StringVar(&o.baseline, "baseline", "github.com/wxfn/wxfn/scripts/bench/hello", "baseline package (plain aws-lambda-go hello-world)")
	flag.StringVar(&o.eventPath, "event", "", "event JSON `file` sent as the first invocation (default: a function URL GET of an unrouted path)")
	flag.Var(&o.env, "env", "`KEY=VALUE` for the functions' environment (repeatable)")
	flag.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	flag.Float64Var(&o.maxRatio, "max-ratio", 1.5, "budget: function p50 / baseline p50 of exec → first response")
	flag.Float64Var(&o.maxSizeMB, "max-size-mb", 20, "budget: stripped binary size in MB (10^6 bytes)")
	flag.BoolVar(&o.enforce, "enforce", false, "exit 1 when a budget is exceeded")
	flag.DurationVar(&o.timeout, "timeout", proctest.DefaultTimeout, "bound on one run")
	flag.StringVar(&o.keep, "o", "", "build the binaries into `dir` and keep them (default: a temp dir, removed)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./scripts/bench/coldstart [flags] [PACKAGE...]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if o.runs < 1 || o.timeout <= 0 || o.maxRatio <= 0 || o.maxSizeMB <= 0 {
		fmt.Fprintln(os.Stderr, "coldstart: -n, -timeout, -max-ratio and -max-size-mb must be positive")
		os.Exit(2)
	}
	o.event = probeEvent
	if o.eventPath != "" {
		b, err := os.ReadFile(o.eventPath)
		if err != nil {
			fmt.Fprintf(os.Stderr, "coldstart: %v\n", err)
			os.Exit(2)
		}
		o.event = b
	}
	if !json.Valid(o.event) {
		fmt.Fprintln(os.Stderr, "coldstart: the event is not valid JSON")
		os.Exit(2)
	}
	patterns := flag.Args()
	if len(patterns) == 0 {
		patterns = []string{"./functions/..."}
	}
	rep, err := run(context.Background(), o, patterns, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "coldstart: %v\n", err)
		os.Exit(1)
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		printTable(os.Stdout, rep)
	}
	if !rep.LinksOK || rep.FailedRuns > 0 || (o.enforce && !rep.WithinBudget) {
		os.Exit(1)
	}
}

// report is the benchmark's result; durations are in milliseconds.
type report struct {
	Runs         int       `json:"runs"`
	Event        string    `json:"event"`
	Budget       budget    `json:"budget"`
	Baseline     result    `json:"baseline"`
	Functions    []result  `json:"functions"`
	FailedRuns   int       `json:"failedRuns"`
	LinksOK      bool      `json:"linksOk"`
	WithinBudget bool      `json:"withinBudget"`
	Started      time.Time `json:"started"`
}

type budget struct {
	MaxRatio  float64 `json:"maxRatio"`
	MaxSizeMB float64 `json:"maxSizeMB"`
}

type result struct {
	Name      string `json:"name"`
	Package   string `json:"package"`
	SizeBytes int64  `json:"sizeBytes"`
	// Init is exec → first GET /invocation/next; First is exec → first response received.
	Init  stats `json:"initMs"`
	First stats `json:"firstResponseMs"`
	// Status is the HTTP status of the first response's payload (0 if it had none); Errors
	// counts runs whose invocation failed or that did not complete.
	Status int `json:"status"`
	Errors int `json:"errors"`
	// Ratio is First.P50 over the baseline's, the budgeted figure; RatioMin compares the minima,
	// which a noisy shared machine disturbs least. Both are absent for the baseline.
	Ratio          float64  `json:"ratio,omitempty"`
	RatioMin       float64  `json:"ratioMin,omitempty"`
	ForbiddenLinks []string `json:"forbiddenLinks,omitempty"`
	RatioOK        bool     `json:"ratioOk"`
	SizeOK         bool     `json:"sizeOk"`

	bin     string
	init    []time.Duration
	first   []time.Duration
	lastErr error
}

type stats struct {
	Min  float64 `json:"min"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
}

func run(ctx context.Context, o options, patterns []string, progress io.Writer) (*report, error) {
	pkgs, err := mainPackages(ctx, patterns)
	if err != nil {
		return nil, err
	}
	dir := o.keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "wxfn-coldstart-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}

	rep := &report{Runs: o.runs, Budget: budget{o.maxRatio, o.maxSizeMB}, LinksOK: true, WithinBudget: true, Started: time.Now().UTC()}
	rep.Event = "function URL GET /__coldstart/probe (built in)"
	if o.eventPath != "" {
		rep.Event = o.eventPath
	}
	all := make([]*result, 0, len(pkgs)+1)
	for i, pkg := range append([]string{o.baseline}, pkgs...) {
		r := &result{Name: functionName(pkg), Package: pkg}
		r.bin = filepath.Join(dir, strconv.Itoa(i), r.Name)
		fmt.Fprintf(progress, "building %s\n", pkg)
		bctx, cancel := context.WithTimeout(ctx, proctest.BuildTimeout)
		err := proctest.Compile(bctx, r.bin, pkg)
		cancel()
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(r.bin)
		if err != nil {
			return nil, err
		}
		r.SizeBytes = info.Size()
		all = append(all, r)
	}
	for _, r := range all[1:] {
		if r.ForbiddenLinks, err = forbiddenLinks(ctx, r.bin, r.Package); err != nil {
			return nil, err
		}
		if len(r.ForbiddenLinks) > 0 {
			rep.LinksOK = false
		}
	}

	fmt.Fprintf(progress, "running 1 warm-up + %d rounds of %d cold starts\n", o.runs, len(all))
	// Round 0 is the warm-up; each round rotates the order so no binary always runs first.
	for round := 0; round <= o.runs; round++ {
		for k := range all {
			r := all[(k+round)%len(all)]
			init, first, status, err := coldStart(ctx, r.bin, o)
			if round == 0 {
				if err != nil {
					return nil, fmt.Errorf("warm-up of %s: %w", r.Name, err)
				}
				continue
			}
			if err != nil {
				r.Errors++
				r.lastErr = err
				rep.FailedRuns++
				continue
			}
			r.init = append(r.init, init)
			r.first = append(r.first, first)
			r.Status = status
		}
	}
	for _, r := range all {
		r.Init, r.First = summarize(r.init), summarize(r.first)
		if r.lastErr != nil {
			fmt.Fprintf(progress, "%s: %d failed runs; last: %v\n", r.Name, r.Errors, r.lastErr)
		}
	}
	base := all[0]
	base.RatioOK, base.SizeOK = true, true
	rep.Baseline = *base
	for _, r := range all[1:] {
		if base.First.P50 > 0 {
			r.Ratio = round2(r.First.P50 / base.First.P50)
		}
		if base.First.Min > 0 {
			r.RatioMin = round2(r.First.Min / base.First.Min)
		}
		r.RatioOK = r.Ratio > 0 && r.Ratio <= o.maxRatio
		r.SizeOK = float64(r.SizeBytes) <= o.maxSizeMB*1e6
		if !r.RatioOK || !r.SizeOK {
			rep.WithinBudget = false
		}
		rep.Functions = append(rep.Functions, *r)
	}
	return rep, nil
}

// coldStart runs bin once: the first event is queued before the exec, as on a Lambda cold start.
func coldStart(ctx context.Context, bin string, o options) (init, first time.Duration, status int, err error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	rt, err := proctest.NewAWSRuntime(proctest.Options{Env: o.env, StartTimeout: o.timeout})
	if err != nil {
		return 0, 0, 0, err
	}
	defer rt.Stop()
	type outcome struct {
		res *proctest.AWSResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := rt.Do(ctx, o.event)
		done <- outcome{res, err}
	}()
	if err := rt.Start(bin); err != nil {
		return 0, 0, 0, err
	}
	out := <-done
	if out.err != nil {
		return 0, 0, 0, out.err
	}
	if out.res.ErrPayload != nil {
		return 0, 0, 0, fmt.Errorf("function error: %s", out.res.ErrPayload)
	}
	var payload struct {
		StatusCode int `json:"statusCode"`
	}
	_ = json.Unmarshal(out.res.Payload, &payload)
	start := rt.StartedAt()
	return rt.ReadyAt().Sub(start), out.res.At.Sub(start), payload.StatusCode, nil
}

// mainPackages expands patterns to the import paths of main packages.
func mainPackages(ctx context.Context, patterns []string) ([]string, error) {
	args := append([]string{"list", "-tags", proctest.ProductionTag, "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}"}, patterns...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", strings.Join(patterns, " "), err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no main package in %s", strings.Join(patterns, " "))
	}
	return pkgs, nil
}

// forbiddenLinks lists what a function links that it must not: modules from the build info of
// its binary bin and packages of this module's infra/ among the dependencies of its package pkg.
func forbiddenLinks(ctx context.Context, bin, pkg string) ([]string, error) {
	mods, err := proctest.Modules(ctx, bin)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, m := range forbiddenModules {
		if slices.Contains(mods, m) {
			bad = append(bad, m)
		}
	}
	deps, err := proctest.Deps(ctx, pkg)
	if err != nil {
		return nil, err
	}
	for _, d := range deps {
		if strings.HasPrefix(d, forbiddenPackages) {
			bad = append(bad, d)
		}
	}
	return bad, nil
}

// functionName is "login" for .../functions/login/cmd and the last element otherwise.
func functionName(pkg string) string {
	p := strings.TrimSuffix(strings.TrimRight(pkg, "/"), "/cmd")
	return path.Base(p)
}

func summarize(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return stats{
		Min:  ms(s[0]),
		P50:  ms(percentile(s, 0.50)),
		P90:  ms(percentile(s, 0.90)),
		P99:  ms(percentile(s, 0.99)),
		Mean: ms(sum / time.Duration(len(s))),
	}
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func printTable(w io.Writer, rep *report) {
	fmt.Fprintf(w, "cold start: exec → first response under a fake AWS Lambda Runtime API, %d interleaved runs each (after 1 warm-up)\n", rep.Runs)
	fmt.Fprintf(w, "event: %s\n\n", rep.Event)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "binary\tsize MB\tinit p50\tfirst min\tp50\tp90\tp99\tstatus\terrors\t× base p50\t× base min\t")
	rows := append([]result{rep.Baseline}, rep.Functions...)
	for i, r := range rows {
		ratio, ratioMin := 1.0, 1.0
		if i > 0 {
			ratio, ratioMin = r.Ratio, r.RatioMin
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%.2f\t%.2f\t\n",
			r.Name, float64(r.SizeBytes)/1e6, r.Init.P50, r.First.Min, r.First.P50, r.First.P90, r.First.P99, r.Status, r.Errors, ratio, ratioMin)
	}
	tw.Flush()
	fmt.Fprintf(w, "(times in ms; sizes of stripped binaries, -trimpath -ldflags=-s -w -tags lambda.norpc)\n\n")
	fmt.Fprintf(w, "budget: first-response p50 ≤ %.2f× baseline, size ≤ %.0f MB, no FerretDB / gofakes3 / %s* linked\n",
		rep.Budget.MaxRatio, rep.Budget.MaxSizeMB, forbiddenPackages)
	for _, r := range rep.Functions {
		links := "ok"
		if len(r.ForbiddenLinks) > 0 {
			links = "LINKS " + strings.Join(r.ForbiddenLinks, ", ")
		}
		fmt.Fprintf(w, "  %-12s ratio %.2f %s   size %.1f MB %s   links %s\n",
			r.Name, r.Ratio, verdict(r.RatioOK), float64(r.SizeBytes)/1e6, verdict(r.SizeOK), links)
	}
	if rep.FailedRuns > 0 {
		fmt.Fprintf(w, "%d runs failed\n", rep.FailedRuns)
	}
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "OVER"
}
