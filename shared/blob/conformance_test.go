package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/wxfn/wxfn/shared/blob"
)

// conformance is the behaviour every back-end shares. presignClient fetches presigned URLs;
// nil means the back-end's URLs are not HTTP URLs and only their shape is checked.
func conformance(t *testing.T, s blob.Store, presignClient *http.Client) {
	ctx := context.Background()

	put := func(t *testing.T, key, body string) {
		t.Helper()
		if err := s.Put(ctx, key, strings.NewReader(body), int64(len(body)), "text/plain"); err != nil {
			t.Fatalf("put %q: %v", key, err)
		}
	}
	get := func(t *testing.T, key string) (string, error) {
		t.Helper()
		rc, err := s.Get(ctx, key)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	mustGet := func(t *testing.T, key, want string) {
		t.Helper()
		got, err := get(t, key)
		if err != nil {
			t.Fatalf("get %q: %v", key, err)
		}
		if got != want {
			t.Fatalf("get %q = %q, want %q", key, got, want)
		}
	}
	mustBeAbsent := func(t *testing.T, key string) {
		t.Helper()
		if _, err := get(t, key); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("get %q: %v, want ErrNotFound", key, err)
		}
	}
	keys := func(t *testing.T, prefix string) []string {
		t.Helper()
		objs, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		ks := []string{}
		for _, o := range objs {
			ks = append(ks, o.Key)
		}
		return ks
	}

	t.Run("put get replace delete", func(t *testing.T) {
		put(t, "a/one.txt", "first")
		mustGet(t, "a/one.txt", "first")
		put(t, "a/one.txt", "second, longer")
		mustGet(t, "a/one.txt", "second, longer")
		if err := s.Delete(ctx, "a/one.txt"); err != nil {
			t.Fatal(err)
		}
		mustBeAbsent(t, "a/one.txt")
		if err := s.Delete(ctx, "a/one.txt"); err != nil {
			t.Fatalf("delete of an absent object: %v", err)
		}
		mustBeAbsent(t, "never/was.txt")
	})

	t.Run("sizes", func(t *testing.T) {
		if err := s.Put(ctx, "size/empty", strings.NewReader(""), 0, ""); err != nil {
			t.Fatal(err)
		}
		mustGet(t, "size/empty", "")
		// Unknown size, from a reader that hands out one byte at a time.
		big := strings.Repeat("0123456789", 10_000)
		if err := s.Put(ctx, "size/unknown", iotest.OneByteReader(strings.NewReader(big)), -1, ""); err != nil {
			t.Fatal(err)
		}
		mustGet(t, "size/unknown", big)
		objs, err := s.List(ctx, "size/")
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 2 || objs[0].Key != "size/empty" || objs[0].Size != 0 || objs[1].Size != int64(len(big)) {
			t.Fatalf("list size/ = %+v", objs)
		}
		for _, o := range objs {
			if o.Modified.IsZero() || time.Since(o.Modified) > 24*time.Hour || o.Modified.Location() != time.UTC {
				t.Errorf("%s: Modified = %v, want a recent UTC time", o.Key, o.Modified)
			}
		}
	})

	t.Run("wrong size stores nothing", func(t *testing.T) {
		put(t, "size/kept", "original")
		for _, tc := range []struct {
			name string
			body string
			size int64
		}{
			{"reader shorter than size", "abc", 10},
			{"reader longer than size", "abcdefghij", 3},
			{"reader longer than size zero", "x", 0},
			{"negative size", "abc", -2},
		} {
			for _, key := range []string{"size/new", "size/kept"} {
				err := s.Put(ctx, key, strings.NewReader(tc.body), tc.size, "")
				if err == nil {
					t.Errorf("%s, %s: Put succeeded", tc.name, key)
				}
			}
			mustBeAbsent(t, "size/new")
			mustGet(t, "size/kept", "original")
		}
		failing := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(errors.New("disk on fire")))
		if err := s.Put(ctx, "size/kept", failing, 100, ""); err == nil {
			t.Error("Put from a failing reader succeeded")
		}
		mustGet(t, "size/kept", "original")
	})

	t.Run("list", func(t *testing.T) {
		for _, k := range []string{"bills/2024-01-02.csv", "bills/2024-01-01.csv", "bills-archive/x", "bills/sub/deep.csv", "reports/a"} {
			put(t, "list/"+k, k)
		}
		for _, tc := range []struct {
			prefix string
			want   string
		}{
			{"list/bills/", "list/bills/2024-01-01.csv list/bills/2024-01-02.csv list/bills/sub/deep.csv"},
			{"list/bills/2024-01-0", "list/bills/2024-01-01.csv list/bills/2024-01-02.csv"},
			{"list/bills", "list/bills-archive/x list/bills/2024-01-01.csv list/bills/2024-01-02.csv list/bills/sub/deep.csv"},
			{"list/nothing/", ""},
			{"list/nothing", ""},
			{"list/reports/a", "list/reports/a"},
		} {
			if got := strings.Join(keys(t, tc.prefix), " "); got != tc.want {
				t.Errorf("list %q = %q, want %q", tc.prefix, got, tc.want)
			}
		}
		all := keys(t, "")
		if len(all) < 5 || !sortedStrings(all) {
			t.Errorf("list \"\" = %q, want every key, sorted", all)
		}
	})

	t.Run("awkward keys", func(t *testing.T) {
		for _, k := range []string{"odd/with space.txt", "odd/plus+sign&amp=eq?q#frag", "odd/中文/文件.csv", "odd/pct%20.txt", "odd/.hidden", "odd/..dots"} {
			put(t, k, "body of "+k)
			mustGet(t, k, "body of "+k)
		}
		if got := strings.Join(keys(t, "odd/中文/"), " "); got != "odd/中文/文件.csv" {
			t.Errorf("list odd/中文/ = %q", got)
		}
	})

	t.Run("invalid keys change nothing", func(t *testing.T) {
		before := keys(t, "")
		for _, k := range []string{"", "/abs", "a//b", "a/", "../up", "a/../b", "./a", "a/.", "back\\slash", "nul\x00", "tab\tkey", ".wxfn-tmp-x", "a/.wxfn-presign-key", strings.Repeat("k", blob.MaxKeyLength+1), "bad\xffutf8"} {
			if err := s.Put(ctx, k, strings.NewReader("x"), 1, ""); err == nil {
				t.Errorf("Put(%q) succeeded", k)
			}
			if _, err := s.Get(ctx, k); err == nil || errors.Is(err, blob.ErrNotFound) {
				t.Errorf("Get(%q): %v, want a key error", k, err)
			}
			if err := s.Delete(ctx, k); err == nil {
				t.Errorf("Delete(%q) succeeded", k)
			}
			if _, err := s.PresignGet(ctx, k, time.Minute); err == nil {
				t.Errorf("PresignGet(%q) succeeded", k)
			}
			if _, err := s.PresignPut(ctx, k, time.Minute); err == nil {
				t.Errorf("PresignPut(%q) succeeded", k)
			}
		}
		for _, p := range []string{"/abs", "../", "a/../", "a//", "x\\"} {
			if _, err := s.List(ctx, p); err == nil {
				t.Errorf("List(%q) succeeded", p)
			}
		}
		if after := keys(t, ""); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Errorf("keys changed: %q -> %q", before, after)
		}
	})

	t.Run("presign ttl bounds", func(t *testing.T) {
		for _, ttl := range []time.Duration{0, -time.Second, blob.MaxPresignTTL + time.Second} {
			if _, err := s.PresignGet(ctx, "p/x", ttl); err == nil {
				t.Errorf("PresignGet ttl %v succeeded", ttl)
			}
			if _, err := s.PresignPut(ctx, "p/x", ttl); err == nil {
				t.Errorf("PresignPut ttl %v succeeded", ttl)
			}
		}
	})

	if presignClient != nil {
		t.Run("presigned put then get over http", func(t *testing.T) {
			for _, key := range []string{"presigned/report.csv", "presigned/with space+plus/中文.txt", "presigned/q?a=b&c#frag%2F.txt"} {
				body := "uploaded through a presigned URL: " + key
				putURL, err := s.PresignPut(ctx, key, 10*time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPut, putURL, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := presignClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("PUT %s: %s", putURL, resp.Status)
				}
				mustGet(t, key, body)

				getURL, err := s.PresignGet(ctx, key, 10*time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				resp, err = presignClient.Get(getURL)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Equal(got, []byte(body)) {
					t.Fatalf("GET %s: %s %q, want %q", getURL, resp.Status, got, body)
				}
			}
		})
	}

	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Put(cctx, "cancel/x", strings.NewReader("x"), 1, ""); err == nil {
			t.Error("Put with a cancelled context succeeded")
		}
		mustBeAbsent(t, "cancel/x")
		if _, err := s.List(cctx, ""); err == nil {
			t.Error("List with a cancelled context succeeded")
		}
	})
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}
