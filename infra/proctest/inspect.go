package proctest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Modules lists the module paths linked into the Go executable bin (its main module and every
// "dep" line of `go version -m`), so that a check can prove what a binary does not contain.
func Modules(ctx context.Context, bin string) ([]string, error) {
	out, err := goOutput(ctx, "version", "-m", bin)
	if err != nil {
		return nil, fmt.Errorf("modules of %s: %w", bin, err)
	}
	var mods []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && (f[0] == "mod" || f[0] == "dep") {
			mods = append(mods, f[1])
		}
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("modules of %s: `go version -m` lists no module; not a module-built Go binary", bin)
	}
	return mods, nil
}

// Deps lists the import paths of pkg and everything it imports when built with the production
// tags plus tags: what `go list -deps` reports.
func Deps(ctx context.Context, pkg string, tags ...string) ([]string, error) {
	out, err := goOutput(ctx, "list", "-deps", "-tags", strings.Join(buildTags(tags), ","), pkg)
	if err != nil {
		return nil, fmt.Errorf("deps of %s: %w", pkg, err)
	}
	return strings.Fields(string(out)), nil
}

func goOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
