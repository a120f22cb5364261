// Package blob is wxfn's object store (DESIGN §5): one small interface — put, get, delete, list,
// presigned get and put — with three back-ends chosen by BLOB_URL:
//
//	file:///abs/dir, file:rel/dir                  a directory (local stack, tests); see FS
//	cos://BUCKET-APPID.cos.REGION.myqcloud.com     Tencent Cloud COS, over https
//	s3://BUCKET?region=R                           AWS S3 (region defaults to AWS_REGION)
//
// s3 URLs accept &endpoint=http(s)://host:port for S3-compatible stores (path-style requests);
// cos URLs accept ?endpoint=http(s)://BUCKET-APPID.cos.REGION.myqcloud.com to change the scheme
// or host the requests go to. Credentials never go in the URL: COS reads
// TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and TENCENTCLOUD_SESSIONTOKEN at each request;
// S3 reads the environment, container credentials or ~/.aws/credentials (see awsCredentials).
//
// Keys are the same on every back-end: slash-separated, relative, with no empty, "." or ".."
// segment (see ValidateKey), so that code moving between clouds and the local stack never meets
// a key one of them refuses or, worse, one that escapes the file back-end's directory.
//
// The cloud back-ends can be left out of a binary with the build tags wxfn_no_cos and
// wxfn_no_s3 (an SCF build needs no S3 client, a Lambda build no COS client); Open then refuses
// their URLs with an error saying so.
package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxfn/wxfn/shared/config"
)

// Store is an object store. Implementations are safe for concurrent use.
type Store interface {
	// Put stores the object key with the size bytes read from r, replacing any object of that
	// key. Readers see the old or the new object, never a part of one. size -1 means unknown:
	// the cloud back-ends then read the whole object into memory first, so pass the size when it
	// is known. A reader that yields more or fewer than size bytes is an error and stores nothing.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens the object key; the caller closes it. An absent object is ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the object key; an absent object is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the objects whose keys start with prefix (any string prefix, not only a
	// "directory"), sorted by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// PresignGet returns a URL that lets anyone holding it download key for ttl.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
	// PresignPut returns a URL that lets anyone holding it upload key with an HTTP PUT for ttl.
	PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Object describes one stored object.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
}

// ErrNotFound is returned (wrapped) by Get for an absent object.
var ErrNotFound = errors.New("object not found")

// MaxPresignTTL bounds presigned URLs: the longest S3 accepts, and plenty for any hand-off.
const MaxPresignTTL = 7 * 24 * time.Hour

// MaxKeyLength is S3's and COS's limit on a key's length in bytes.
const MaxKeyLength = 1024

// reservedPrefix starts the names the file back-end keeps for itself (temporary files, the
// presigning key); no key segment may start with it, on any back-end, so keys stay portable.
const reservedPrefix = ".wxfn-"

// Options configures OpenWith.
type Options struct {
	// Env supplies credentials and defaults (TENCENTCLOUD_SECRETID…, AWS_ACCESS_KEY_ID…,
	// AWS_REGION). Nil means os.LookupEnv.
	Env config.Lookup
	// HTTPClient carries the cloud back-ends' requests. Nil means a default client.
	HTTPClient *http.Client
}

// Open opens the store BLOB_URL names, with credentials from the environment. Nothing is
// contacted: an unreachable or misconfigured bucket shows on first use.
func Open(ctx context.Context, rawURL string) (Store, error) {
	return OpenWith(ctx, rawURL, Options{})
}

// OpenWith is Open with explicit options.
func OpenWith(ctx context.Context, rawURL string, opts Options) (Store, error) {
	if opts.Env == nil {
		opts.Env = os.LookupEnv
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		// url.Error quotes the URL, which holds no secret here (credentials never go in BLOB_URL).
		return nil, fmt.Errorf("blob open: %w", err)
	}
	var s Store
	switch u.Scheme {
	case "file":
		s, err = openFS(u)
	case "cos":
		s, err = openCOS(u, opts)
	case "s3":
		s, err = openS3(ctx, u, opts)
	default:
		err = fmt.Errorf("BLOB_URL %q: scheme must be file, cos or s3", rawURL)
	}
	if err != nil {
		return nil, fmt.Errorf("blob open: %w", err)
	}
	return s, nil
}

