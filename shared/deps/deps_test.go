package deps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/store"
)

type closer struct{ closed *int }

func (c closer) Close() { *c.closed++ }

func TestExtraBuildsOnceAndRetriesFailures(t *testing.T) {
	d := New(config.Map(map[string]string{"X": "1"}))
	builds, closed := 0, 0
	fail := true
	build := func(_ context.Context, lookup config.Lookup) (closer, error) {
		builds++
		if v, _ := lookup("X"); v != "1" {
			t.Errorf("build saw X=%q", v)
		}
		if fail {
			return closer{}, errors.New("not yet")
		}
		return closer{&closed}, nil
	}
	type key struct{}
	if _, err := Extra(context.Background(), d, key{}, build); err == nil {
		t.Fatal("a failed build was not reported")
	}
	fail = false
	for range 3 {
		if _, err := Extra(context.Background(), d, key{}, build); err != nil {
			t.Fatal(err)
		}
	}
	if builds != 2 {
		t.Fatalf("built %d times, want 2 (one failure, then once)", builds)
	}
	d.Close(context.Background())
	if closed != 1 {
		t.Fatalf("closed %d times, want 1", closed)
	}
}

// Missing settings are a 500 that names the variable only in the cause, which is logged.
func TestMisconfigured(t *testing.T) {
	d := New(config.Map(nil))
	for name, get := range map[string]func() error{
		"sessions": func() error { _, err := d.Sessions(); return err },
		"seal":     func() error { _, err := d.Seal(); return err },
		"admin":    func() error { _, err := d.AdminKeys(); return err },
		"mini":     func() error { _, err := d.MiniProgram(); return err },
		"db":       func() error { _, err := d.DB(context.Background()); return err },
	} {
		var fe *fn.Error
		err := get()
		if !errors.As(err, &fe) || fe.Status != 500 || fe.Code != "misconfigured" || !strings.Contains(fe.Cause.Error(), "missing setting") {
			t.Errorf("%s: %v", name, err)
		}
		if strings.Contains(fe.Message, "_") {
			t.Errorf("%s: the client message names a variable: %q", name, fe.Message)
		}
	}
}

func TestDBError(t *testing.T) {
	client := &fn.Error{Status: 404, Code: "not_found", Message: "no such order"}
	plain := errors.New("decode failed")
	cases := []struct {
		name   string
		err    error
		status int // 0: returned unchanged
	}{
		{"nil", nil, 0},
		{"client error", fmt.Errorf("orders get: %w", client), 0},
		{"busy record", fmt.Errorf("orders lock: %w", store.ErrBusy), 503},
		{"deadline", fmt.Errorf("orders get: %w", context.DeadlineExceeded), 503},
		{"other", plain, 0},
	}
	for _, c := range cases {
		got := DBError(c.err)
		var fe *fn.Error
		switch {
		case c.status == 0 && got != c.err:
			t.Errorf("%s: %v, want it unchanged", c.name, got)
		case c.status != 0 && (!errors.As(got, &fe) || fe.Status != c.status || !fe.Retryable || fe.Code != "database_unavailable"):
			t.Errorf("%s: %v, want a retryable %d", c.name, got, c.status)
		}
	}
}
