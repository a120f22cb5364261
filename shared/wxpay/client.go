// Package wxpay is wxfn's WeChat Pay (APIv3) client for a direct merchant taking mini-program
// (JSAPI) payments: prepay with the wx.requestPayment parameters, query and close orders,
// refunds, the trade bill, and verified, decrypted notifications. It is built on
// wechatpay-go's core client (request signing, response verification) and fills the SDK's gaps
// (bills, refund notifications) with plain wire structs, one file per message family.
//
// The SDK talks only to https://api.mch.weixin.qq.com; the client sends those requests to
// WXPAY_API_BASE instead (the emulator, locally) by rewriting the URL in its transport, after the
// SDK has signed the original path. An emulator mounted under a path prefix must therefore
// verify signatures against the path without that prefix.
//
// Verification modes (config.Pay): WeChat Pay public key (nothing is fetched, ever), platform
// certificates (downloaded from /v3/certificates on first need — the first API call or the first
// notification that names a certificate — then kept and refreshed daily by the SDK's downloader
// manager; an unknown serial triggers at most one refresh a minute), or both during the switch
// from one to the other.
package wxpay

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"

	"github.com/wxfn/wxfn/shared/config"
)

// realHost is the host the SDK builds every URL with.
const realHost = "api.mch.weixin.qq.com"

// Client is a WeChat Pay merchant client. It is safe for concurrent use; build one per process.
type Client struct {
	mchID     string
	appID     string
	notifyURL string
	now       func() time.Time

	api *core.Client // signs requests, verifies responses
	raw *core.Client // signs requests, verifies nothing: bill downloads only

	// Notification verification.
	pubKeyID string
	verifier auth.Verifier // public key, certificates or both, as configured
	certs    *platformCerts
	aead     cipher.AEAD // AES-256-GCM with the APIv3 key
	base     *url.URL    // WXPAY_API_BASE
}

// Option adjusts a Client.
type Option func(*Client)

// WithClock replaces time.Now for the notification freshness window and the paySign timestamp,
// so tests can stand exactly 299 or 301 seconds from a signature.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// New builds a client for cfg. hc carries the requests (nil: a client with connection, TLS and
// response-header timeouts but no overall limit, so that a large bill can stream; bound each
// call with its context); New wraps its transport to send the SDK's requests to cfg.APIBase.
// New connects nowhere, in either mode: platform certificates are downloaded on first need.
// Call Close when done with a client in platform-certificate mode (tests; a process simply
// exits).
func New(ctx context.Context, cfg config.Pay, hc *http.Client, opts ...Option) (*Client, error) {
	if cfg.MchID == "" || cfg.AppID == "" || cfg.CertSerial == "" || cfg.PrivateKey == nil {
		return nil, fmt.Errorf("wxpay: incomplete configuration (mchid, appid, certificate serial and private key are required)")
	}
	if cfg.PublicKey == nil && !cfg.PlatformCerts {
		return nil, fmt.Errorf("wxpay: neither a WeChat Pay public key nor platform certificates are configured")
	}
	if cfg.PublicKey != nil && cfg.PublicKeyID == "" {
		return nil, fmt.Errorf("wxpay: a WeChat Pay public key needs its ID")
	}
	block, err := aes.NewCipher([]byte(cfg.APIv3Key))
	if err != nil || len(cfg.APIv3Key) != 32 {
		return nil, fmt.Errorf("wxpay: the APIv3 key must be 32 bytes")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("wxpay: %w", err)
	}
	base, err := url.Parse(strings.TrimRight(cfgBase(cfg), "/"))
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("wxpay: API base is not an absolute URL")
	}

	c := &Client{
		mchID:     cfg.MchID,
		appID:     cfg.AppID,
		notifyURL: cfg.NotifyURL,
		now:       time.Now,
		pubKeyID:  cfg.PublicKeyID,
		aead:      aead,
		base:      base,
	}
	for _, o := range opts {
		o(c)
	}

	httpc := redirecting(hc, base)
	c.raw, err = core.NewClient(ctx,
		option.WithMerchantCredential(cfg.MchID, cfg.CertSerial, cfg.PrivateKey),
		option.WithoutValidator(),
		option.WithHTTPClient(httpc))
	if err != nil {
		return nil, fmt.Errorf("wxpay: %w", err)
	}

	var apiOpt core.ClientOption
	switch {
	case !cfg.PlatformCerts:
		// Public-key mode: no download, ever. Requests carry Wechatpay-Serial: PUB_KEY_ID_… so
		// that responses are signed with the public key.
		apiOpt = option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.CertSerial, cfg.PrivateKey, cfg.PublicKeyID, cfg.PublicKey)
		c.verifier = verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PublicKeyID, *cfg.PublicKey)
	default:
		// Our own manager, not the SDK's process singleton (which would download with its own
		// http.Client from the real host at once): it stays empty until platformCerts.ensure
		// registers the downloader, which is when the first download happens. Its context
		// outlives the caller's, since its daily refresh does.
		mgr := downloader.NewCertificateDownloaderMgr(context.WithoutCancel(ctx))
		c.certs = &platformCerts{mgr: mgr, dl: c.raw, mchID: cfg.MchID, apiV3Key: cfg.APIv3Key, now: c.now}
		visitor := mgr.GetCertificateVisitor(cfg.MchID)
		if cfg.PublicKey == nil {
			apiOpt = option.WithWechatPayAutoAuthCipherUsingDownloaderMgr(cfg.MchID, cfg.CertSerial, cfg.PrivateKey, mgr)
			c.verifier = verifiers.NewSHA256WithRSAVerifier(visitor)
		} else {
			// Migration: accept both, picking the key by Wechatpay-Serial; requests name the public
			// key, so responses come signed with it once WeChat has switched the merchant over.
			combined := verifiers.NewSHA256WithRSACombinedVerifier(visitor, cfg.PublicKeyID, *cfg.PublicKey)
			apiOpt = multiOption{option.WithMerchantCredential(cfg.MchID, cfg.CertSerial, cfg.PrivateKey), option.WithVerifier(combined)}
			c.verifier = combined
		}
	}
	c.api, err = core.NewClient(ctx, apiOpt, option.WithHTTPClient(httpc), markValidator{})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("wxpay: %w", err)
	}
	return c, nil
}

