package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/shared/config"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestContextAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "login", slog.LevelInfo)

	log.Info("outside a request")
	ctx := NewContext(context.Background(), "", "req-1")
	log.InfoContext(ctx, "inside", "k", "v")
	ctx2 := With(ctx, slog.String("openid", "o-123"))
	log.InfoContext(ctx2, "after with")
	log.InfoContext(ctx, "parent unchanged")
	// A context naming another function (the gateway serves several) wins.
	log.InfoContext(NewContext(context.Background(), "payorder", "req-2"), "other function")
	log.DebugContext(ctx, "below the level")

	got := lines(t, &buf)
	if len(got) != 5 {
		t.Fatalf("got %d lines, want 5: %s", len(got), buf.String())
	}
	want := []map[string]any{
		{"msg": "outside a request", "function": "login"},
		{"msg": "inside", "function": "login", "requestId": "req-1", "k": "v"},
		{"msg": "after with", "function": "login", "requestId": "req-1", "openid": "o-123"},
		{"msg": "parent unchanged", "function": "login", "requestId": "req-1"},
		{"msg": "other function", "function": "payorder", "requestId": "req-2"},
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v (line %v)", i, k, got[i][k], v, got[i])
			}
		}
	}
	if _, ok := got[0]["requestId"]; ok {
		t.Errorf("a line outside a request has a request id: %v", got[0])
	}
	if _, ok := got[3]["openid"]; ok {
		t.Errorf("With changed its parent context: %v", got[3])
	}
	if RequestID(ctx2) != "req-1" || RequestID(context.Background()) != "" || Function(NewContext(ctx, "f", "")) != "f" {
		t.Errorf("RequestID/Function accessors disagree")
	}
}

func TestRedaction(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "login", slog.LevelInfo)
	log.Info("careless", "Authorization", "Bearer abc", "cookie", "s=1", "session_key", "k", "body", `{"code":"x"}`, "openid", "o-1")
	got := lines(t, &buf)[0]
	for _, k := range []string{"Authorization", "cookie", "session_key", "body"} {
		if got[k] != Redacted {
			t.Errorf("%s = %v, want redacted", k, got[k])
		}
	}
	if got["openid"] != "o-1" {
		t.Errorf("openid = %v, want it kept", got["openid"])
	}
	if strings.Contains(buf.String(), "abc") {
		t.Errorf("secret leaked: %s", buf.String())
	}
}

func TestNewHandlerDoesNotWrapTwice(t *testing.T) {
	var buf bytes.Buffer
	h := New(&buf, "login", slog.LevelInfo).Handler()
	if NewHandler(h, "other") != h {
		t.Fatal("NewHandler wrapped a Handler again")
	}
	slog.New(NewHandler(h, "other")).InfoContext(NewContext(context.Background(), "", "r"), "once")
	if n := strings.Count(buf.String(), `"requestId"`); n != 1 {
		t.Errorf("requestId appears %d times: %s", n, buf.String())
	}
}

func TestSetupLevel(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	Setup(&buf, "submsg", config.Map(map[string]string{"LOG_LEVEL": "warn"}))
	slog.Info("hidden")
	slog.WarnContext(NewContext(context.Background(), "", "r-9"), "shown")
	got := lines(t, &buf)
	if len(got) != 1 || got[0]["msg"] != "shown" || got[0]["function"] != "submsg" || got[0]["requestId"] != "r-9" {
		t.Errorf("got %v", got)
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13812345678", "138****5678"},
		{"+8613812345678", "+86138****5678"},
		{"008613812345678", "0086138****5678"},
		{"02012345678", "020****5678"},
		{"87654321", "****4321"},
		{"1234567", "****"},
		{"", "****"},
		{"+86", "****"},
	}
	for _, tt := range tests {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
