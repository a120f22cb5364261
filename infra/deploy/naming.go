package deploy

import (
	"strconv"
	"strings"
)

// LogicalID is the CloudFormation logical-id stem Serverless Framework v3 derives from a
// function name (naming.getNormalizedFunctionName in lib/plugins/aws/lib/naming.js of
// serverless@3.40.0): "-" becomes "Dash", "_" becomes "Underscore", and the first letter is
// upper-cased. The function's resources are then <stem>LambdaFunction, <stem>LambdaFunctionUrl,
// <stem>LambdaPermissionFnUrl and <stem>EventsRuleSchedule<N>.
func LogicalID(name string) string {
	s := strings.ReplaceAll(name, "-", "Dash")
	s = strings.ReplaceAll(s, "_", "Underscore")
	if s == "" {
		return s
	}
	// lodash upperFirst upper-cases one UTF-16 unit; function names are ASCII (see fnName).
	return strings.ToUpper(s[:1]) + s[1:]
}

// Logical ids of the resources Serverless Framework v3 compiles for a function, and of the one
// permission the generator adds itself.
func lambdaID(name string) string     { return LogicalID(name) + "LambdaFunction" }
func urlID(name string) string        { return LogicalID(name) + "LambdaFunctionUrl" }
func urlPermID(name string) string    { return LogicalID(name) + "LambdaPermissionFnUrl" }
func invokePermID(name string) string { return LogicalID(name) + "LambdaPermissionFnUrlInvoke" }
func ruleID(name string, i int) string {
	return LogicalID(name) + "EventsRuleSchedule" + strconv.Itoa(i+1)
}
