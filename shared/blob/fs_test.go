package blob_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxfn/wxfn/shared/blob"
)

func TestFSConformance(t *testing.T) {
	s, err := blob.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	conformance(t, s, nil)
}

// TestFSPresignedHTTPConformance runs the suite with presigned HTTP URLs served by the
// store's own handler, mounted under a path as a gateway would.
func TestFSPresignedHTTPConformance(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s, err := blob.Open(context.Background(), "file://"+t.TempDir()+"?base="+url.QueryEscape(srv.URL+"/_blob/"))
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/_blob/", s.(*blob.FS).Handler())
	conformance(t, s, srv.Client())
}

func TestFSOpenForms(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tc := range []struct {
		url  string
		want string
	}{
		{"file://" + filepath.Join(dir, "abs"), filepath.Join(dir, "abs")},
		{"file://localhost" + filepath.Join(dir, "local"), filepath.Join(dir, "local")},
		{"file:rel/dir", filepath.Join(dir, "rel", "dir")},
	} {
		s, err := blob.Open(context.Background(), tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if got := s.(*blob.FS).Dir(); got != tc.want {
			t.Errorf("%s: dir %s, want %s", tc.url, got, tc.want)
		}
		if fi, err := os.Stat(tc.want); err != nil || !fi.IsDir() {
			t.Errorf("%s: directory not created: %v", tc.url, err)
		}
	}
	for _, bad := range []string{
		"file://somehost/dir",
		"file:///" + dir + "?base=ftp://x/",
		"file:///" + dir + "?base=http://x/?q=1",
		"file:",
	} {
		if _, err := blob.Open(context.Background(), bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

// TestFSAtomicPut fails a write half-way and checks that the old object is intact and no
// temporary file is left behind.
func TestFSAtomicPut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := blob.NewFS(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k/v", strings.NewReader("old"), 3, ""); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("new bytes, half of them"))
		pw.CloseWithError(io.ErrClosedPipe)
	}()
	if err := s.Put(ctx, "k/v", pr, 100, ""); err == nil {
		t.Fatal("Put from a broken reader succeeded")
	}
	b, err := os.ReadFile(filepath.Join(dir, "k", "v"))
	if err != nil || string(b) != "old" {
		t.Fatalf("object after failed Put: %q, %v", b, err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "k"))
	if len(entries) != 1 {
		t.Fatalf("directory holds %v, want only the object", entries)
	}

	// Leftovers of a crash between write and rename must not show up as objects.
	if err := os.WriteFile(filepath.Join(dir, "k", ".wxfn-tmp-123"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(ctx, "")
	if err != nil || len(objs) != 1 || objs[0].Key != "k/v" {
		t.Fatalf("List = %+v, %v", objs, err)
	}
}

func TestFSStaysInsideItsDirectory(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	s, err := blob.NewFS(filepath.Join(parent, "store"), "")
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"../secret", "a/../../secret", "/" + secret} {
		if _, err := s.Get(ctx, k); err == nil {
			t.Errorf("Get(%q) succeeded", k)
		}
		if err := s.Delete(ctx, k); err == nil {
			t.Errorf("Delete(%q) succeeded", k)
		}
	}
	if _, err := os.Stat(secret); err != nil {
		t.Fatalf("file outside the store: %v", err)
	}
	// A directory of keys is not an object.
	if err := s.Put(ctx, "d/x", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "d"); err == nil {
		t.Error("Get of a directory succeeded")
	}
	if err := s.Delete(ctx, "d"); err != nil {
		t.Errorf("Delete of a directory name: %v", err)
	}
	if _, err := s.Get(ctx, "d/x"); err != nil {
		t.Errorf("Delete of the directory name removed its objects: %v", err)
	}
}

func TestFSPresignFileURL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := blob.NewFS(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "r/a b.txt", strings.NewReader("hi"), 2, ""); err != nil {
		t.Fatal(err)
	}
	for _, presign := range []func(context.Context, string, time.Duration) (string, error){s.PresignGet, s.PresignPut} {
		raw, err := presign(ctx, "r/a b.txt", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "file" {
			t.Fatalf("%q: want a file URL (%v)", raw, err)
		}
		b, err := os.ReadFile(filepath.FromSlash(u.Path))
		if err != nil || string(b) != "hi" {
			t.Fatalf("reading %s: %q, %v", u.Path, b, err)
		}
	}
}

// TestFSHandlerRefuses covers the ways a presigned URL must not work.
func TestFSHandlerRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := srv.URL + "/_blob"
	signer, err := blob.NewFS(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	// The server is a second store on the same directory, as the gateway is to a function.
	server, err := blob.NewFS(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/_blob/", server.Handler())
	if err := signer.Put(ctx, "doc/a", strings.NewReader("A"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if err := signer.Put(ctx, "doc/b", strings.NewReader("B"), 1, ""); err != nil {
		t.Fatal(err)
	}
	getA, _ := signer.PresignGet(ctx, "doc/a", time.Minute)
	putA, _ := signer.PresignPut(ctx, "doc/a", time.Minute)

	do := func(method, rawURL, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := do(http.MethodGet, getA, ""); got != http.StatusOK {
		t.Fatalf("valid GET: %d", got)
	}
	if got := do(http.MethodHead, getA, ""); got != http.StatusOK {
		t.Fatalf("HEAD with a GET URL: %d", got)
	}
	tampered := strings.Replace(getA, "doc/a", "doc/b", 1)
	sigless := strings.Split(getA, "?")[0]
	u, _ := url.Parse(getA)
	q := u.Query()
	q.Set("X-Wxfn-Expires", "99999999999")
	u.RawQuery = q.Encode()
	extended := u.String()
	for name, tc := range map[string]struct{ method, url string }{
		"GET URL for another key": {http.MethodGet, tampered},
		"unsigned":                {http.MethodGet, sigless},
		"expiry pushed back":      {http.MethodGet, extended},
		"GET URL used to PUT":     {http.MethodPut, getA},
		"PUT URL used to GET":     {http.MethodGet, putA},
		"DELETE":                  {http.MethodDelete, getA},
		"outside the mount":       {http.MethodGet, strings.Replace(getA, "/_blob/", "/_blobx/", 1)},
	} {
		if got := do(tc.method, tc.url, "evil"); got < 400 {
			t.Errorf("%s: status %d, want a refusal", name, got)
		}
	}
	// Nothing above changed an object.
	for k, want := range map[string]string{"doc/a": "A", "doc/b": "B"} {
		rc, err := server.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != want {
			t.Errorf("%s = %q, want %q", k, b, want)
		}
	}

	// Expiry: the server's clock moves past the URL's lifetime.
	blob.SetClock(server, func() time.Time { return time.Now().Add(2 * time.Minute) })
	if got := do(http.MethodGet, getA, ""); got != http.StatusForbidden {
		t.Errorf("expired GET: %d, want 403", got)
	}
	if got := do(http.MethodPut, putA, "late"); got != http.StatusForbidden {
		t.Errorf("expired PUT: %d, want 403", got)
	}

	// The key file is invisible to the store.
	objs, err := server.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if strings.Contains(o.Key, ".wxfn-") {
			t.Errorf("List shows %s", o.Key)
		}
	}
}
