package deploy

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/functions"
)

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

// TestCommittedConfigsMatchCatalog is the drift check: serverless.yml, infra/scf/*/serverless.yml
// and infra/scf/.env.example must be exactly what the generator makes of functions.Specs().
func TestCommittedConfigsMatchCatalog(t *testing.T) {
	files, err := Files(functions.Specs())
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Diff(repoRoot, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("deployment configs are out of date; run: go run ./infra/deploy/cmd/wxfn-deploy\n  %s", strings.Join(problems, "\n  "))
	}
}

// TestCommittedConfigsAreValid reads the committed configs back as YAML and checks their
// structure against the catalog: every function present, runtime and handler right, a function
// URL trigger for URL functions, a 7-field cron for each SCF timer, settings as references.
func TestCommittedConfigsAreValid(t *testing.T) {
	specs := functions.Specs()
	b, err := os.ReadFile(filepath.Join(repoRoot, AWSConfigPath))
	if err != nil {
		t.Fatal(err)
	}
	checkAWSConfig(t, b, specs)
	for _, s := range specs {
		b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(SCFConfigPath(s.Name))))
		if err != nil {
			t.Error(err)
			continue
		}
		checkSCFConfig(t, b, s)
	}
}

// TestCatalogMatchesCommands: scripts/build.sh builds functions/*/cmd, the configs come from the
// catalog; a function in one but not the other would deploy without code or never deploy.
func TestCatalogMatchesCommands(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(repoRoot, "functions", "*", "cmd", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var built []string
	for _, d := range dirs {
		built = append(built, filepath.Base(filepath.Dir(filepath.Dir(d))))
	}
	var listed []string
	for _, s := range functions.Specs() {
		listed = append(listed, s.Name)
	}
	sort.Strings(built)
	sort.Strings(listed)
	if strings.Join(built, " ") != strings.Join(listed, " ") {
		t.Errorf("functions/*/cmd has %v, functions.Specs() has %v", built, listed)
	}
}

// TestPackagedTemplate checks the template scripts/package-check.sh had serverless compile; it
// is skipped unless WXFN_CFN_TEMPLATE names that file.
func TestPackagedTemplate(t *testing.T) {
	path := os.Getenv("WXFN_CFN_TEMPLATE")
	if path == "" {
		t.Skip("WXFN_CFN_TEMPLATE not set; scripts/package-check.sh sets it")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckTemplate(b, functions.Specs()); err != nil {
		t.Fatal(err)
	}
}
