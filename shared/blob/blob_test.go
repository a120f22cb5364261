package blob_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wxfn/wxfn/shared/blob"
	"github.com/wxfn/wxfn/shared/config"
)

func TestValidateKey(t *testing.T) {
	for _, k := range []string{"a", "a/b/c.csv", "bills/2024-01-01.csv", "x/.hidden", "x/..a", "中文/文件", "a b/c+d", strings.Repeat("k", blob.MaxKeyLength)} {
		if err := blob.ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", k, err)
		}
	}
	for _, k := range []string{"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a", "a\\b", "a\x00", "a\nb", "a\x7f", ".wxfn-tmp-1", "x/.wxfn-presign-key", "\xff", strings.Repeat("k", blob.MaxKeyLength+1)} {
		if err := blob.ValidateKey(k); err == nil {
			t.Errorf("ValidateKey(%q) = nil, want an error", k)
		}
	}
}

func TestOpenRefusesBadURLs(t *testing.T) {
	env := config.Map(map[string]string{})
	for _, raw := range []string{
		"",
		"ftp://bucket",
		"s3://",
		"s3://bucket",                  // no region anywhere
		"s3://bucket/prefix?region=r1", // paths are not supported
		"s3://bucket?region=r1&endpoint=ftp://x",
		"cos://",
		"cos://nodash.cos.ap-guangzhou.myqcloud.com",
		"cos://b-1250000000.cos.ap-guangzhou.myqcloud.com/path",
		"cos://b-1250000000.cos.ap-guangzhou.myqcloud.com?endpoint=http://h/with/path",
		"::not a url",
	} {
		if _, err := blob.OpenWith(context.Background(), raw, blob.Options{Env: env}); err == nil {
			t.Errorf("Open(%q) succeeded", raw)
		} else if !strings.HasPrefix(err.Error(), "blob open: ") {
			t.Errorf("Open(%q): %v, want a blob open error", raw, err)
		}
	}
}
