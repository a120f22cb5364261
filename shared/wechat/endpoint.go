package wechat

import (
	"strings"
	"sync"

	"github.com/silenceper/wechat/v2/util"
)

// The SDK builds absolute URLs to the real hosts and offers one process-wide hook to rewrite
// them. We install it once and keep the host → base table here; it is per-process state that is
// only ever set from configuration, the same for every function in the process.
var (
	routeOnce sync.Once
	routes    sync.Map // real base ("https://api.weixin.qq.com") → configured base
)

// UseEndpoint sends the SDK's calls for real (for example "https://api.weixin.qq.com") to base
// (for example the emulator's "http://127.0.0.1:8080/_emu/wx"). A base equal to real is a no-op.
func UseEndpoint(real, base string) {
	base = strings.TrimRight(base, "/")
	if base == "" || base == real {
		routes.Delete(real)
		return
	}
	routes.Store(real, base)
	routeOnce.Do(func() { util.SetURIModifier(rewrite) })
}

func rewrite(uri string) string {
	out := uri
	routes.Range(func(k, v any) bool {
		if rest, ok := strings.CutPrefix(uri, k.(string)); ok {
			out = v.(string) + rest
			return false
		}
		return true
	})
	return out
}
