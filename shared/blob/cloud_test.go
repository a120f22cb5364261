//go:build !wxfn_no_s3 && !wxfn_no_cos

package blob_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/wxfn/wxfn/shared/blob"
	"github.com/wxfn/wxfn/shared/config"
)

// recorder keeps the Authorization headers the fake received, to check that requests were signed
// with the configured credentials (gofakes3 accepts any signature).
type recorder struct {
	mu   sync.Mutex
	auth []string
	tok  []string
}

func (r *recorder) wrap(h http.Handler, tokenHeader string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.tok = append(r.tok, req.Header.Get(tokenHeader))
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

func (r *recorder) check(t *testing.T, wantAuth, wantToken string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var signed int
	for i, a := range r.auth {
		if a == "" {
			continue // presigned requests carry their signature in the query
		}
		signed++
		if !strings.Contains(a, wantAuth) {
			t.Fatalf("request %d signed with %q, want it to contain %q", i, a, wantAuth)
		}
		if r.tok[i] != wantToken {
			t.Fatalf("request %d: session token %q, want %q", i, r.tok[i], wantToken)
		}
	}
	if signed == 0 {
		t.Fatal("no signed request reached the fake")
	}
}

func newFake(t *testing.T, bucket string, opts ...gofakes3.Option) (*gofakes3.GoFakeS3, *s3mem.Backend) {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	return gofakes3.New(be, opts...), be
}

func TestS3Conformance(t *testing.T) {
	fake, _ := newFake(t, "wxfn-test")
	var rec recorder
	srv := httptest.NewServer(rec.wrap(fake.Server(), "X-Amz-Security-Token"))
	defer srv.Close()

	env := config.Map(map[string]string{
		"AWS_ACCESS_KEY_ID":     "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN":     "session-token-1",
	})
	s, err := blob.OpenWith(context.Background(), "s3://wxfn-test?region=ap-east-1&endpoint="+url.QueryEscape(srv.URL),
		blob.Options{Env: env, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	conformance(t, s, srv.Client())
	rec.check(t, "Credential=AKIDEXAMPLE/", "session-token-1")

	t.Run("presigned url shape", func(t *testing.T) {
		raw, err := s.PresignGet(context.Background(), "bills/a b.csv", 15*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if u.Path != "/wxfn-test/bills/a b.csv" || q.Get("X-Amz-Expires") != "900" ||
			!strings.HasPrefix(q.Get("X-Amz-Credential"), "AKIDEXAMPLE/") || q.Get("X-Amz-Signature") == "" ||
			q.Get("X-Amz-Security-Token") != "session-token-1" || q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
			t.Fatalf("presigned URL %s", raw)
		}
	})
}

// TestCOSConformance reaches gofakes3 through COS's virtual-host bucket URL: the client's
// dialer sends every connection to the fake, which takes the bucket from the host name.
func TestCOSConformance(t *testing.T) {
	const host = "wxfn-1250000000.cos.ap-guangzhou.myqcloud.com"
	fake, _ := newFake(t, "wxfn-1250000000", gofakes3.WithHostBucketBase("cos.ap-guangzhou.myqcloud.com"))
	var rec recorder
	srv := httptest.NewServer(rec.wrap(fake.Server(), "X-Cos-Security-Token"))
	defer srv.Close()

	client := loopbackClient(srv.Listener.Addr().String())
	env := config.Map(map[string]string{
		"TENCENTCLOUD_SECRETID":     "AKIDcosexample",
		"TENCENTCLOUD_SECRETKEY":    "cos-secret-key",
		"TENCENTCLOUD_SESSIONTOKEN": "cos-token-1",
	})
	s, err := blob.OpenWith(context.Background(), "cos://"+host+"?endpoint=http://"+host, blob.Options{Env: env, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	// gofakes3 does not send COS's x-cos-hash-crc64ecma, which the SDK checks after uploads.
	blob.DisableCOSCRC(s)
	conformance(t, s, client)
	rec.check(t, "q-ak=AKIDcosexample", "cos-token-1")

	t.Run("presigned url shape", func(t *testing.T) {
		raw, err := s.PresignPut(context.Background(), "bills/a.csv", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		start, end, _ := strings.Cut(q.Get("q-sign-time"), ";")
		if u.Host != host || u.Path != "/bills/a.csv" || q.Get("q-ak") != "AKIDcosexample" || q.Get("q-sign-algorithm") != "sha1" ||
			q.Get("q-signature") == "" || q.Get("x-cos-security-token") != "cos-token-1" || len(end) != len(start) || end <= start {
			t.Fatalf("presigned URL %s", raw)
		}
	})

	t.Run("missing credentials", func(t *testing.T) {
		s, err := blob.OpenWith(context.Background(), "cos://"+host+"?endpoint=http://"+host, blob.Options{Env: config.Map(nil), HTTPClient: client})
		if err != nil {
			t.Fatal(err)
		}
		before := len(rec.auth)
		if err := s.Put(context.Background(), "x", strings.NewReader("x"), 1, ""); err == nil || !strings.Contains(err.Error(), "TENCENTCLOUD_SECRETID") {
			t.Fatalf("Put without credentials: %v", err)
		}
		if _, err := s.PresignGet(context.Background(), "x", time.Minute); err == nil {
			t.Fatal("PresignGet without credentials succeeded")
		}
		if len(rec.auth) != before {
			t.Fatal("a request without credentials reached the server")
		}
	})
}

// loopbackClient is a plain net/http client whose connections all go to addr, whatever the URL's
// host: the stand-in for DNS pointing COS's host names at the fake.
func loopbackClient(addr string) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func TestS3RegionFromEnvironment(t *testing.T) {
	// Lambda sets AWS_REGION; the URL need not repeat it.
	if _, err := blob.OpenWith(context.Background(), "s3://bucket", blob.Options{Env: config.Map(map[string]string{"AWS_REGION": "ap-east-1"})}); err != nil {
		t.Errorf("s3 with AWS_REGION: %v", err)
	}
}
