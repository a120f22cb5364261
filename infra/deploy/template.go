package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/wxfn/wxfn/shared/fn"
)

// TemplatePath is where scripts/package-check.sh has `serverless package` write its output,
// relative to the repository root, and the file in it that CheckTemplate reads.
const (
	PackageDir   = "build/sls-ci"
	TemplateFile = "cloudformation-template-update-stack.json"
)

type cfnTemplate struct {
	Resources map[string]cfnResource `json:"Resources"`
}

type cfnResource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

// CheckTemplate verifies the CloudFormation template that `serverless package` compiled from
// serverless.yml against the catalog: every function is there with the runtime, handler,
// architecture, size, settings and code the specs ask for; every URL function has its
// AWS::Lambda::Url and both permissions a public URL needs; every schedule has its rule with
// the expected expression and input; and no function is there that the catalog lacks. The
// error lists every problem found.
func CheckTemplate(template []byte, specs []fn.Spec) error {
	fns, err := resolve(specs)
	if err != nil {
		return err
	}
	var t cfnTemplate
	dec := json.NewDecoder(bytes.NewReader(template))
	dec.UseNumber()
	if err := dec.Decode(&t); err != nil {
		return fmt.Errorf("check template: %w", err)
	}
	if len(t.Resources) == 0 {
		return errors.New("check template: no Resources")
	}
	c := &templateCheck{t: t}
	want := map[string]bool{}
	for _, f := range fns {
		want[lambdaID(f.spec.Name)] = true
		c.function(f)
	}
	var ids []string
	for id, r := range t.Resources {
		if r.Type == "AWS::Lambda::Function" && !want[id] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		c.fail("%s: a Lambda function that is not in the catalog", id)
	}
	if len(c.problems) > 0 {
		return fmt.Errorf("check template: %d problem(s):\n  %s", len(c.problems), strings.Join(c.problems, "\n  "))
	}
	return nil
}

type templateCheck struct {
	t        cfnTemplate
	problems []string
}

func (c *templateCheck) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// resource returns the resource id of type typ, or reports why it cannot.
func (c *templateCheck) resource(fnName, id, typ string) (map[string]any, bool) {
	r, ok := c.t.Resources[id]
	if !ok {
		c.fail("%s: no %s resource %s", fnName, typ, id)
		return nil, false
	}
	if r.Type != typ {
		c.fail("%s: %s is a %s, want %s", fnName, id, r.Type, typ)
		return nil, false
	}
	return r.Properties, true
}

// expect reports a property whose value differs from want (compared as JSON).
func (c *templateCheck) expect(fnName, id string, props map[string]any, key string, want any) {
	have, ok := props[key]
	if !ok {
		c.fail("%s: %s has no %s (want %s)", fnName, id, key, jsonText(want))
		return
	}
	if jsonText(have) != jsonText(want) {
		c.fail("%s: %s.%s is %s, want %s", fnName, id, key, jsonText(have), jsonText(want))
	}
}

