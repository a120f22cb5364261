package fntest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/runtime"
)

// SampleEvents returns the paths of the committed sample events of a function
// (events/<function>/*.json at the module's root), sorted by name. It fails the test unless their
// file names are exactly the keys of want, so that a test and its samples stay in step.
func SampleEvents[V any](t testing.TB, function string, want map[string]V) []string {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "events", function)
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatalf("fntest: sample events: %v", err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	known := slices.Sorted(maps.Keys(want))
	if !slices.Equal(names, known) {
		t.Fatalf("fntest: %s holds %d sample events %v, the test knows %d %v: keep them in step", dir, len(names), names, len(known), known)
	}
	return paths
}

// moduleRoot is the nearest directory above the working directory (a test's package) holding
// go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("fntest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("fntest: no go.mod above the working directory")
		}
		dir = up
	}
}

// Fill gives the values of a sample event's {{name}} placeholders, by name without the braces,
// as `make invoke` fills them from the running stack. A value is computed only for an event that
// holds its placeholder, once per event, so that a fresh login code or a paid order is made only
// where one is needed.
type Fill map[string]func(t testing.TB) string

// placeholder matches what is left of a {{name}} placeholder after filling.
var placeholder = regexp.MustCompile(`\{\{[A-Za-z0-9_]+\}\}`)

// Outcome is what the runtime answered to one sample event. For an HTTP event (function URL, API
// gateway) the embedded Reply is the response: status, headers, body. For any other event (a
// timer) Status is 0, Raw is the runtime's result and Body that result decoded.
type Outcome struct {
	// Name is the event's file name.
	Name string
	// Out is the runtime's answer as the platform would receive it.
	Out []byte
	Reply
}

// Invoke reads the sample event at path, fills its placeholders (failing the test if one is left
// unfilled) and runs it through runtime.Invoke, the same event decoding as on the clouds. An
// event the runtime refuses, or a failed timer run, fails the test.
func Invoke(t testing.TB, f fn.Function, path string, fill Fill) Outcome {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fntest: %v", err)
	}
	ev := string(raw)
	for name, value := range fill {
		if p := "{{" + name + "}}"; strings.Contains(ev, p) {
			ev = strings.ReplaceAll(ev, p, value(t))
		}
	}
	name := filepath.Base(path)
	if left := placeholder.FindAllString(ev, -1); len(left) > 0 {
		t.Fatalf("fntest: %s: unfilled placeholders %v", name, left)
	}
	out, err := runtime.Invoke(context.Background(), f, []byte(ev))
	if err != nil {
		t.Fatalf("fntest: %s: %v", name, err)
	}
	return Outcome{Name: name, Out: out, Reply: outcomeReply(t, name, out)}
}

// outcomeReply decodes the runtime's answer: the platforms' HTTP responses all carry statusCode,
// headers and a body that may be base64.
func outcomeReply(t testing.TB, name string, out []byte) Reply {
	t.Helper()
	var resp struct {
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("fntest: %s: the answer is not JSON: %v: %s", name, err, out)
	}
	if resp.StatusCode == 0 {
		return replyOf(0, nil, string(out))
	}
	body := resp.Body
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			t.Fatalf("fntest: %s: body: %v", name, err)
		}
		body = string(b)
	}
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	return replyOf(resp.StatusCode, h, body)
}
