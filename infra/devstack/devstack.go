// Package devstack is the local stack behind `make dev`: in one process, the embedded database
// (FerretDB on SQLite, data under .wxfn/), the fs object store, the WeChat emulator, and a gateway
// that mounts every function at /NAME and the emulator at /_emu/. Tests start the same stack on
// free ports.
package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wxfn/wxfn/functions"
	"github.com/wxfn/wxfn/infra/embeddb"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/blob"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/runtime"
)

// Options configures Start. Zero values give the `make dev` defaults.
type Options struct {
	// DataDir keeps the database, the object store and the sandbox secrets (default ".wxfn").
	DataDir string
	// Addr is the gateway's address (default 127.0.0.1:8080; "127.0.0.1:0" picks a free port).
	Addr string
	// MongoAddr is where the database listens for MongoDB tools (default 127.0.0.1:27017).
	MongoAddr string
	// Env overrides the sandbox defaults: a setting present here wins (os.LookupEnv for make dev).
	Env config.Lookup
	// Logger receives the stack's own logs; nil discards them.
	Logger *slog.Logger
}

// Stack is a running local stack.
type Stack struct {
	// URL is the gateway's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// MongoURI reaches the embedded database.
	MongoURI string
	// Env is the complete environment the functions see.
	Env map[string]string
	// Functions are the mounted functions' names.
	Functions []string
	// Emulator is the WeChat emulator mounted at /_emu/.
	Emulator *emulator.Emulator

	db     *embeddb.DB
	deps   *deps.Deps
	server *http.Server
	served chan error
}

// settingNames are the variables a developer may override from the environment (DESIGN §4).
var settingNames = []string{
	"LOG_LEVEL", "MONGODB_URI", "MONGODB_DATABASE", "BLOB_URL", "SESSION_SECRET", "SESSION_TTL", "DATA_KEY", "ADMIN_KEYS",
	"WX_APPID", "WX_SECRET", "WX_MSG_TOKEN", "WX_MSG_AESKEY", "WX_API_BASE",
	"WXPAY_MCHID", "WXPAY_APPID", "WXPAY_CERT_SERIAL", "WXPAY_PRIVATE_KEY", "WXPAY_APIV3_KEY", "WXPAY_PUBLIC_KEY_ID",
	"WXPAY_PUBLIC_KEY", "WXPAY_PLATFORM_CERTS", "WXPAY_NOTIFY_URL", "WXPAY_API_BASE",
	"PAYORDER_MAX_TOTAL", "PAYORDER_MAX_ITEMS", "PAYORDER_EXPIRE", "PAYORDER_QUERY_AFTER", "REFUND_QUERY_AFTER", "RECONCILE_MAX_REPAIRS",
}

// fileSecrets are the secrets the stack passes as X_FILE; a developer giving X (or X_FILE) in the
// environment replaces both, since a setting given both ways is refused.
var fileSecrets = []string{"WXPAY_PRIVATE_KEY", "WXPAY_PUBLIC_KEY"}

