package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/wxfn/wxfn/functions/paynotify"
	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/deps/paydeps"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/runtime"
	"github.com/wxfn/wxfn/shared/runtime/events"
	"github.com/wxfn/wxfn/shared/wxpay"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const samplesDir = "../../../events/paynotify"

// The committed samples are exactly what the generator writes: edit samples.go, then run
// `go run ./infra/cmd/wxfn-events samples`.
func TestSamplesUpToDate(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.json"))
	if len(files) != len(samples()) {
		t.Fatalf("%d sample files, the generator makes %d", len(files), len(samples()))
	}
	for _, s := range samples() {
		want, err := s.build()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(samplesDir, s.file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output; run: go run ./infra/cmd/wxfn-events samples", s.file)
		}
	}
}

// testClient verifies with the test-only keys, at a chosen time.
func testClient(t *testing.T, now time.Time) *wxpay.Client {
	t.Helper()
	merchantKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k := testKeys()
	c, err := wxpay.New(context.Background(), config.Pay{
		MchID: testMchID, AppID: testAppID, CertSerial: "0123456789ABCDEF", PrivateKey: merchantKey,
		APIv3Key: testAPIv3Key, PublicKeyID: testPublicKeyID, PublicKey: &k.platform.PublicKey,
		APIBase: "http://127.0.0.1:9",
	}, nil, wxpay.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The samples are genuine notifications (signed with the test-only keys at sampleTime) in their
// cloud's real format; the probe and the unsigned one are refused even then, and every one is
// refused five minutes later.
func TestSamplesAreGenuine(t *testing.T) {
	fresh := testClient(t, sampleTime.Add(time.Minute))
	stale := testClient(t, sampleTime.Add(5*time.Minute+time.Second))
	for _, s := range samples() {
		t.Run(s.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(samplesDir, s.file))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := events.Decode(raw, "test")
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]events.Format{"aws": events.FormatLambdaURL, "scf": events.FormatSCFURL}[s.cloud]; ev.Format != want {
				t.Fatalf("format %v, want %v", ev.Format, want)
			}
			req := ev.Request
			n, err := fresh.ParseNotification(context.Background(), req.Header, req.Body)
			if s.variant != "" {
				if !errors.Is(err, wxpay.ErrInvalidSignature) || (s.variant == "probe") != errors.Is(err, wxpay.ErrSignatureProbe) {
					t.Fatalf("%s sample: %v", s.variant, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("a genuine sample does not verify: %v", err)
			}
			if n.ID != s.id || n.EventType != s.eventType || (n.Transaction == nil) == (n.Refund == nil) {
				t.Fatalf("parsed %+v", n)
			}
			if _, err := stale.ParseNotification(context.Background(), req.Header, req.Body); !errors.Is(err, wxpay.ErrInvalidSignature) {
				t.Fatalf("five minutes later: %v", err)
			}
		})
	}
}

// sign turns a sample into a notification the running stack's paynotify accepts and applies.
func TestSignForStack(t *testing.T) {
	merchant, mchKey, err := emulator.GenerateMerchant(emulator.DefaultMchID, emulator.DefaultAppID)
	if err != nil {
		t.Fatal(err)
	}
	emu := emulator.New(emulator.Config{Pay: emulator.PayConfig{Merchants: []emulator.Merchant{merchant}}})
	srv := httptest.NewServer(emu)
	defer srv.Close()

	uri, name := dbtest.New(t)
	priv, _ := x509.MarshalPKCS8PrivateKey(mchKey)
	pub, _ := x509.MarshalPKIXPublicKey(emu.PlatformPublicKey())
	env := map[string]string{
		"MONGODB_URI": uri, "MONGODB_DATABASE": name,
		"WX_APPID": emulator.DefaultAppID, "WX_SECRET": emulator.DefaultAppSecret, "WX_API_BASE": srv.URL + emulator.WXPrefix,
		"WXPAY_MCHID": merchant.MchID, "WXPAY_CERT_SERIAL": merchant.CertSerial, "WXPAY_APIV3_KEY": merchant.APIv3Key,
		"WXPAY_PRIVATE_KEY":   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		"WXPAY_PUBLIC_KEY_ID": emu.PublicKeyID(),
		"WXPAY_PUBLIC_KEY":    string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"WXPAY_NOTIFY_URL":    "http://127.0.0.1:9/paynotify/", "WXPAY_API_BASE": srv.URL + emulator.PayPrefix,
	}
	d := deps.New(config.Map(env))
	defer d.Close(context.Background())
	notify := paynotify.NewWithDeps(d)

	// An order placed and paid, its notification lost: what payorder and the emulator leave.
	ctx := context.Background()
	db, err := d.DB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	books, err := orders.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	pay, err := paydeps.Client(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	o, _, err := books.Create(ctx, orders.Order{OutTradeNo: orders.NewOutTradeNo(now), OpenID: "oSample",
		Items: []orders.Item{{SKU: "vip-month", Name: "会员月卡", Price: 1500, Qty: 1, Kind: orders.KindVirtual}}, Amount: 1500,
		Description: "会员月卡", TimeExpire: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pay.Prepay(ctx, wxpay.PrepayRequest{OutTradeNo: o.OutTradeNo, Description: o.Description, Total: 1500, OpenID: "oSample", TimeExpire: o.TimeExpire}); err != nil {
		t.Fatal(err)
	}
	deliver := false
	if _, err := emu.PayOrder(ctx, o.OutTradeNo, emulator.PayRequest{Deliver: &deliver}); err != nil {
		t.Fatal(err)
	}

	invoke := func(event []byte) int {
		t.Helper()
		out, err := runtime.Invoke(ctx, notify, event)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			StatusCode int `json:"statusCode"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("response %s: %v", out, err)
		}
		return resp.StatusCode
	}
	sample := func(file string) []byte {
		b, err := os.ReadFile(filepath.Join(samplesDir, file))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	opts := signOptions{stack: srv.URL, order: o.OutTradeNo}
	for _, file := range []string{"aws-url-transaction-success.json", "aws-url-probe.json", "aws-url-unsigned.json"} {
		if st := invoke(sample(file)); st != 401 {
			t.Fatalf("%s as committed: %d, want 401 (test-only keys, stale)", file, st)
		}
	}
	for _, file := range []string{"aws-url-probe.json", "aws-url-unsigned.json"} {
		out, err := resign(http.DefaultClient, opts, sample(file))
		if err != nil || !bytes.Equal(out, sample(file)) {
			t.Fatalf("%s re-signed: %v; want it unchanged", file, err)
		}
	}
	tampered := opts
	tampered.tamper = true
	ev, err := resign(http.DefaultClient, tampered, sample("scf-url-transaction-success.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st := invoke(ev); st != 401 {
		t.Fatalf("tampered: %d", st)
	}
	for _, file := range []string{"aws-url-transaction-success.json", "scf-url-transaction-success.json"} {
		ev, err := resign(http.DefaultClient, opts, sample(file))
		if err != nil {
			t.Fatal(err)
		}
		if st := invoke(ev); st != 200 {
			t.Fatalf("%s re-signed for the stack: %d", file, st)
		}
	}
	got, err := books.Get(ctx, o.OutTradeNo)
	if err != nil || got.State != orders.StatePaid || got.Flagged {
		t.Fatalf("order after the re-signed notification: %+v %v", got, err)
	}
	var evs []orders.Event
	cur, _ := db.Collection(orders.EventsCollection).Find(ctx, bson.D{})
	cur.All(ctx, &evs)
	if len(evs) != 2 || evs[0].ID == evs[1].ID {
		t.Fatalf("two re-signed samples are two notifications (fresh ids): %+v", evs)
	}
}
