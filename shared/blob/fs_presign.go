package blob

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Query parameters of the file back-end's presigned HTTP URLs.
const (
	fsExpiresParam   = "X-Wxfn-Expires"
	fsSignatureParam = "X-Wxfn-Signature"
)

// maxHandlerPut bounds an upload through Handler: S3's limit for a single PUT.
const maxHandlerPut = 5 << 30

// PresignGet implements Store; see FS for the URL forms.
func (s *FS) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	u, err := s.presign(http.MethodGet, key, ttl)
	if err != nil {
		return "", fmt.Errorf("blob presign get %q: %w", key, err)
	}
	return u, nil
}

// PresignPut implements Store; see FS for the URL forms.
func (s *FS) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	u, err := s.presign(http.MethodPut, key, ttl)
	if err != nil {
		return "", fmt.Errorf("blob presign put %q: %w", key, err)
	}
	return u, nil
}

func (s *FS) presign(method, key string, ttl time.Duration) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	p, err := s.path(key)
	if err != nil {
		return "", err
	}
	if s.base == nil {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String(), nil
	}
	k, err := s.signingKey()
	if err != nil {
		return "", err
	}
	expires := strconv.FormatInt(s.now().Add(ttl).Unix(), 10)
	u := *s.base
	u.Path = s.base.Path + "/" + key
	u.RawQuery = url.Values{
		fsExpiresParam:   {expires},
		fsSignatureParam: {fsSign(k, method, key, expires)},
	}.Encode()
	return u.String(), nil
}

// fsSign binds a URL to its method, key and expiry.
func fsSign(k []byte, method, key, expires string) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(method + "\n" + key + "\n" + expires))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// signingKey reads the directory's presigning key, creating it on first use. A new key is
// written to a temporary file and linked into place, so a concurrent reader never sees a partial
// one and, of two processes creating it at once, one wins and both use its key.
func (s *FS) signingKey() ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	p := filepath.Join(s.root, reservedPrefix+"presign-key")
	for range 2 {
		b, err := os.ReadFile(p)
		if err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("presigning key %s: %d bytes, want 32", p, len(b))
			}
			s.key = b
			return b, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("presigning key: %w", err)
		}
		if err := createKey(p); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("presigning key: created but unreadable")
}

func createKey(p string) error {
	k := make([]byte, 32)
	rand.Read(k)
	f, err := os.CreateTemp(filepath.Dir(p), reservedPrefix+"tmp-*")
	if err != nil {
		return fmt.Errorf("presigning key: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(k); err != nil {
		f.Close()
		return fmt.Errorf("presigning key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("presigning key: %w", err)
	}
	if err := os.Link(f.Name(), p); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("presigning key: %w", err)
	}
	return nil
}

// Handler serves the store's presigned HTTP URLs: GET and HEAD download an object, PUT uploads
// one (the Content-Length, when sent, must match the body). It answers 403 to a URL that is
// unsigned, signed for another key or method, or expired. Mount it at the base the store was
// opened with, without http.StripPrefix: it reads the key from the full path, after base's path
// (mux.Handle("/_blob/", s.Handler()) for base http://127.0.0.1:8080/_blob).
func (s *FS) Handler() http.Handler {
	return http.HandlerFunc(s.serve)
}

func (s *FS) serve(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Path
	if s.base != nil {
		k, ok := strings.CutPrefix(key, s.base.Path+"/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		key = k
	} else {
		key = strings.TrimPrefix(key, "/")
	}
	if err := ValidateKey(key); err != nil {
		http.Error(w, "bad object key", http.StatusBadRequest)
		return
	}
	method := r.Method
	switch method {
	case http.MethodHead:
		method = http.MethodGet // a GET URL may be used for HEAD, as on S3
	case http.MethodGet, http.MethodPut:
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !s.verify(method, key, r.URL.Query()) {
		http.Error(w, "missing, invalid or expired signature", http.StatusForbidden)
		return
	}

	if method == http.MethodPut {
		body := http.MaxBytesReader(w, r.Body, maxHandlerPut)
		if err := s.Put(r.Context(), key, body, r.ContentLength, r.Header.Get("Content-Type")); err != nil {
			var tooBig *http.MaxBytesError
			if isSourceError(err) || errors.As(err, &tooBig) {
				http.Error(w, "upload failed: the body was cut short or longer than announced", http.StatusBadRequest)
				return
			}
			http.Error(w, "upload failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}

	f, err := s.open(r.Context(), key)
	if errors.Is(err, ErrNotFound) {
		http.Error(w, "no such object", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "cannot read object", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "cannot read object", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, key, fi.ModTime(), f)
}

func (s *FS) verify(method, key string, q url.Values) bool {
	expires, sig := q.Get(fsExpiresParam), q.Get(fsSignatureParam)
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || sig == "" || s.now().Unix() > exp {
		return false
	}
	k, err := s.signingKey()
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(fsSign(k, method, key, expires)))
}