// ValidateKey reports why key is not a valid object key, or nil. A key is 1 to MaxKeyLength
// bytes of UTF-8 without control characters or backslashes, made of "/"-separated segments none
// of which is empty, ".", ".." or starts with ".wxfn-".
func ValidateKey(key string) error {
	if key == "" {
		return errors.New("key is empty")
	}
	if len(key) > MaxKeyLength {
		return fmt.Errorf("key is longer than %d bytes", MaxKeyLength)
	}
	if err := checkChars(key); err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
	}
	return nil
}

// validatePrefix accepts "" and any prefix of a valid key: its complete segments follow the key
// rules and its last, possibly partial or empty, segment has no forbidden character.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxKeyLength {
		return fmt.Errorf("prefix is longer than %d bytes", MaxKeyLength)
	}
	if err := checkChars(prefix); err != nil {
		return fmt.Errorf("prefix %q: %w", prefix, err)
	}
	segs := strings.Split(prefix, "/")
	for _, seg := range segs[:len(segs)-1] {
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("prefix %q: %w", prefix, err)
		}
	}
	return nil
}

func checkChars(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("contains %q", r)
		}
	}
	return nil
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return errors.New("empty segment (leading, trailing or double slash)")
	case seg == "." || seg == "..":
		return fmt.Errorf("%q segment", seg)
	case strings.HasPrefix(seg, reservedPrefix):
		return fmt.Errorf("segment starts with the reserved %q", reservedPrefix)
	}
	return nil
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 || ttl > MaxPresignTTL {
		return fmt.Errorf("presign ttl %v is outside (0, %v]", ttl, MaxPresignTTL)
	}
	return nil
}

// exactReader yields exactly size bytes of r, and fails rather than yield the last of them when
// r holds more, or when r ends early. Failing before the last byte means an HTTP upload is cut
// short, so the server stores nothing, instead of storing a truncated or clipped object.
type exactReader struct {
	r    io.Reader
	left int64
	size int64
	done bool // the end was reached and checked
}

var errTooLong = errors.New("reader holds more bytes than the given size")

// sourceError marks a failure of the caller's reader (or its size), as opposed to the store's:
// retrying the upload cannot help, since the reader cannot be rewound.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return "reading the object: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

func isSourceError(err error) bool {
	var se *sourceError
	return errors.As(err, &se)
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		if !e.done {
			e.done = true
			if err := e.checkEnd(); err != nil {
				return 0, err
			}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if e.left == 0 {
		e.done = true
		if err := e.checkEnd(); err != nil {
			return 0, err // withhold the final bytes
		}
		return n, io.EOF
	}
	if err == io.EOF {
		return n, &sourceError{fmt.Errorf("reader ended after %d of %d bytes: %w", e.size-e.left, e.size, io.ErrUnexpectedEOF)}
	}
	if err != nil {
		return n, &sourceError{err}
	}
	return n, nil
}

// checkEnd reads past the announced end: anything there means the size was wrong.
func (e *exactReader) checkEnd() error {
	var one [1]byte
	for range 100 {
		n, err := e.r.Read(one[:])
		switch {
		case n > 0:
			return &sourceError{errTooLong}
		case err == io.EOF:
			return nil
		case err != nil:
			return &sourceError{err}
		}
	}
	return &sourceError{io.ErrNoProgress}
}

// sized returns a reader of exactly the object's bytes and its size, reading r into memory when
// size is -1 (unknown), which the cloud back-ends need for the Content-Length of a single PUT.
func sized(r io.Reader, size int64) (io.Reader, int64, error) {
	switch {
	case size == 0:
		// A length-aware empty body, so that no client falls back to chunked encoding.
		if err := (&exactReader{r: r}).checkEnd(); err != nil {
			return nil, 0, err
		}
		return bytes.NewReader(nil), 0, nil
	case size > 0:
		return &exactReader{r: r, left: size, size: size}, size, nil
	case size == -1:
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, 0, err
		}
		return bytes.NewReader(b), int64(len(b)), nil
	}
	return nil, 0, fmt.Errorf("size %d is neither a byte count nor -1", size)
}
