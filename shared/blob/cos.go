//go:build !wxfn_no_cos

package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tencentyun/cos-go-sdk-v5"
)

// cosStore is the Tencent Cloud COS back-end.
type cosStore struct {
	client *cos.Client
	auth   *cosAuth
}

// openCOS opens cos://BUCKET-APPID.cos.REGION.myqcloud.com, reached over https. The optional
// ?endpoint=http(s)://HOST sends the requests to another scheme and host, for COS-compatible
// stores and tests; the bucket must then be in the host (virtual-host style), because the COS
// SDK drops a bucket given as a path.
func openCOS(u *url.URL, opts Options) (Store, error) {
	host := u.Host
	bucket, _, _ := strings.Cut(host, ".")
	if host == "" || !strings.Contains(bucket, "-") || (u.Path != "" && u.Path != "/") || u.User != nil {
		return nil, fmt.Errorf("BLOB_URL %q: want cos://BUCKET-APPID.cos.REGION.myqcloud.com", u.Redacted())
	}
	base := &url.URL{Scheme: "https", Host: host}
	if ep := u.Query().Get("endpoint"); ep != "" {
		e, err := url.Parse(ep)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || (e.Path != "" && e.Path != "/") {
			return nil, fmt.Errorf("BLOB_URL: endpoint %q must be an http(s) URL without path", ep)
		}
		base = &url.URL{Scheme: e.Scheme, Host: e.Host}
	}
	auth := &cosAuth{env: opts.Env, next: http.DefaultTransport}
	hc := &http.Client{Transport: auth}
	if opts.HTTPClient != nil {
		if opts.HTTPClient.Transport != nil {
			auth.next = opts.HTTPClient.Transport
		}
		hc.Timeout = opts.HTTPClient.Timeout
	}
	c := cos.NewClient(&cos.BaseURL{BucketURL: base}, hc)
	return &cosStore{client: c, auth: auth}, nil
}

// cosAuth signs each request with the credentials the environment holds at that moment: SCF
// gives a function with a role temporary TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN, so they
// are read per request rather than once.
type cosAuth struct {
	env  func(string) (string, bool)
	next http.RoundTripper
}

// signTTL is how long a request signature stays valid; requests are sent at once.
const signTTL = time.Hour

// GetCredential implements the SDK's TransportIface, through which it presigns URLs.
func (a *cosAuth) GetCredential() (id, key, token string, err error) {
	get := func(name string) string { v, _ := a.env(name); return strings.TrimSpace(v) }
	id, key, token = get("TENCENTCLOUD_SECRETID"), get("TENCENTCLOUD_SECRETKEY"), get("TENCENTCLOUD_SESSIONTOKEN")
	if id == "" || key == "" {
		return "", "", "", errors.New("cos credentials: TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY must be set (SCF sets them for a function with a role)")
	}
	return id, key, token, nil
}

// RoundTrip implements http.RoundTripper.
func (a *cosAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	id, key, token, err := a.GetCredential()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	req = req.Clone(req.Context()) // a RoundTripper must not modify its request
	cos.AddAuthorizationHeader(id, key, token, req, cos.NewAuthTime(signTTL))
	return a.next.RoundTrip(req)
}

// cosNotFound reports a 404 anywhere in err's chain (the SDK's own IsNotFoundError only looks
// at err itself).
func cosNotFound(err error) bool {
	var er *cos.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}

func (s *cosStore) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("blob put: %w", err)
	}
	body, n, err := sized(r, size)
	if err != nil {
		return fmt.Errorf("blob put %q: %w", key, err)
	}
	opt := &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{ContentType: contentType, ContentLength: n}}
	if _, err := s.client.Object.Put(ctx, key, body, opt); err != nil {
		return fmt.Errorf("blob put %q: %w", key, err)
	}
	return nil
}

func (s *cosStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, fmt.Errorf("blob get: %w", err)
	}
	resp, err := s.client.Object.Get(ctx, key, nil)
	if cosNotFound(err) {
		return nil, fmt.Errorf("blob get %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("blob get %q: %w", key, err)
	}
	return resp.Body, nil
}

func (s *cosStore) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("blob delete: %w", err)
	}
	if _, err := s.client.Object.Delete(ctx, key); err != nil && !cosNotFound(err) {
		return fmt.Errorf("blob delete %q: %w", key, err)
	}
	return nil
}

func (s *cosStore) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("blob list: %w", err)
	}
	objs := []Object{}
	opt := &cos.BucketGetOptions{Prefix: prefix, MaxKeys: 1000}
	for {
		res, _, err := s.client.Bucket.Get(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("blob list %q: %w", prefix, err)
		}
		for _, o := range res.Contents {
			obj := Object{Key: o.Key, Size: o.Size}
			if t, err := time.Parse(time.RFC3339, o.LastModified); err == nil {
				obj.Modified = t.UTC()
			}
			objs = append(objs, obj)
		}
		if !res.IsTruncated {
			return objs, nil
		}
		next := res.NextMarker
		if next == "" && len(res.Contents) > 0 {
			next = res.Contents[len(res.Contents)-1].Key
		}
		if next == "" || next == opt.Marker {
			return nil, fmt.Errorf("blob list %q: truncated listing without a next marker", prefix)
		}
		opt.Marker = next
	}
}

func (s *cosStore) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return s.presignURL(ctx, http.MethodGet, key, ttl)
}

func (s *cosStore) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return s.presignURL(ctx, http.MethodPut, key, ttl)
}

func (s *cosStore) presignURL(ctx context.Context, method, key string, ttl time.Duration) (string, error) {
	op := "blob presign " + strings.ToLower(method)
	if err := ValidateKey(key); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if err := checkTTL(ttl); err != nil {
		return "", fmt.Errorf("%s %q: %w", op, key, err)
	}
	if _, _, _, err := s.auth.GetCredential(); err != nil {
		return "", fmt.Errorf("%s %q: %w", op, key, err)
	}
	u, err := s.client.Object.GetPresignedURL2(ctx, method, key, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", op, key, err)
	}
	return u.String(), nil
}
