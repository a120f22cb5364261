package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/shared/fn"
)

// sampleTemplate is what serverless@3.40.0 compiled from testdata/sample/serverless.yml.
func sampleTemplate(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sample", TemplateFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckTemplateAcceptsCompiledSample(t *testing.T) {
	if err := CheckTemplate(sampleTemplate(t), sampleSpecs()); err != nil {
		t.Fatal(err)
	}
}

// mutate edits the sample template's resources and returns the new template.
func mutate(t *testing.T, edit func(res map[string]map[string]any)) []byte {
	t.Helper()
	var tmpl map[string]any
	if err := json.Unmarshal(sampleTemplate(t), &tmpl); err != nil {
		t.Fatal(err)
	}
	res := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		res[id] = r.(map[string]any)
	}
	edit(res)
	tmpl["Resources"] = res
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

func TestCheckTemplateFindsProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(res map[string]map[string]any)
		specs func() []fn.Spec
		want  []string
	}{
		{
			name: "second URL permission missing (serverless v3 without our resource)",
			edit: func(res map[string]map[string]any) { delete(res, "LoginLambdaPermissionFnUrlInvoke") },
			want: []string{"login: no AWS::Lambda::Permission resource LoginLambdaPermissionFnUrlInvoke"},
		},
		{
			name: "URL missing",
			edit: func(res map[string]map[string]any) { delete(res, "SubmsgLambdaFunctionUrl") },
			want: []string{"submsg: no AWS::Lambda::Url resource SubmsgLambdaFunctionUrl"},
		},
		{
			name: "permission without the URL condition",
			edit: func(res map[string]map[string]any) {
				delete(props(res["ReconcileLambdaPermissionFnUrlInvoke"]), "InvokedViaFunctionUrl")
			},
			want: []string{"reconcile: ReconcileLambdaPermissionFnUrlInvoke has no InvokedViaFunctionUrl"},
		},
		{
			name: "wrong runtime and handler",
			edit: func(res map[string]map[string]any) {
				props(res["LoginLambdaFunction"])["Runtime"] = "go1.x"
				props(res["LoginLambdaFunction"])["Handler"] = "main"
			},
			want: []string{`LoginLambdaFunction.Runtime is "go1.x", want "provided.al2023"`, `LoginLambdaFunction.Handler is "main", want "bootstrap"`},
		},
		{
			name: "schedule expression drifted",
			edit: func(res map[string]map[string]any) {
				props(res["ReconcileEventsRuleSchedule1"])["ScheduleExpression"] = "cron(30 10 * * ? *)"
			},
			want: []string{`ReconcileEventsRuleSchedule1.ScheduleExpression is "cron(30 10 * * ? *)", want "cron(30 2 * * ? *)"`},
		},
		{
			name: "schedule rule missing",
			edit: func(res map[string]map[string]any) { delete(res, "CronDashonlyEventsRuleSchedule2") },
			want: []string{"cron-only: no AWS::Events::Rule resource CronDashonlyEventsRuleSchedule2", "cron-only: 1 schedule rules, want 2"},
		},
		{
			name: "retry count drifted",
			edit: func(res map[string]map[string]any) { props(res["SubmsgLambdaEvConf"])["MaximumRetryAttempts"] = 2 },
			want: []string{"SubmsgLambdaEvConf.MaximumRetryAttempts is 2, want 0"},
		},
		{
			name: "setting missing",
			edit: func(res map[string]map[string]any) {
				env := props(res["LoginLambdaFunction"])["Environment"].(map[string]any)["Variables"].(map[string]any)
				delete(env, "WX_SECRET")
			},
			want: []string{"login: LoginLambdaFunction environment has"},
		},
		{
			name: "wrong artifact",
			edit: func(res map[string]map[string]any) {
				props(res["SubmsgLambdaFunction"])["Code"].(map[string]any)["S3Key"] = "serverless/wxfn/ci/1/login.zip"
			},
			want: []string{`submsg: SubmsgLambdaFunction.Code.S3Key is "serverless/wxfn/ci/1/login.zip"`},
		},
		{
			name:  "function the catalog no longer has",
			specs: func() []fn.Spec { return sampleSpecs()[:3] },
			want:  []string{"CronDashonlyLambdaFunction: a Lambda function that is not in the catalog"},
		},
		{
			name: "function the template lacks",
			specs: func() []fn.Spec {
				return append(sampleSpecs(), fn.Spec{Name: "payorder", URL: true})
			},
			want: []string{"payorder: no AWS::Lambda::Function resource PayorderLambdaFunction", "payorder: no AWS::Lambda::Url resource PayorderLambdaFunctionUrl"},
		},
		{
			name:  "URL the spec does not have",
			specs: func() []fn.Spec { s := sampleSpecs(); s[2].URL = false; return s },
			want:  []string{"submsg: has SubmsgLambdaFunctionUrl but the spec has no URL"},
		},
	} {
		tmpl := sampleTemplate(t)
		if tc.edit != nil {
			tmpl = mutate(t, tc.edit)
		}
		specs := sampleSpecs()
		if tc.specs != nil {
			specs = tc.specs()
		}
		err := CheckTemplate(tmpl, specs)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%v", tc.name, w, err)
			}
		}
	}
}

func TestCheckTemplateRefusesGarbage(t *testing.T) {
	for _, b := range []string{"", "{", `{"Resources":{}}`, `[]`} {
		if err := CheckTemplate([]byte(b), sampleSpecs()); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
}
