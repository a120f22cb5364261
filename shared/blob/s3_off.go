//go:build wxfn_no_s3

package blob

import (
	"context"
	"errors"
	"net/url"
)

func openS3(context.Context, *url.URL, Options) (Store, error) {
	return nil, errors.New("this binary was built without the S3 back-end (build tag wxfn_no_s3)")
}
