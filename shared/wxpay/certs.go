package wxpay

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
)

// refreshEvery bounds how often a notification naming an unknown certificate serial may make us
// download the certificates again: a rotation is rare, a forged serial is free to send.
const refreshEvery = time.Minute

// platformCerts downloads the WeChat Pay platform certificates on first need and keeps them for
// the process (the manager refreshes them daily). Nothing is downloaded at construction, so a
// cold start that never verifies anything never pays for it.
type platformCerts struct {
	mgr      *downloader.CertificateDownloaderMgr
	dl       *core.Client // unverified: the first download is checked by its AEAD, not a signature
	mchID    string
	apiV3Key string
	now      func() time.Time

	registered atomic.Bool
	mu         sync.Mutex // serialises downloads
	last       time.Time  // last download attempt (guarded by mu)
}

// ensure downloads the certificates once per process. A failed download is not remembered: the
// next call tries again.
func (p *platformCerts) ensure(ctx context.Context) error {
	if p.registered.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.registered.Load() {
		return nil
	}
	p.last = p.now()
	if err := p.mgr.RegisterDownloaderWithClient(ctx, p.dl, p.mchID, p.apiV3Key); err != nil {
		return err
	}
	p.registered.Store(true)
	return nil
}

// has reports whether serial names a platform certificate we hold, downloading the certificates
// first if they are not there yet and again (at most once per refreshEvery) if serial is
// unknown — WeChat may have rotated them since the last download.
func (p *platformCerts) has(ctx context.Context, serial string) (bool, error) {
	if err := p.ensure(ctx); err != nil {
		return false, err
	}
	visitor := p.mgr.GetCertificateVisitor(p.mchID)
	if _, ok := visitor.Get(ctx, serial); ok {
		return true, nil
	}
	p.mu.Lock()
	if p.now().Sub(p.last) >= refreshEvery {
		p.last = p.now()
		p.mgr.DownloadCertificates(ctx) // keeps the old set when the download fails
	}
	p.mu.Unlock()
	_, ok := visitor.Get(ctx, serial)
	return ok, nil
}
