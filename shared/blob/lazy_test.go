package blob

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/fn"
)

func TestLazy(t *testing.T) {
	dir := t.TempDir()
	l := NewLazy(config.Map(map[string]string{"BLOB_URL": "file://" + dir}))
	s1, err := l.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Put(context.Background(), "a/b.txt", strings.NewReader("hi"), 2, "text/plain"); err != nil {
		t.Fatal(err)
	}
	s2, _ := l.Store(context.Background())
	if s1 != s2 {
		t.Fatal("Store built a second store")
	}

	var fe *fn.Error
	_, err = NewLazy(config.Map(nil)).Store(context.Background())
	if !errors.As(err, &fe) || fe.Code != "misconfigured" || !strings.Contains(fe.Cause.Error(), "BLOB_URL") {
		t.Fatalf("missing BLOB_URL: %v", err)
	}
	_, err = NewLazy(config.Map(map[string]string{"BLOB_URL": "ftp://nope"})).Store(context.Background())
	if !errors.As(err, &fe) || fe.Code != "misconfigured" {
		t.Fatalf("bad BLOB_URL: %v", err)
	}
}
