package bill_test

import (
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/wxfn/wxfn/functions/reconcile/bill"
)

// blockRows is the size of the generated block that repeated bills cycle through.
const blockRows = 10_000

// parseCounting reads the whole bill from r, sampling the heap every sampleEvery rows, and
// returns the rows read and the highest HeapAlloc seen above base.
func parseCounting(tb testing.TB, r io.Reader, sampleEvery int, base uint64) (int, uint64) {
	br := bill.NewReader(r)
	var ms runtime.MemStats
	var peak uint64
	n := 0
	for {
		_, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
		if sampleEvery > 0 && n%sampleEvery == 0 {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
		}
	}
	return n, peak
}

func heapBase() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRead parses generated ALL bills of 10k, 100k and 1M rows streamed from memory (a
// 10k-row block repeated), reporting rows/s, allocations per row and the peak heap above the
// starting point, which must stay flat as the bill grows. Budget: ≥ 200,000 rows/s.
func BenchmarkRead(b *testing.B) {
	for _, rows := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			src, _ := newRepeated(blockRows, rows/blockRows, "2024-05-01")
			b.SetBytes(src.size())
			var peak uint64
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				src, _ = newRepeated(blockRows, rows/blockRows, "2024-05-01")
				base := heapBase()
				b.StartTimer()
				n, p := parseCounting(b, src, 5_000, base)
				if n != rows {
					b.Fatalf("read %d rows, want %d", n, rows)
				}
				peak = max(peak, p)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			// ns/op and B/op cover a whole bill; per row is what the budget speaks of.
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows*b.N), "ns/row")
		})
	}
}

// The reader's memory does not grow with the bill: streaming 300k rows (~100 MB) keeps the heap
// within a few MB of where it started, and no higher than for a bill a tenth the size.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 100 MB")
	}
	measure := func(blocks int) (uint64, int64) {
		src, sum := newRepeated(blockRows, blocks, "2024-05-03")
		base := heapBase()
		n, peak := parseCounting(t, src, 2_000, base)
		if int64(n) != sum.Count {
			t.Fatalf("read %d rows, want %d", n, sum.Count)
		}
		return peak, src.size()
	}
	small, _ := measure(3)
	large, size := measure(30)
	t.Logf("peak heap above start: %.1f MB for 30k rows, %.1f MB for 300k rows (%.0f MB bill)",
		float64(small)/(1<<20), float64(large)/(1<<20), float64(size)/(1<<20))
	if large > 16<<20 || large > small+8<<20 {
		t.Errorf("peak heap %d B for a %d B bill (%d B for a tenth of it): memory grows with the bill", large, size, small)
	}
}
