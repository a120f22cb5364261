// Package fntest is the harness the functions' tests share: one WeChat emulator per test binary
// (serving api.weixin.qq.com and api.mch.weixin.qq.com on a loopback httptest server, with one
// pay merchant registered), the embedded database of infra/dbtest, a complete environment for any
// function, the function served through the real HTTP adapter, and the small clients and helpers
// a test uses to act as the mini-program, the admin or WeChat itself.
//
// It lives under infra because it links the emulator and the embedded database: only _test.go
// files import it, never a function's code.
//
// The pattern, in a function's tests:
//
//	func TestMain(m *testing.M) { fntest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		s := fntest.Start(t, login.NewWithDeps, map[string]string{"SESSION_TTL": "1h"})
//		r := s.Post("/", "", map[string]string{"code": fntest.MintCode(t, emulator.CodeRequest{}).Code})
//		if r.Status != 200 {
//			t.Fatalf("%d %s", r.Status, r.Raw)
//		}
//	}
//
// Start is Env, Deps, the function and Serve in one; a test that mounts several functions (as
// the gateway does) uses those pieces itself.
package fntest

import (
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/infra/emulator"
)

// Values every environment from Env carries unless overridden. They open nothing but this test
// binary's emulator and database.
const (
	// SessionSecret is SESSION_SECRET.
	SessionSecret = "test-session-secret-0123456789-abcdef"
	// AdminKey is the one key of ADMIN_KEYS.
	AdminKey = "adm_test_0123456789abcdef0123456789abcdef"
)

// harness is the test binary's emulator and notification sink, started by Main before any test
// runs and never changed afterwards: the per-process state the project's rules allow.
var harness struct {
	emu         *emulator.Emulator
	url         string
	merchant    emulator.Merchant
	merchantKey *rsa.PrivateKey
	sink        string
}

// Main starts the emulator, with a freshly generated merchant (DefaultMchID, bound to the default
// app) registered for WeChat Pay, and a notification sink on loopback, quiets the default logger
// to errors (request logs only for what went wrong; the tests say the rest), then runs the tests
// through dbtest.Main, which stops the database and exits. Call it from TestMain.
func Main(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	merchant, key, err := emulator.GenerateMerchant(emulator.DefaultMchID, emulator.DefaultAppID)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fntest:", err)
		os.Exit(2)
	}
	emu := emulator.New(emulator.Config{Pay: emulator.PayConfig{Merchants: []emulator.Merchant{merchant}}})
	// The servers live as long as the process: dbtest.Main exits without returning.
	srv := httptest.NewServer(emu)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	harness.emu, harness.url, harness.merchant, harness.merchantKey = emu, srv.URL, merchant, key
	harness.sink = sink.URL + "/paynotify/"
	dbtest.Main(m)
}

// started panics with the remedy when Main has not run: every accessor needs the emulator.
func started() {
	if harness.emu == nil {
		panic("fntest: call fntest.Main(m) from TestMain")
	}
}

// Emulator is the test binary's WeChat emulator, for acting as WeChat (minting codes, paying,
// settling refunds, injecting faults) and for reading what it was asked.
func Emulator() *emulator.Emulator { started(); return harness.emu }

// EmulatorURL is the emulator's base URL; its hosts live under emulator.WXPrefix and
// emulator.PayPrefix.
func EmulatorURL() string { started(); return harness.url }

// Merchant is the WeChat Pay merchant registered with the emulator, whose settings Env gives.
func Merchant() emulator.Merchant { started(); return harness.merchant }

// MerchantKey is the merchant's private key (WXPAY_PRIVATE_KEY), for checking what a function
// signed with it.
func MerchantKey() *rsa.PrivateKey { started(); return harness.merchantKey }

// NotifySink is a notify URL that acknowledges every notification without reading it: Env's
// WXPAY_NOTIFY_URL, for tests in which payments and refunds are settled by query, not by
// notification.
func NotifySink() string { started(); return harness.sink }
