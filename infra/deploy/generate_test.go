package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wxfn/wxfn/shared/fn"
)

func TestLogicalID(t *testing.T) {
	// Expected values follow serverless@3.40.0 naming.getNormalizedFunctionName.
	for in, want := range map[string]string{
		"login":     "Login",
		"pay-order": "PayDashorder",
		"a_b":       "AUnderscoreb",
		"x":         "X",
		"shop2":     "Shop2",
	} {
		if got := LogicalID(in); got != want {
			t.Errorf("LogicalID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSchedules(t *testing.T) {
	for _, tc := range []struct {
		spec       fn.ScheduleSpec
		eventBrige string
		scf        string
	}{
		{fn.ScheduleSpec{Name: "drain", Every: time.Minute}, "rate(1 minute)", "0 * * * * * *"},
		{fn.ScheduleSpec{Name: "m5", Every: 5 * time.Minute}, "rate(5 minutes)", "0 */5 * * * * *"},
		{fn.ScheduleSpec{Name: "m30", Every: 30 * time.Minute}, "rate(30 minutes)", "0 */30 * * * * *"},
		{fn.ScheduleSpec{Name: "h1", Every: time.Hour}, "rate(1 hour)", "0 0 * * * * *"},
		{fn.ScheduleSpec{Name: "h6", Every: 6 * time.Hour}, "rate(6 hours)", "0 0 */6 * * * *"},
		// 10:30 in Shanghai is 02:30 UTC; SCF's cron is written in UTC+8.
		{fn.ScheduleSpec{Name: "daily", Daily: "10:30"}, "cron(30 2 * * ? *)", "0 30 10 * * * *"},
		// 03:05 in Shanghai is 19:05 UTC the day before.
		{fn.ScheduleSpec{Name: "early", Daily: "03:05"}, "cron(5 19 * * ? *)", "0 5 3 * * * *"},
	} {
		s, err := resolveSchedule(tc.spec)
		if err != nil {
			t.Errorf("%s: %v", tc.spec.Name, err)
			continue
		}
		if s.eventBridge != tc.eventBrige || s.scfCron != tc.scf {
			t.Errorf("%s: got %q / %q, want %q / %q", tc.spec.Name, s.eventBridge, s.scfCron, tc.eventBrige, tc.scf)
		}
		if n := len(strings.Fields(s.scfCron)); n != 7 {
			t.Errorf("%s: SCF cron %q has %d fields, want 7", tc.spec.Name, s.scfCron, n)
		}
	}
}

func TestScheduleRefused(t *testing.T) {
	for _, tc := range []struct {
		spec fn.ScheduleSpec
		want string
	}{
		{fn.ScheduleSpec{Name: "odd", Every: 7 * time.Minute}, "must divide an hour"},
		{fn.ScheduleSpec{Name: "long", Every: 90 * time.Minute}, "must divide an hour"},
		{fn.ScheduleSpec{Name: "day", Every: 24 * time.Hour}, "use Daily"},
		{fn.ScheduleSpec{Name: "sub", Every: 90 * time.Second}, "whole number of minutes"},
		{fn.ScheduleSpec{Name: "both", Every: time.Minute, Daily: "10:00"}, "both Every and Daily"},
		{fn.ScheduleSpec{Name: "none"}, "neither"},
		{fn.ScheduleSpec{Name: "neg", Every: -time.Minute}, "neither"},
		{fn.ScheduleSpec{Name: "bad", Daily: "25:00"}, "daily time"},
		{fn.ScheduleSpec{Name: "1st", Every: time.Minute}, "must start with a letter"},
		{fn.ScheduleSpec{Name: "a b", Every: time.Minute}, "must start with a letter"},
	} {
		_, err := resolveSchedule(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.spec, err, tc.want)
		}
	}
}

func TestValidateRefusesBadSpecs(t *testing.T) {
	ok := fn.Spec{Name: "ok", URL: true}
	for _, tc := range []struct {
		name string
		spec fn.Spec
		want string
	}{
		{"upper-case name", fn.Spec{Name: "Login", URL: true}, "name"},
		{"underscore name", fn.Spec{Name: "pay_order", URL: true}, "name"},
		{"long name", fn.Spec{Name: strings.Repeat("a", 33), URL: true}, "name"},
		{"odd memory", fn.Spec{Name: "x", URL: true, MemoryMB: 200}, "memory"},
		{"huge memory", fn.Spec{Name: "x", URL: true, MemoryMB: 4096}, "memory"},
		{"sub-second timeout", fn.Spec{Name: "x", URL: true, Timeout: 1500 * time.Millisecond}, "timeout"},
		{"long timeout", fn.Spec{Name: "x", URL: true, Timeout: time.Hour}, "timeout"},
		{"no trigger", fn.Spec{Name: "x"}, "neither a URL nor a schedule"},
		{"reserved setting", fn.Spec{Name: "x", URL: true, Settings: []string{"SCF_RUNTIME"}}, "reserved"},
		{"aws setting", fn.Spec{Name: "x", URL: true, Settings: []string{"AWS_REGION"}}, "reserved"},
		{"lower-case setting", fn.Spec{Name: "x", URL: true, Settings: []string{"mongo"}}, "environment variable name"},
		{"two-line description", fn.Spec{Name: "x", URL: true, Description: "a\nb"}, "description"},
		{"duplicate trigger", fn.Spec{Name: "x", Schedules: []fn.ScheduleSpec{{Name: "t", Every: time.Minute}, {Name: "t", Every: time.Hour}}}, "listed twice"},
	} {
		err := Validate([]fn.Spec{ok, tc.spec})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if _, err := Files([]fn.Spec{ok, tc.spec}); err == nil {
			t.Errorf("%s: Files accepted an invalid catalog", tc.name)
		}
	}
	if err := Validate([]fn.Spec{ok, ok}); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("duplicate function: error %v", err)
	}
	if err := Validate(nil); err == nil {
		t.Error("an empty catalog was accepted")
	}
	if err := Validate(sampleSpecs()); err != nil {
		t.Errorf("sample catalog refused: %v", err)
	}
}

// TestSettingsDeduplicated: a common setting listed again in Spec.Settings appears once.
func TestSettingsDeduplicated(t *testing.T) {
	fns, err := resolve([]fn.Spec{{Name: "x", URL: true, Settings: []string{"LOG_LEVEL", "WX_APPID", "WX_APPID"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"LOG_LEVEL", "WX_APPID"}; !reflect.DeepEqual(fns[0].env, want) {
		t.Errorf("env = %v, want %v", fns[0].env, want)
	}
}

// awsConfig is the part of serverless.yml the tests read back.
type awsConfig struct {
	Service          string `yaml:"service"`
	FrameworkVersion string `yaml:"frameworkVersion"`
	Provider         struct {
		Name         string `yaml:"name"`
		Runtime      string `yaml:"runtime"`
		Architecture string `yaml:"architecture"`
	} `yaml:"provider"`
	Package struct {
		Individually bool `yaml:"individually"`
	} `yaml:"package"`
	Functions map[string]struct {
		Handler string `yaml:"handler"`
		Package struct {
			Artifact string `yaml:"artifact"`
		} `yaml:"package"`
		MemorySize           int               `yaml:"memorySize"`
		Timeout              int               `yaml:"timeout"`
		URL                  bool              `yaml:"url"`
		MaximumRetryAttempts *int              `yaml:"maximumRetryAttempts"`
		Environment          map[string]string `yaml:"environment"`
		Events               []struct {
			Schedule struct {
				Rate             string `yaml:"rate"`
				InputTransformer struct {
					InputPathsMap map[string]string `yaml:"inputPathsMap"`
					InputTemplate string            `yaml:"inputTemplate"`
				} `yaml:"inputTransformer"`
			} `yaml:"schedule"`
		} `yaml:"events"`
	} `yaml:"functions"`
	Resources struct {
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	} `yaml:"resources"`
}

// checkAWSConfig parses serverless.yml and checks it against the specs.
func checkAWSConfig(t *testing.T, b []byte, specs []fn.Spec) {
	t.Helper()
	var c awsConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("serverless.yml does not parse: %v", err)
	}
	if c.Service != Service || c.FrameworkVersion != "3" || c.Provider.Name != "aws" ||
		c.Provider.Runtime != "provided.al2023" || c.Provider.Architecture != "x86_64" || !c.Package.Individually {
		t.Errorf("serverless.yml header: %+v %+v", c.Provider, c.Package)
	}
	fns, err := resolve(specs)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Functions) != len(fns) {
		t.Errorf("serverless.yml has %d functions, want %d", len(c.Functions), len(fns))
	}
	for _, f := range fns {
		name := f.spec.Name
		got, ok := c.Functions[name]
		if !ok {
			t.Errorf("%s: missing from serverless.yml", name)
			continue
		}
		if got.Handler != "bootstrap" || got.Package.Artifact != AWSArtifact(name) ||
			got.MemorySize != f.memoryMB || got.Timeout != f.timeout || got.URL != f.spec.URL {
			t.Errorf("%s: %+v", name, got)
		}
		var keys []string
		for k, v := range got.Environment {
			keys = append(keys, k)
			// Values are deploy-time references, never literals.
			if v != fmt.Sprintf("${env:%s, ''}", k) {
				t.Errorf("%s: environment %s = %q is not an env reference", name, k, v)
			}
		}
		if !sameSet(keys, f.env) {
			t.Errorf("%s: environment %v, want %v", name, keys, f.env)
		}
		if n, ok := f.retryAttempts(); ok != (got.MaximumRetryAttempts != nil) || ok && *got.MaximumRetryAttempts != n {
			t.Errorf("%s: maximumRetryAttempts %v, want %d (%v)", name, got.MaximumRetryAttempts, n, ok)
		}
		if len(got.Events) != len(f.schedules) {
			t.Errorf("%s: %d events, want %d", name, len(got.Events), len(f.schedules))
			continue
		}
		for i, s := range f.schedules {
			ev := got.Events[i].Schedule
			if ev.Rate != s.eventBridge {
				t.Errorf("%s/%s: rate %q, want %q", name, s.name, ev.Rate, s.eventBridge)
			}
			checkScheduleInput(t, name, s.name, ev.InputTransformer.InputPathsMap, ev.InputTransformer.InputTemplate)
		}
		perm, ok := c.Resources.Resources[invokePermID(name)]
		if ok != f.spec.URL {
			t.Errorf("%s: URL %v but extra invoke permission present %v", name, f.spec.URL, ok)
		}
		if ok {
			want := map[string]any{
				"FunctionName":          map[string]any{"Fn::GetAtt": []any{lambdaID(name), "Arn"}},
				"Action":                "lambda:InvokeFunction",
				"Principal":             "*",
				"InvokedViaFunctionUrl": true,
			}
			if perm.Type != "AWS::Lambda::Permission" || !reflect.DeepEqual(perm.Properties, want) {
				t.Errorf("%s: invoke permission %+v", name, perm)
			}
		}
	}
}

// checkScheduleInput fills the input template the way EventBridge does and checks that the
// runtime gets valid JSON naming the trigger, with the firing time and event id.
func checkScheduleInput(t *testing.T, fnName, trigger string, paths map[string]string, tmpl string) {
	t.Helper()
	if !reflect.DeepEqual(paths, map[string]string{"time": "$.time", "id": "$.id"}) {
		t.Errorf("%s/%s: inputPathsMap %v", fnName, trigger, paths)
	}
	filled := strings.NewReplacer("<time>", `"2026-03-01T02:30:00Z"`, "<id>", `"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"`).Replace(tmpl)
	var in map[string]string
	if err := json.Unmarshal([]byte(filled), &in); err != nil {
		t.Errorf("%s/%s: input %s is not JSON: %v", fnName, trigger, filled, err)
		return
	}
	want := map[string]string{ScheduleInputKey: trigger, "time": "2026-03-01T02:30:00Z", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("%s/%s: input %v, want %v", fnName, trigger, in, want)
	}
}

// scfConfig is the component config the tests read back.
type scfConfig struct {
	App       string `yaml:"app"`
	Component string `yaml:"component"`
	Name      string `yaml:"name"`
	Stage     string `yaml:"stage"`
	Inputs    struct {
		Name string `yaml:"name"`
		Src  struct {
			Src string `yaml:"src"`
		} `yaml:"src"`
		Type        string `yaml:"type"`
		Runtime     string `yaml:"runtime"`
		Handler     string `yaml:"handler"`
		Region      string `yaml:"region"`
		MemorySize  int    `yaml:"memorySize"`
		Timeout     int    `yaml:"timeout"`
		RetryNum    *int   `yaml:"retryNum"`
		Environment struct {
			Variables map[string]string `yaml:"variables"`
		} `yaml:"environment"`
		Events []map[string]struct {
			Name       string         `yaml:"name"`
			Parameters map[string]any `yaml:"parameters"`
		} `yaml:"events"`
	} `yaml:"inputs"`
}

// checkSCFConfig parses one infra/scf/NAME/serverless.yml and checks it against its spec.
func checkSCFConfig(t *testing.T, b []byte, spec fn.Spec) {
	t.Helper()
	fns, err := resolve([]fn.Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	f := fns[0]
	name := spec.Name
	var c scfConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: SCF config does not parse: %v", name, err)
	}
	if c.App != Service || c.Component != "scf" || c.Name != name {
		t.Errorf("%s: app/component/name = %q/%q/%q", name, c.App, c.Component, c.Name)
	}
	in := c.Inputs
	if in.Runtime != "Go1" || in.Handler != "main" || in.Type != "event" {
		t.Errorf("%s: runtime/handler/type = %q/%q/%q, want Go1/main/event", name, in.Runtime, in.Handler, in.Type)
	}
	if in.Name != "${app}-${stage}-${name}" || in.Region != "${env:SCF_REGION}" {
		t.Errorf("%s: function name %q, region %q", name, in.Name, in.Region)
	}
	// The code directory, resolved from the config's own directory, is build/scf/NAME.
	if got := filepath.ToSlash(filepath.Join(filepath.Dir(SCFConfigPath(name)), in.Src.Src)); got != SCFCodeDir(name) {
		t.Errorf("%s: src resolves to %s, want %s", name, got, SCFCodeDir(name))
	}
	if in.MemorySize != f.memoryMB || in.Timeout != f.timeout {
		t.Errorf("%s: memory %d timeout %d, want %d %d", name, in.MemorySize, in.Timeout, f.memoryMB, f.timeout)
	}
	if n, ok := f.retryAttempts(); ok != (in.RetryNum != nil) || ok && *in.RetryNum != n {
		t.Errorf("%s: retryNum %v, want %d (%v)", name, in.RetryNum, n, ok)
	}
	var keys []string
	for k, v := range in.Environment.Variables {
		keys = append(keys, k)
		if v != "${env:"+k+"}" {
			t.Errorf("%s: variable %s = %q is not an env reference", name, k, v)
		}
	}
	if !sameSet(keys, f.env) {
		t.Errorf("%s: variables %v, want %v", name, keys, f.env)
	}

	var https, timers int
	for _, ev := range in.Events {
		if len(ev) != 1 {
			t.Errorf("%s: event %v has %d keys", name, ev, len(ev))
		}
		for typ, e := range ev {
			switch typ {
			case "http":
				https++
				want := map[string]any{
					"netConfig": map[string]any{"enableIntranet": false, "enableExtranet": true},
					"qualifier": "$DEFAULT",
					"authType":  "NONE",
				}
				if !reflect.DeepEqual(e.Parameters, want) {
					t.Errorf("%s: http parameters %v", name, e.Parameters)
				}
			case "timer":
				if timers >= len(f.schedules) {
					t.Errorf("%s: more timers than schedules", name)
					continue
				}
				s := f.schedules[timers]
				timers++
				cron, _ := e.Parameters["cronExpression"].(string)
				if e.Name != s.name || e.Parameters["name"] != s.name || cron != s.scfCron ||
					e.Parameters["enable"] != true || e.Parameters["qualifier"] != "$DEFAULT" {
					t.Errorf("%s: timer %+v, want %s %q", name, e, s.name, s.scfCron)
				}
				if n := len(strings.Fields(cron)); n != 7 {
					t.Errorf("%s/%s: SCF cron %q has %d fields, want 7", name, s.name, cron, n)
				}
			default:
				t.Errorf("%s: unexpected event type %s", name, typ)
			}
		}
	}
	if want := map[bool]int{true: 1}[spec.URL]; https != want {
		t.Errorf("%s: %d http triggers, want %d", name, https, want)
	}
	if timers != len(f.schedules) {
		t.Errorf("%s: %d timers, want %d", name, timers, len(f.schedules))
	}
}

func TestGeneratedConfigsParse(t *testing.T) {
	specs := sampleSpecs()
	files, err := Files(specs)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(specs)+2 {
		t.Errorf("%d files, want %d", len(files), len(specs)+2)
	}
	checkAWSConfig(t, files[AWSConfigPath], specs)
	for _, s := range specs {
		checkSCFConfig(t, files[SCFConfigPath(s.Name)], s)
	}
	env := string(files[SCFEnvExamplePath])
	for _, k := range []string{"TENCENT_SECRET_ID=", "TENCENT_SECRET_KEY=", "SCF_REGION=", "SCF_ROLE=", "BLOB_URL=", "WX_SECRET=", "LOG_LEVEL="} {
		if !strings.Contains(env, "\n"+k+"\n") {
			t.Errorf(".env.example lacks %s", k)
		}
	}
	for _, l := range strings.Split(env, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasSuffix(l, "=") {
			t.Errorf(".env.example line %q carries a value", l)
		}
	}
}

// TestDescriptionQuoting: a description with YAML-special characters survives a round trip.
func TestDescriptionQuoting(t *testing.T) {
	desc := `It's "quoted": #not-a-comment, {flow} & [list] *alias ${env:X}`
	spec := fn.Spec{Name: "x", URL: true, Description: desc}
	for _, render := range []func() ([]byte, error){
		func() ([]byte, error) { return AWS([]fn.Spec{spec}) },
		func() ([]byte, error) { return SCF(spec) },
	} {
		b, err := render()
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Functions map[string]struct {
				Description string `yaml:"description"`
			} `yaml:"functions"`
			Inputs struct {
				Description string `yaml:"description"`
			} `yaml:"inputs"`
		}
		if err := yaml.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		got := v.Inputs.Description
		if f, ok := v.Functions["x"]; ok {
			got = f.Description
		}
		if got != desc {
			t.Errorf("description = %q, want %q", got, desc)
		}
	}
}

func TestDiffAndWrite(t *testing.T) {
	root := t.TempDir()
	files, err := Files(sampleSpecs())
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Diff(root, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != len(files) {
		t.Errorf("empty tree: %d problems, want %d missing files: %v", len(problems), len(files), problems)
	}
	changed, err := Write(root, files)
	if err != nil || len(changed) != len(files) {
		t.Fatalf("Write: %v, changed %v", err, changed)
	}
	if problems, err := Diff(root, files); err != nil || len(problems) != 0 {
		t.Fatalf("after Write: %v %v", problems, err)
	}
	if changed, err := Write(root, files); err != nil || len(changed) != 0 {
		t.Errorf("second Write changed %v (%v), want nothing", changed, err)
	}

	// A hand edit is reported with its line.
	p := filepath.Join(root, "infra", "scf", "login", "serverless.yml")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), "memorySize: 128", "memorySize: 256", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A generated config of a function that left the catalog is stale; a hand-written one is
	// reported but never removed.
	gone := filepath.Join(root, "infra", "scf", "gone")
	if err := os.MkdirAll(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gone, "serverless.yml"), []byte(generatedMarker+"x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err = Diff(root, files)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(problems, "\n")
	if len(problems) != 2 || !strings.Contains(joined, `have "  memorySize: 256", want "  memorySize: 128"`) ||
		!strings.Contains(joined, "infra/scf/gone/serverless.yml: no function of that name") {
		t.Errorf("problems: %v", problems)
	}
	if _, err := Write(root, files); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("stale generated config dir still there: %v", err)
	}
	if problems, _ := Diff(root, files); len(problems) != 0 {
		t.Errorf("after repair: %v", problems)
	}

	handMade := filepath.Join(root, "infra", "scf", "mine")
	if err := os.MkdirAll(handMade, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(handMade, "serverless.yml"), []byte("component: scf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(root, files); err == nil || !strings.Contains(err.Error(), "not generated") {
		t.Errorf("Write over a hand-written config: %v", err)
	}
	if _, err := os.Stat(filepath.Join(handMade, "serverless.yml")); err != nil {
		t.Errorf("hand-written config removed: %v", err)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
