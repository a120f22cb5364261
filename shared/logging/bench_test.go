package logging

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkAccessLine measures one access line as the runtime writes it, to io.Discard.
func BenchmarkAccessLine(b *testing.B) {
	log := New(io.Discard, "payorder", slog.LevelInfo)
	ctx := NewContext(context.Background(), "", "7f0e6c0e-3b8e-4b7c-9d2a-5a1f8e2c4b6d")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", "POST"), slog.String("path", "/4200000123202608226789/close"),
			slog.Int("status", 200), slog.Float64("durationMs", 0.123))
	}
}
