package proctest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BuildTimeout bounds one `go build`. It is generous because a cold build of a function and its
// dependencies on a busy shared machine can take minutes.
const BuildTimeout = 10 * time.Minute

// ProductionTag is the build tag every function binary is built with: it drops aws-lambda-go's
// go1.x net/rpc server, which would otherwise claim _LAMBDA_SERVER_PORT before scf-go-lib.
const ProductionTag = "lambda.norpc"

// Compile builds the package pkg into the executable out exactly as production does:
// CGO_ENABLED=0, -trimpath, -ldflags=-s -w and -tags lambda.norpc plus tags, for the host's
// GOOS/GOARCH (the binary has to run here). pkg is an import path or a path relative to the
// current directory; a package under a testdata directory must be named by path.
func Compile(ctx context.Context, out, pkg string, tags ...string) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-tags", strings.Join(buildTags(tags), ","), "-o", out, pkg}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	// A killed `go build` may leave compiler children holding the pipe; do not wait for them forever.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("compile %s: go %s: %w\n%s", pkg, strings.Join(args, " "), err, strings.TrimSpace(output.String()))
	}
	return nil
}

func buildTags(extra []string) []string {
	tags := []string{ProductionTag}
	for _, t := range extra {
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// Build compiles pkg (see Compile) once per test binary and returns the executable's path; later
// calls with the same package and tags, from any test, reuse it. A failed build fails t, and every
// later test asking for the same build fails with the same error without rebuilding.
//
// The executable is named after the package ("login" for .../functions/login/cmd), so the
// harness's default function name matches. Call RemoveBuilds from TestMain to delete the builds
// when the tests end; builds left by test binaries that have exited are removed by the next Build.
func Build(t testing.TB, pkg string, tags ...string) string {
	t.Helper()
	bin, err := builds.get(pkg, tags)
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	return bin
}

// RemoveBuilds deletes every executable Build made in this process. Later Build calls rebuild.
func RemoveBuilds() error {
	return builds.remove()
}

// builds is the per-process build cache: lazily created, shared by all tests of one test binary.
var builds buildCache

type buildCache struct {
	mu      sync.Mutex
	dir     string
	entries map[string]*buildEntry
}

type buildEntry struct {
	once sync.Once
	bin  string
	err  error
}

func (c *buildCache) get(pkg string, tags []string) (string, error) {
	// A relative package path means the same package only from the same directory.
	abs := pkg
	if strings.HasPrefix(pkg, ".") || filepath.IsAbs(pkg) {
		var err error
		if abs, err = filepath.Abs(pkg); err != nil {
			return "", fmt.Errorf("build %s: %w", pkg, err)
		}
	}
	key := abs + "\x00" + strings.Join(buildTags(tags), ",")

	c.mu.Lock()
	if c.dir == "" {
		dir, err := newBuildDir()
		if err != nil {
			c.mu.Unlock()
			return "", fmt.Errorf("build %s: %w", pkg, err)
		}
		c.dir = dir
		c.entries = map[string]*buildEntry{}
	}
	e := c.entries[key]
	if e == nil {
		e = &buildEntry{}
		c.entries[key] = e
	}
	dir := c.dir
	c.mu.Unlock()

	e.once.Do(func() {
		sum := sha256.Sum256([]byte(key))
		sub := filepath.Join(dir, hex.EncodeToString(sum[:6]))
		if e.err = os.MkdirAll(sub, 0o755); e.err != nil {
			return
		}
		bin := filepath.Join(sub, binaryName(pkg))
		ctx, cancel := context.WithTimeout(context.Background(), BuildTimeout)
		defer cancel()
		if e.err = Compile(ctx, bin, pkg, tags...); e.err == nil {
			e.bin = bin
		}
	})
	return e.bin, e.err
}

func (c *buildCache) remove() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir == "" {
		return nil
	}
	err := os.RemoveAll(c.dir)
	c.dir, c.entries = "", nil
	if err != nil {
		return fmt.Errorf("remove builds: %w", err)
	}
	return nil
}

// binaryName names the executable after the package: the last path element, or the one before
// it for the functions/NAME/cmd convention.
func binaryName(pkg string) string {
	p := strings.TrimRight(filepath.ToSlash(pkg), "/")
	name := path.Base(p)
	if name == "cmd" || name == "." || name == "" {
		name = path.Base(path.Dir(p))
	}
	if name == "." || name == "/" || name == "" {
		name = "function"
	}
	return name
}

// buildRoot holds one directory per test process, named "<pid>-<random>", so that the builds of
// a process that died without RemoveBuilds can be recognised and removed later.
func buildRoot() string {
	return filepath.Join(os.TempDir(), "wxfn-proctest")
}

func newBuildDir() (string, error) {
	root := buildRoot()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("build dir: %w", err)
	}
	sweepBuildDirs(root)
	dir, err := os.MkdirTemp(root, strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return "", fmt.Errorf("build dir: %w", err)
	}
	return dir, nil
}

// sweepBuildDirs removes the build directories of processes that no longer run. Failures are
// ignored: the sweep only keeps the temp dir from growing and another process may race us.
func sweepBuildDirs(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		pidText, _, ok := strings.Cut(e.Name(), "-")
		if !ok || !e.IsDir() {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(root, e.Name()))
	}
}
