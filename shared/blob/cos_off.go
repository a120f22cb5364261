//go:build wxfn_no_cos

package blob

import (
	"errors"
	"net/url"
)

func openCOS(*url.URL, Options) (Store, error) {
	return nil, errors.New("this binary was built without the COS back-end (build tag wxfn_no_cos)")
}