func cfgBase(cfg config.Pay) string {
	if cfg.APIBase == "" {
		return config.DefaultWXPayAPIBase
	}
	return cfg.APIBase
}

// MchID is the merchant number.
func (c *Client) MchID() string { return c.mchID }

// AppID is the mini-program the merchant takes payments for.
func (c *Client) AppID() string { return c.appID }

// Close stops the platform-certificate refresher, if there is one. The client must not be used
// afterwards.
func (c *Client) Close() {
	if c.certs != nil {
		c.certs.mgr.Stop()
	}
}

// ready makes sure the platform certificates are there before a call whose answer they verify.
func (c *Client) ready(ctx context.Context, op string) error {
	if c.certs == nil {
		return nil
	}
	if err := c.certs.ensure(ctx); err != nil {
		return classify(op+": platform certificates", err)
	}
	return nil
}

// apiURL is the SDK-style absolute URL of path on the real host; the transport redirects it.
func apiURL(path string) string { return consts.WechatPayAPIServer + path }

// multiOption applies several options as one.
type multiOption []core.ClientOption

func (m multiOption) Apply(s *core.DialSettings) error {
	for _, o := range m {
		if err := o.Apply(s); err != nil {
			return err
		}
	}
	return nil
}

// markValidator wraps the configured response validator (it must come last) so that a
// response failing verification is recognisable in classify: the SDK returns the validator's
// error as is, as plain text.
type markValidator struct{}

func (markValidator) Apply(s *core.DialSettings) error {
	if s.Validator != nil {
		s.Validator = markedValidator{s.Validator}
	}
	return nil
}

type markedValidator struct{ auth.Validator }

func (v markedValidator) Validate(ctx context.Context, r *http.Response) error {
	if err := v.Validator.Validate(ctx, r); err != nil {
		return &signatureError{err: err}
	}
	return nil
}

// redirecting returns an http.Client whose transport sends requests for the real WeChat Pay
// host to base, keeping the path (under base's own path) and query. The SDK computed the
// signature over the original path before the transport runs, which is what WeChat Pay — or an
// emulator that strips its mount prefix — verifies.
func redirecting(hc *http.Client, base *url.URL) *http.Client {
	var out http.Client
	if hc != nil {
		out = *hc
	} else {
		out.Transport = defaultTransport()
	}
	if base.Scheme == "https" && base.Host == realHost && strings.TrimRight(base.Path, "/") == "" {
		return &out
	}
	next := out.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out.Transport = redirect{base: base, next: next}
	return &out
}

// defaultTransport bounds each phase of a request except reading the body, which for a bill
// may take a while; callers bound the whole call with their context.
func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ResponseHeaderTimeout = 15 * time.Second
	return t
}

type redirect struct {
	base *url.URL
	next http.RoundTripper
}

func (t redirect) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != realHost {
		return t.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = t.base.Scheme, t.base.Host, t.base.Host
	prefix := strings.TrimRight(t.base.Path, "/")
	r2.URL.Path = prefix + r.URL.Path
	if r.URL.RawPath != "" {
		r2.URL.RawPath = strings.TrimRight(t.base.EscapedPath(), "/") + r.URL.RawPath
	}
	return t.next.RoundTrip(r2)
}
