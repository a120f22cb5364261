package emulator

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Prefix is the path under which the emulator serves everything: mount the Emulator at "/_emu/"
// without stripping the prefix.
const Prefix = "/_emu"

// WXPrefix is where api.weixin.qq.com lives: functions use WX_API_BASE=http://HOST/_emu/wx.
const WXPrefix = Prefix + "/wx"

// The mini-program the local stack uses when Config.Apps is empty. The values are public on purpose:
// they only ever open the emulator.
const (
	DefaultAppID     = "wx0e1f2a3b4c5d6e7f"
	DefaultAppSecret = "3f2b8c9d0e1a4b5c6d7e8f9a0b1c2d3e"
)

// App is a mini-program registered with the emulator.
type App struct {
	AppID  string
	Secret string
}

// Config configures an Emulator.
type Config struct {
	// Apps are the registered mini-programs; the first is the default for control calls that
	// name none. Empty means one app with DefaultAppID and DefaultAppSecret.
	Apps []App
	// Now is the emulator's clock (code and token expiry, watermarks); nil means time.Now. Tests
	// pass a fake clock to move past expiries without sleeping.
	Now func() time.Time
	// Logger receives one debug line per emulated API call and info lines for control actions;
	// nil discards. Secrets, tokens and codes are never logged.
	Logger *slog.Logger
	// Pay configures api.mch.weixin.qq.com (WeChat Pay APIv3): the merchants it knows and its
	// platform key. The zero value gives a pay host with no merchant, which refuses every call.
	Pay PayConfig
}

// Emulator is an in-memory, thread-safe stand-in for the WeChat hosts the functions call, plus a
// control API that lets a developer or a test act as WeChat. It is one http.Handler for every path
// under Prefix.
type Emulator struct {
	apps       map[string]App
	appOrder   []string // as configured; the first is the default
	defaultApp string
	now        func() time.Time
	log        *slog.Logger
	mux        *http.ServeMux
	hosts      []*host

	// mu guards everything below. One lock keeps cross-cutting operations (reset, faults that
	// span hosts) simple; the emulator is never a throughput bottleneck worth finer locking.
	mu     sync.Mutex
	wx     wxState
	pay    payState
	faults faultQueue
	calls  map[string]int

	// payCfg is api.mch.weixin.qq.com's fixed configuration (merchants, keys, mode), set in New.
	payCfg *payConfig
}

// New builds an Emulator. It panics on an invalid Config (an app without AppID or Secret, or a
// repeated AppID), which is a programming error in the caller.
func New(cfg Config) *Emulator {
	apps := cfg.Apps
	if len(apps) == 0 {
		apps = []App{{AppID: DefaultAppID, Secret: DefaultAppSecret}}
	}
	e := &Emulator{
		apps:       make(map[string]App, len(apps)),
		defaultApp: apps[0].AppID,
		now:        cfg.Now,
		log:        cfg.Logger,
		mux:        http.NewServeMux(),
	}
	for i, a := range apps {
		if a.AppID == "" || a.Secret == "" {
			panic(fmt.Sprintf("emulator: app #%d needs both AppID and Secret", i+1))
		}
		if _, dup := e.apps[a.AppID]; dup {
			panic(fmt.Sprintf("emulator: app %s is registered twice", a.AppID))
		}
		e.apps[a.AppID] = a
		e.appOrder = append(e.appOrder, a.AppID)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.payCfg = newPayConfig(cfg.Pay, e.defaultApp)
	e.resetLocked()
	e.routes()
	return e
}

// routes wires the hosts and the control API. Each emulated host is a prefix with its own route
// table and its own way of rendering an injected fault; later hosts (pay, wecom, bot) add one
// e.addHost call and their control endpoints.
func (e *Emulator) routes() {
	e.addHost(e.wxHost())
	e.addHost(e.payHost())

	// Control endpoints of api.weixin.qq.com live beside its API paths; the real host has no such
	// paths, and these more specific patterns win over the host's catch-all.
	e.control(WXPrefix+"/codes", e.postCodes)
	e.control(WXPrefix+"/phone-codes", e.postPhoneCodes)
	e.control(WXPrefix+"/encrypt", e.postEncrypt)
	e.control(WXPrefix+"/calls", e.hostCalls(WXPrefix))
	e.payControlRoutes()

	e.control(Prefix+"/faults", e.faultsEndpoint)
	e.control(Prefix+"/calls", e.allCalls)
	e.control(Prefix+"/reset", e.postReset)
	e.control(Prefix+"/{$}", e.index)
	e.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeControlError(w, &ControlError{Status: http.StatusNotFound, Code: "not_found",
			Message: "no emulator endpoint at " + r.URL.Path + " (GET " + Prefix + "/ lists them)"})
	})
}

// ServeHTTP serves every path under Prefix.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mux.ServeHTTP(w, r)
}

// Reset forgets every token, code, user, pay order, refund, bill plant, pending fault and call
// count, as if the emulator had just started. The registered apps and merchants, the platform key
// and the clock stay.
func (e *Emulator) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetLocked()
}

func (e *Emulator) resetLocked() {
	e.wx = newWXState()
	e.pay = newPayState()
	e.faults = faultQueue{}
	e.calls = map[string]int{}
}

// app returns the registered app with appid, or the default app when appid is empty.
func (e *Emulator) app(appid string) (App, bool) {
	if appid == "" {
		appid = e.defaultApp
	}
	a, ok := e.apps[appid]
	return a, ok
}

// host is one emulated WeChat host served under its own prefix.
type host struct {
	prefix string
	// routes maps a path relative to prefix to its handler.
	routes map[string]http.HandlerFunc
	// serve, when set, serves every path of the host instead of routes: hosts whose paths carry
	// parameters (/v3/pay/transactions/id/{transaction_id}) route with their own ServeMux.
	serve http.HandlerFunc
	// fault renders an injected fault the way this host reports errors.
	fault func(w http.ResponseWriter, f Fault, now time.Time)
	// notFound answers a path the emulator does not implement for this host.
	notFound http.HandlerFunc
}

func (e *Emulator) addHost(h *host) {
	e.hosts = append(e.hosts, h)
	e.mux.HandleFunc(h.prefix+"/", func(w http.ResponseWriter, r *http.Request) { e.serveHost(h, w, r) })
}

// serveHost counts the call, answers a pending fault for the path if there is one, and otherwise
// runs the route.
func (e *Emulator) serveHost(h *host, w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	e.mu.Lock()
	e.calls[path]++
	f, faulted := e.faults.take(path)
	e.mu.Unlock()

	if faulted {
		e.log.Info("emulator: injected fault", "method", r.Method, "path", path, "errcode", f.Errcode, "httpStatus", f.HTTPStatus)
		h.fault(w, f, e.now())
		return
	}
	e.log.Debug("emulator: call", "method", r.Method, "path", path)
	if h.serve != nil {
		h.serve(w, r)
		return
	}
	route, ok := h.routes[strings.TrimPrefix(path, h.prefix)]
	if !ok {
		h.notFound(w, r)
		return
	}
	route(w, r)
}

// hostOf returns the host whose prefix covers path.
func (e *Emulator) hostOf(path string) *host {
	for _, h := range e.hosts {
		if strings.HasPrefix(path, h.prefix+"/") {
			return h
		}
	}
	return nil
}

// maxBody bounds every request body the emulator reads.
const maxBody = 1 << 20

// readBody reads a bounded request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}
