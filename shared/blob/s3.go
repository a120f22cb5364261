//go:build !wxfn_no_s3

package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3Store is the AWS S3 back-end (and any S3-compatible store, through endpoint=).
type s3Store struct {
	bucket  string
	client  *s3.Client
	presign *s3.PresignClient
}

// openS3 opens s3://BUCKET?region=R[&endpoint=URL]. The region falls back to AWS_REGION and
// AWS_DEFAULT_REGION (Lambda sets the former). With an endpoint, requests use path-style
// addressing (http://host/BUCKET/KEY), which S3-compatible stores expect.
func openS3(_ context.Context, u *url.URL, opts Options) (Store, error) {
	bucket := u.Host
	if bucket == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return nil, fmt.Errorf("BLOB_URL %q: want s3://BUCKET?region=REGION", u.Redacted())
	}
	q := u.Query()
	region := q.Get("region")
	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if region == "" {
			region, _ = opts.Env(name)
		}
	}
	if region == "" {
		return nil, fmt.Errorf("BLOB_URL %q: no region (add ?region=REGION or set AWS_REGION)", u.Redacted())
	}
	o := s3.Options{
		Region:      region,
		Credentials: aws.NewCredentialsCache(newAWSCredentials(opts)),
		// PutObject does not require a checksum; computing one by default would make the SDK
		// send aws-chunked bodies with a trailer, which S3-compatible stores and plain-HTTP
		// endpoints do not all accept. TLS guards the bytes in transit.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if ep := q.Get("endpoint"); ep != "" {
		e, err := url.Parse(ep)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return nil, fmt.Errorf("BLOB_URL: endpoint %q must be an http(s) URL", ep)
		}
		o.BaseEndpoint = aws.String(strings.TrimSuffix(ep, "/"))
		o.UsePathStyle = true
	}
	if opts.HTTPClient != nil {
		o.HTTPClient = opts.HTTPClient
	}
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		// An upload that failed reading the caller's stream cannot be resent (the stream is
		// spent); say so at once instead of backing off to find out.
		so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if isSourceError(err) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, so.Retryables...)
	})
	c := s3.New(o)
	return &s3Store{bucket: bucket, client: c, presign: s3.NewPresignClient(c)}, nil
}

// unsignedPayload signs an upload without hashing its body first, so that a body that cannot be
// rewound (a stream) can be sent; S3 then relies on TLS for the body's integrity.
var unsignedPayload = s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)

func (s *s3Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("blob put: %w", err)
	}
	body, n, err := sized(r, size)
	if err != nil {
		return fmt.Errorf("blob put %q: %w", key, err)
	}
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: body, ContentLength: &n}
	if contentType != "" {
		in.ContentType = &contentType
	}
	if _, err := s.client.PutObject(ctx, in, unsignedPayload); err != nil {
		return fmt.Errorf("blob put %q: %w", key, err)
	}
	return nil
}

func s3NotFound(err error) bool {
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}

func (s *s3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, fmt.Errorf("blob get: %w", err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if s3NotFound(err) {
		return nil, fmt.Errorf("blob get %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("blob get %q: %w", key, err)
	}
	return out.Body, nil
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("blob delete: %w", err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil && !s3NotFound(err) {
		return fmt.Errorf("blob delete %q: %w", key, err)
	}
	return nil
}

func (s *s3Store) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("blob list: %w", err)
	}
	objs := []Object{}
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket}
	if prefix != "" {
		in.Prefix = &prefix
	}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("blob list %q: %w", prefix, err)
		}
		for _, o := range page.Contents {
			obj := Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)}
			if o.LastModified != nil {
				obj.Modified = o.LastModified.UTC()
			}
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

func (s *s3Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", fmt.Errorf("blob presign get: %w", err)
	}
	if err := checkTTL(ttl); err != nil {
		return "", fmt.Errorf("blob presign get %q: %w", key, err)
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("blob presign get %q: %w", key, err)
	}
	return req.URL, nil
}

func (s *s3Store) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", fmt.Errorf("blob presign put: %w", err)
	}
	if err := checkTTL(ttl); err != nil {
		return "", fmt.Errorf("blob presign put %q: %w", key, err)
	}
	req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("blob presign put %q: %w", key, err)
	}
	return req.URL, nil
}
