package events

import (
	"encoding/json"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/wxfn/wxfn/shared/fn"
)

// BenchmarkDecode measures recognising and translating each sample.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"lambda-url-post.json", "scf-url-post.json", "scf-timer.json"} {
		ev := readSample(&testing.T{}, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(ev)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Decode(ev, "id"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReference gives the scale of the machine: validating the Lambda sample, and decoding
// it into aws-lambda-go's event type as a typed aws-lambda-go handler would.
func BenchmarkReference(b *testing.B) {
	ev := readSample(&testing.T{}, "lambda-url-post.json")
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(ev)))
		for i := 0; i < b.N; i++ {
			if !json.Valid(ev) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("aws-lambda-go", func(b *testing.B) {
		b.SetBytes(int64(len(ev)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var e awsevents.LambdaFunctionURLRequest
			if err := json.Unmarshal(ev, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkProbe(b *testing.B) {
	ev := readSample(&testing.T{}, "lambda-url-post.json")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := sniff(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeResponse measures encoding a small JSON response for each cloud.
func BenchmarkEncodeResponse(b *testing.B) {
	resp := fn.JSON(200, map[string]any{"ok": true, "outTradeNo": "4200000123202608226789"})
	for _, f := range []Format{FormatLambdaURL, FormatSCFURL} {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := f.EncodeResponse(resp, "req-1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
