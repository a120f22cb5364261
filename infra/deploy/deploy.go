// Package deploy turns the one description of the wxfn functions (functions.Specs()) into their
// deployment configs: the AWS serverless.yml (Serverless Framework v3) at the repository root and
// one Tencent SCF component config per function under infra/scf/. Because both are generated
// from the same []fn.Spec, and a test compares the committed files with the generator's output,
// the two clouds cannot drift apart.
//
// The package also packs built binaries into the zips each cloud expects (Pack) and checks the
// CloudFormation template that `serverless package` compiles (CheckTemplate).
package deploy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

// Defaults for a Spec that leaves memory or timeout at zero (DESIGN §1: 128 MB, 10 s).
const (
	DefaultMemoryMB = 128
	DefaultTimeout  = 10 * time.Second
)

// Service is the application name on both clouds: the AWS service (stack wxfn-STAGE, functions
// wxfn-STAGE-NAME) and the SCF app (functions wxfn-STAGE-NAME).
const Service = "wxfn"

// CommonSettings are read by every function (shared/logging), so each function gets them in
// addition to its Spec.Settings.
var commonSettings = []string{"LOG_LEVEL"}

// CommonSettings returns the settings every function reads besides its own Spec.Settings.
func CommonSettings() []string { return append([]string(nil), commonSettings...) }

var (
	fnName      = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	triggerName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,59}$`)
	settingName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
)

// Reserved prefixes of environment variable names: SCF refuses user variables starting with
// SCF_, QCLOUD_ or TENCENTCLOUD_ (reference §1.4), Lambda reserves AWS_ and _-prefixed names.
var reservedPrefixes = []string{"SCF_", "QCLOUD_", "TENCENTCLOUD_", "AWS_", "_"}

// function is a validated Spec with its defaults applied.
type function struct {
	spec      fn.Spec
	memoryMB  int
	timeout   int // seconds
	env       []string
	schedules []schedule
}

// schedule is a validated timer trigger with both clouds' expressions worked out.
type schedule struct {
	name        string
	description string
	eventBridge string // rate(...) or cron(...), for EventBridge
	scfCron     string // 7-field SCF cron
	daily       bool
}

// retryAttempts is the asynchronous retry count for the function's timer firings (the URL is
// invoked synchronously and never retried by the platform). A function on an interval timer
// gets no retries: the next tick comes soon and retries would only pile up behind it. A daily
// job is retried twice (both clouds' default, made explicit), since missing it costs a day;
// the handlers are idempotent, so a duplicate firing is harmless.
func (f function) retryAttempts() (n int, ok bool) {
	if len(f.schedules) == 0 {
		return 0, false
	}
	for _, s := range f.schedules {
		if s.daily {
			return 2, true
		}
	}
	return 0, true
}

// resolve validates every spec and applies the defaults. All problems are reported at once.
func resolve(specs []fn.Spec) ([]function, error) {
	if len(specs) == 0 {
		return nil, errors.New("deploy: no functions in the catalog")
	}
	var errs []error
	seen := map[string]bool{}
	out := make([]function, 0, len(specs))
	for _, s := range specs {
		f, err := resolveOne(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("function %s: listed twice", s.Name))
			continue
		}
		seen[s.Name] = true
		out = append(out, f)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("deploy: invalid catalog: %w", err)
	}
	return out, nil
}

// Validate reports every problem that would stop the specs from being deployed to either cloud.
func Validate(specs []fn.Spec) error {
	_, err := resolve(specs)
	return err
}

func resolveOne(s fn.Spec) (function, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// wxfn-STAGE-NAME must fit SCF's 60 and Lambda's 64 characters with room for a stage name.
	if !fnName.MatchString(s.Name) || len(s.Name) > 32 {
		bad("name %q must be lower-case letters and digits (dash-separated), at most 32 characters", s.Name)
	}
	if strings.ContainsAny(s.Description, "\r\n") || len(s.Description) > 256 {
		bad("description must be one line of at most 256 bytes")
	}
	f := function{spec: s, memoryMB: s.MemoryMB, timeout: int(s.Timeout / time.Second)}
	if f.memoryMB == 0 {
		f.memoryMB = DefaultMemoryMB
	}
	// SCF accepts 64 or 128..3072 in steps of 128, Lambda 128..10240: the common ground.
	if f.memoryMB < 128 || f.memoryMB > 3072 || f.memoryMB%128 != 0 {
		bad("memory %d MB must be a multiple of 128 between 128 and 3072", f.memoryMB)
	}
	if s.Timeout == 0 {
		f.timeout = int(DefaultTimeout / time.Second)
	}
	if s.Timeout%time.Second != 0 || f.timeout < 1 || f.timeout > 900 {
		bad("timeout %v must be whole seconds between 1s and 900s", s.Timeout)
	}
	if !s.URL && len(s.Schedules) == 0 {
		bad("has neither a URL nor a schedule, so nothing would ever invoke it")
	}

	seenEnv := map[string]bool{}
	for _, name := range commonSettings {
		seenEnv[name] = true
		f.env = append(f.env, name)
	}
	for _, name := range s.Settings {
		switch {
		case !settingName.MatchString(name):
			bad("setting %q is not an upper-case environment variable name", name)
			continue
		case hasReservedPrefix(name):
			bad("setting %q uses a prefix the clouds reserve (reserved: SCF_, QCLOUD_, TENCENTCLOUD_, AWS_, _)", name)
			continue
		}
		if seenEnv[name] {
			continue // a common setting listed again is harmless
		}
		seenEnv[name] = true
		f.env = append(f.env, name)
	}

	seenTrigger := map[string]bool{}
	for _, sc := range s.Schedules {
		r, err := resolveSchedule(sc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seenTrigger[sc.Name] {
			bad("schedule %s: listed twice", sc.Name)
			continue
		}
		seenTrigger[sc.Name] = true
		f.schedules = append(f.schedules, r)
	}
	if err := errors.Join(errs...); err != nil {
		return function{}, fmt.Errorf("function %s: %w", s.Name, err)
	}
	return f, nil
}

func hasReservedPrefix(name string) bool {
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