// Start starts the stack and returns once every part answers.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.DataDir == "" {
		opts.DataDir = ".wxfn"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8080"
	}
	if opts.MongoAddr == "" {
		opts.MongoAddr = "127.0.0.1:27017"
	}
	if opts.Env == nil {
		opts.Env = func(string) (string, bool) { return "", false }
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	for _, d := range []string{"db", "blob"} {
		if err := os.MkdirAll(filepath.Join(dataDir, d), 0o700); err != nil {
			return nil, fmt.Errorf("devstack: %w", err)
		}
	}
	secrets, err := loadSecrets(filepath.Join(dataDir, "secrets.env"))
	if err != nil {
		return nil, err
	}

	// Listen first: the emulator's URLs, which the functions are configured with, need the port.
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("devstack: gateway: %w (is another `make dev` running? set PORT to use another port)", err)
	}
	base := "http://" + ln.Addr().String()

	db, err := embeddb.Start(ctx, embeddb.Options{Dir: filepath.Join(dataDir, "db"), Addr: opts.MongoAddr})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("devstack: database: %w (set WXFN_DEV_MONGO_PORT to use another port)", err)
	}

	env := map[string]string{
		"LOG_LEVEL":        "info",
		"MONGODB_URI":      db.URI(),
		"MONGODB_DATABASE": "wxfn",
		"BLOB_URL":         "file://" + filepath.Join(dataDir, "blob") + "?base=" + base + "/_blob",
		"SESSION_TTL":      "168h",
		"WX_APPID":         emulator.DefaultAppID,
		"WX_SECRET":        emulator.DefaultAppSecret,
		"WX_API_BASE":      base + "/_emu/wx",
	}
	for k, v := range secrets {
		env[k] = v
	}
	override := func(name string) bool {
		v, ok := opts.Env(name)
		if ok && v != "" {
			env[name] = v
		}
		return ok && v != ""
	}
	for _, name := range settingNames {
		override(name)
	}

	// WeChat Pay: a sandbox merchant registered with the emulator, notifications to paynotify.
	pay, payChanged, err := loadPayMaterial(filepath.Join(dataDir, "pay"), secrets, env["WX_APPID"])
	if err == nil && payChanged {
		err = saveSecrets(filepath.Join(dataDir, "secrets.env"), secrets)
	}
	if err != nil {
		db.Stop()
		ln.Close()
		return nil, fmt.Errorf("devstack: pay keys: %w", err)
	}
	emu := emulator.New(emulator.Config{
		Apps:   []emulator.App{{AppID: env["WX_APPID"], Secret: env["WX_SECRET"]}},
		Pay:    emulator.PayConfig{Merchants: []emulator.Merchant{pay.merchant}, PlatformKey: pay.platform},
		Logger: log,
	})
	platformPub := filepath.Join(dataDir, "pay", "platform_public.pem")
	if err := writePublicKey(platformPub, emu.PlatformPublicKey()); err != nil {
		db.Stop()
		ln.Close()
		return nil, fmt.Errorf("devstack: pay keys: %w", err)
	}
	for k, v := range map[string]string{
		"WXPAY_MCHID": pay.merchant.MchID, "WXPAY_APPID": env["WX_APPID"], "WXPAY_CERT_SERIAL": pay.merchant.CertSerial,
		"WXPAY_APIV3_KEY": pay.merchant.APIv3Key, "WXPAY_PRIVATE_KEY_FILE": pay.merchantKey,
		"WXPAY_PUBLIC_KEY_ID": emu.PublicKeyID(), "WXPAY_PUBLIC_KEY_FILE": platformPub,
		"WXPAY_API_BASE": base + "/_emu/pay", "WXPAY_NOTIFY_URL": base + "/paynotify/",
	} {
		env[k] = v
	}
	for _, name := range settingNames {
		override(name)
	}
	for _, name := range fileSecrets {
		if override(name) {
			delete(env, name+"_FILE")
		} else if override(name + "_FILE") {
			delete(env, name)
		}
	}
	if err := seedProducts(ctx, env); err != nil {
		db.Stop()
		ln.Close()
		return nil, fmt.Errorf("devstack: %w", err)
	}
	d := deps.New(config.Map(env))
	s := &Stack{URL: base, MongoURI: db.URI(), Env: env, Emulator: emu, db: db, deps: d, served: make(chan error, 1)}

	mux := http.NewServeMux()
	mux.Handle("/_emu/", emu)
	// Presigned URLs of the fs object store point here (BLOB_URL's base) when it is local.
	if fs, err := blob.NewFS(filepath.Join(dataDir, "blob"), base+"/_blob"); err == nil {
		mux.Handle("/_blob/", fs.Handler())
	}
	for _, f := range functions.All(d) {
		mount(mux, f)
		s.Functions = append(s.Functions, f.Spec.Name)
	}
	sort.Strings(s.Functions)
	mux.HandleFunc("/{$}", s.index)
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.served <- s.server.Serve(ln) }()
	return s, nil
}

// mount serves function f at /NAME and /NAME/..., the way its function URL serves it at /.
func mount(mux *http.ServeMux, f fn.Function) {
	h := http.StripPrefix("/"+f.Spec.Name, runtime.HTTPHandler(f))
	mux.Handle("/"+f.Spec.Name, h)
	mux.Handle("/"+f.Spec.Name+"/", h)
}

func (s *Stack) index(w http.ResponseWriter, r *http.Request) {
	fns := map[string]string{}
	for _, name := range s.Functions {
		fns[name] = s.URL + "/" + name + "/"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"functions": fns, "emulator": s.URL + "/_emu/", "mongodb": s.MongoURI})
}

// Close stops the gateway, disconnects the functions from the database, then stops the database
// (in that order: FerretDB waits for open clients otherwise).
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	if err := s.server.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("gateway: %w", err))
	}
	if err := <-s.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("gateway: %w", err))
	}
	if err := s.deps.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("functions: %w", err))
	}
	s.db.Stop()
	return errors.Join(errs...)
}

// AdminKey returns the sandbox admin key (the first of ADMIN_KEYS).
func (s *Stack) AdminKey() string {
	k, _, _ := strings.Cut(s.Env["ADMIN_KEYS"], ",")
	return k
}
