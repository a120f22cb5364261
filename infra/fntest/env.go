package fntest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/auth"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/wxpay"
)

// Env returns a complete environment for any function: a fresh database of the test binary's
// embedded server, SESSION_SECRET, a random DATA_KEY, ADMIN_KEYS, the emulator's default app and
// its WeChat Pay merchant (public-key mode, notifications to NotifySink) with the emulator as
// both API bases, and BLOB_URL in a temporary directory removed after the test. Each entry of
// overrides replaces the setting of that name; an empty value deletes it.
func Env(t testing.TB, overrides map[string]string) map[string]string {
	t.Helper()
	started()
	uri, name := dbtest.New(t)
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	priv, err := x509.MarshalPKCS8PrivateKey(harness.merchantKey)
	if err != nil {
		t.Fatalf("fntest: merchant key: %v", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(harness.emu.PlatformPublicKey())
	if err != nil {
		t.Fatalf("fntest: platform key: %v", err)
	}
	env := map[string]string{
		"MONGODB_URI":         uri,
		"MONGODB_DATABASE":    name,
		"BLOB_URL":            "file://" + t.TempDir(),
		"SESSION_SECRET":      SessionSecret,
		"DATA_KEY":            base64.StdEncoding.EncodeToString(dataKey),
		"ADMIN_KEYS":          AdminKey,
		"WX_APPID":            emulator.DefaultAppID,
		"WX_SECRET":           emulator.DefaultAppSecret,
		"WX_API_BASE":         harness.url + emulator.WXPrefix,
		"WXPAY_MCHID":         harness.merchant.MchID,
		"WXPAY_CERT_SERIAL":   harness.merchant.CertSerial,
		"WXPAY_PRIVATE_KEY":   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		"WXPAY_APIV3_KEY":     harness.merchant.APIv3Key,
		"WXPAY_PUBLIC_KEY_ID": harness.emu.PublicKeyID(),
		"WXPAY_PUBLIC_KEY":    string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"WXPAY_NOTIFY_URL":    harness.sink,
		"WXPAY_API_BASE":      harness.url + emulator.PayPrefix,
	}
	for k, v := range overrides {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

// Deps builds the per-process dependencies a function gets in production over env, closed when
// the test ends (after anything registered later with t.Cleanup, such as Serve's server).
func Deps(t testing.TB, env map[string]string) *deps.Deps {
	t.Helper()
	d := deps.New(config.Map(env))
	t.Cleanup(func() { d.Close(context.Background()) })
	return d
}

// DB connects to env's database (MONGODB_DATABASE) on the test binary's database server, whatever
// MONGODB_URI says, so that a test of an unreachable database can still look at the real one; the
// client is disconnected when the test ends.
func DB(t testing.TB, env map[string]string) *mongo.Database {
	t.Helper()
	return dbtest.Database(t).Client().Database(env["MONGODB_DATABASE"])
}

// DeadMongoURI is a MongoDB URI on a loopback port nobody listens on, failing fast: an
// override of MONGODB_URI for the database-down tests.
func DeadMongoURI(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fntest: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return "mongodb://" + addr + "/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
}

// MintCode mints a wx.login code at the emulator, as the mini-program's wx.login would get one.
func MintCode(t testing.TB, req emulator.CodeRequest) emulator.CodeResponse {
	t.Helper()
	c, err := Emulator().MintCode(req)
	if err != nil {
		t.Fatalf("fntest: mint code: %v", err)
	}
	return c
}

// Token issues a session token for openid with env's SESSION_SECRET, SESSION_TTL and WX_APPID, as
// login would after a successful wx.login.
func Token(t testing.TB, env map[string]string, openid string) string {
	t.Helper()
	cfg, err := config.LoadSession(config.Map(env))
	if err != nil {
		t.Fatalf("fntest: token: %v", err)
	}
	tok, _, err := auth.NewSessions(cfg).Issue(openid, "")
	if err != nil {
		t.Fatalf("fntest: token: %v", err)
	}
	return tok
}

// PayClient is the merchant's own WeChat Pay client over env's WXPAY_* settings, for setting the
// scene at WeChat Pay (prepay, refund, query) without going through a function; closed when the
// test ends.
func PayClient(t testing.TB, env map[string]string) *wxpay.Client {
	t.Helper()
	cfg, err := config.LoadPay(config.Map(env))
	if err != nil {
		t.Fatalf("fntest: pay client: %v", err)
	}
	c, err := wxpay.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("fntest: pay client: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}