func (c *templateCheck) function(f function) {
	name := f.spec.Name
	lid := lambdaID(name)
	arn := map[string]any{"Fn::GetAtt": []any{lid, "Arn"}}
	if p, ok := c.resource(name, lid, "AWS::Lambda::Function"); ok {
		c.expect(name, lid, p, "Runtime", "provided.al2023")
		c.expect(name, lid, p, "Handler", AWSExecutable)
		c.expect(name, lid, p, "Architectures", []any{"x86_64"})
		c.expect(name, lid, p, "MemorySize", f.memoryMB)
		c.expect(name, lid, p, "Timeout", f.timeout)
		c.checkCode(name, lid, p)
		c.checkEnv(f, lid, p)
	}

	if f.spec.URL {
		if p, ok := c.resource(name, urlID(name), "AWS::Lambda::Url"); ok {
			c.expect(name, urlID(name), p, "AuthType", "NONE")
			c.expect(name, urlID(name), p, "TargetFunctionArn", arn)
		}
		if p, ok := c.resource(name, urlPermID(name), "AWS::Lambda::Permission"); ok {
			c.expect(name, urlPermID(name), p, "Action", "lambda:InvokeFunctionUrl")
			c.expect(name, urlPermID(name), p, "Principal", "*")
			c.expect(name, urlPermID(name), p, "FunctionUrlAuthType", "NONE")
			c.expect(name, urlPermID(name), p, "FunctionName", arn)
		}
		if p, ok := c.resource(name, invokePermID(name), "AWS::Lambda::Permission"); ok {
			c.expect(name, invokePermID(name), p, "Action", "lambda:InvokeFunction")
			c.expect(name, invokePermID(name), p, "Principal", "*")
			c.expect(name, invokePermID(name), p, "InvokedViaFunctionUrl", true)
			c.expect(name, invokePermID(name), p, "FunctionName", arn)
		}
	} else {
		for _, id := range []string{urlID(name), urlPermID(name), invokePermID(name)} {
			if _, ok := c.t.Resources[id]; ok {
				c.fail("%s: has %s but the spec has no URL", name, id)
			}
		}
	}

	for i, s := range f.schedules {
		id := ruleID(name, i)
		p, ok := c.resource(name, id, "AWS::Events::Rule")
		if !ok {
			continue
		}
		c.expect(name, id, p, "ScheduleExpression", s.eventBridge)
		c.expect(name, id, p, "State", "ENABLED")
		targets, _ := p["Targets"].([]any)
		if len(targets) != 1 {
			c.fail("%s: %s has %d targets, want 1", name, id, len(targets))
			continue
		}
		target, _ := targets[0].(map[string]any)
		c.expect(name, id+".Targets[0]", target, "Arn", arn)
		c.expect(name, id+".Targets[0]", target, "InputTransformer", map[string]any{
			"InputPathsMap": map[string]any{"time": "$.time", "id": "$.id"},
			"InputTemplate": fmt.Sprintf(`{"%s":"%s","time":<time>,"id":<id>}`, ScheduleInputKey, s.name),
		})
	}
	if rules := c.count(LogicalID(name) + "EventsRuleSchedule"); rules != len(f.schedules) {
		c.fail("%s: %d schedule rules, want %d", name, rules, len(f.schedules))
	}
	if n, ok := f.retryAttempts(); ok {
		id := LogicalID(name) + "LambdaEvConf"
		if p, ok := c.resource(name, id, "AWS::Lambda::EventInvokeConfig"); ok {
			c.expect(name, id, p, "MaximumRetryAttempts", n)
		}
	}
}

// checkCode verifies that the function's code is its own prebuilt zip.
func (c *templateCheck) checkCode(name, id string, p map[string]any) {
	code, _ := p["Code"].(map[string]any)
	key, _ := code["S3Key"].(string)
	if !strings.HasSuffix(key, "/"+name+".zip") {
		c.fail("%s: %s.Code.S3Key is %q, want the artifact %s", name, id, key, AWSArtifact(name))
	}
}

// checkEnv verifies that the function gets exactly the settings it reads.
func (c *templateCheck) checkEnv(f function, id string, p map[string]any) {
	envBlock, _ := p["Environment"].(map[string]any)
	vars, _ := envBlock["Variables"].(map[string]any)
	var have []string
	for k := range vars {
		have = append(have, k)
	}
	sort.Strings(have)
	want := slices.Clone(f.env)
	sort.Strings(want)
	if !reflect.DeepEqual(have, want) {
		c.fail("%s: %s environment has %v, want %v", f.spec.Name, id, have, want)
	}
}

func (c *templateCheck) count(prefix string) int {
	n := 0
	for id := range c.t.Resources {
		if strings.HasPrefix(id, prefix) {
			n++
		}
	}
	return n
}

// jsonText renders v canonically for comparison and messages (json.Number and int compare
// equal when they print the same).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
