// Package paydeps keeps the WeChat Pay client among a function's per-process dependencies. It is
// its own package so that only the functions that take payments link wechatpay-go.
package paydeps

import (
	"context"

	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/wxpay"
)

type key struct{}

// Client returns the WeChat Pay client, built on first use from the WXPAY_* settings. Building it
// connects nowhere (in platform-certificate mode the certificates are downloaded on first need);
// a setting that is missing or malformed is the usual 500 "misconfigured".
func Client(ctx context.Context, d *deps.Deps) (*wxpay.Client, error) {
	c, err := deps.Extra(ctx, d, key{}, func(ctx context.Context, lookup config.Lookup) (*wxpay.Client, error) {
		cfg, err := config.LoadPay(lookup)
		if err != nil {
			return nil, err
		}
		return wxpay.New(ctx, cfg, nil)
	})
	if err != nil {
		return nil, deps.Misconfigured(err)
	}
	return c, nil
}
