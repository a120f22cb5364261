//go:build wxfn_no_cos && wxfn_no_s3

package blob_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/shared/blob"
)

// TestBuiltWithoutCloudBackEnds checks that a binary built with wxfn_no_cos and wxfn_no_s3
// refuses their URLs and says why.
func TestBuiltWithoutCloudBackEnds(t *testing.T) {
	for _, raw := range []string{"cos://b-1250000000.cos.ap-guangzhou.myqcloud.com", "s3://bucket?region=ap-east-1"} {
		_, err := blob.Open(context.Background(), raw)
		if err == nil || !strings.Contains(err.Error(), "built without") {
			t.Errorf("Open(%q): %v, want a built-without error", raw, err)
		}
	}
}
