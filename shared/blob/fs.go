package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FS is the file back-end: each object is a file under one directory, its key the file's path
// relative to that directory. It serves the local stack and tests, with no cloud SDK linked.
//
// Writes are atomic: Put writes a temporary file next to the target (named ".wxfn-tmp-…",
// invisible to List) and renames it over the target. Content types are not kept.
//
// Because keys are paths, one key cannot be both an object and a directory: after Put("a")
// a Put("a/b") fails, unlike on COS and S3. Keep keys of one kind at one depth, as wxfn does.
//
// Presigned URLs take one of two forms. By default they are file:// URLs of the object's path,
// for local tools; the ttl is checked but not enforced. When the store is opened with
// ?base=http://host/path (BLOB_URL=file:///dir?base=http://127.0.0.1:8080/_blob), they are
// HTTP URLs under base, signed with HMAC-SHA256 and expiring after ttl, which the handler from
// Handler, mounted at base, serves (GET, HEAD and PUT). The signing key is 32 random bytes kept
// in the directory (".wxfn-presign-key"), so every process opening the directory — the function
// that signs and the gateway that serves — agrees on it.
type FS struct {
	root string   // absolute and clean
	base *url.URL // where Handler is mounted, or nil for file:// URLs
	now  func() time.Time

	keyMu sync.Mutex
	key   []byte // the presigning key, read or created on first use
}

// openFS opens file:///abs/dir, file://localhost/abs/dir or file:rel/dir, with an optional
// ?base= for presigned HTTP URLs.
func openFS(u *url.URL) (*FS, error) {
	dir := u.Path
	switch {
	case u.Opaque != "":
		dir = u.Opaque // file:rel/dir
	case u.Host != "" && u.Host != "localhost":
		return nil, fmt.Errorf("BLOB_URL %q: a file URL names a local directory: file:///abs/dir or file:rel/dir", u.Redacted())
	}
	return NewFS(dir, u.Query().Get("base"))
}

// NewFS opens the directory dir (created if missing) as a store. presignBase, when not empty, is
// the http or https URL where the store's Handler is served; see FS.
func NewFS(dir, presignBase string) (*FS, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, errors.New("file store: directory is empty")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	s := &FS{root: root, now: time.Now}
	if presignBase != "" {
		b, err := url.Parse(presignBase)
		if err != nil || (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" || b.RawQuery != "" {
			return nil, fmt.Errorf("file store: base %q must be an http(s) URL without query", presignBase)
		}
		b.Path = strings.TrimSuffix(b.Path, "/")
		b.RawPath = ""
		s.base = b
	}
	return s, nil
}

// Dir is the directory holding the objects.
func (s *FS) Dir() string { return s.root }

// path maps a valid key into the directory. Validation already rules out escaping it; the check
// here keeps that true whatever the validation becomes.
func (s *FS) path(key string) (string, error) {
	p := filepath.Join(s.root, filepath.FromSlash(key))
	if rel, err := filepath.Rel(s.root, p); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("key %q leaves the store's directory", key)
	}
	return p, nil
}

// Put implements Store.
func (s *FS) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := s.put(ctx, key, r, size); err != nil {
		return fmt.Errorf("blob put %q: %w", key, err)
	}
	return nil
}

func (s *FS) put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if size < -1 {
		return fmt.Errorf("size %d is neither a byte count nor -1", size)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), reservedPrefix+"tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	src := r
	if size >= 0 {
		src = &exactReader{r: r, left: size, size: size}
	}
	if _, err = io.Copy(f, src); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = ctx.Err(); err != nil {
		return err // the caller gave up: do not replace the object after all
	}
	return os.Rename(f.Name(), p)
}

// notFound reports whether err means there is no file at a path, including when a parent
// "directory" is a file.
func notFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Get implements Store.
func (s *FS) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, err := s.open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("blob get %q: %w", key, err)
	}
	return f, nil
}

func (s *FS) open(ctx context.Context, key string) (*os.File, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if notFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, err
		}
		return nil, ErrNotFound // a directory of other keys, not an object
	}
	return f, nil
}

// Delete implements Store. Directories left empty are kept; they cost nothing and removing them
// would race with a concurrent Put below them.
func (s *FS) Delete(ctx context.Context, key string) error {
	if err := s.delete(ctx, key); err != nil {
		return fmt.Errorf("blob delete %q: %w", key, err)
	}
	return nil
}

func (s *FS) delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.path(key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if notFound(err) || (err == nil && fi.IsDir()) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !notFound(err) {
		return err
	}
	return nil
}

// List implements Store.
func (s *FS) List(ctx context.Context, prefix string) ([]Object, error) {
	objs, err := s.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("blob list %q: %w", prefix, err)
	}
	return objs, nil
}

func (s *FS) list(ctx context.Context, prefix string) ([]Object, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	// Walk only the directory the prefix's complete segments name.
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	objs := []Object{}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && notFound(err) {
				return fs.SkipAll // nothing under this prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), reservedPrefix) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if notFound(err) {
			return nil // deleted while listing
		}
		if err != nil {
			return err
		}
		objs = append(objs, Object{Key: key, Size: fi.Size(), Modified: fi.ModTime().UTC()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// WalkDir orders names within each directory, which is not key order ("a/b" > "a-b").
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return objs, nil
}
