package paynotify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/functions/paynotify"
	"github.com/wxfn/wxfn/functions/payorder"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/infra/fntest"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/runtime"
	"github.com/wxfn/wxfn/shared/wxpay"
)

func TestMain(m *testing.M) { fntest.Main(m) }

// stack is payorder and paynotify mounted like the local gateway (/payorder/, /paynotify/) over
// one database, with paynotify's URL as the notify URL.
type stack struct {
	*fntest.Client
	t     *testing.T
	db    *mongo.Database
	books *orders.Store
	env   map[string]string
	hooks atomic.Int32 // runs of an extra after-payment hook
}

func newStack(t *testing.T, override map[string]string) *stack {
	t.Helper()
	s := &stack{t: t}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.Client = fntest.NewClient(t, srv.URL)
	settings := map[string]string{
		"WXPAY_NOTIFY_URL":     srv.URL + "/paynotify/",
		"PAYORDER_QUERY_AFTER": "1h", // payments here arrive by notification, not by GET's repair
	}
	maps.Copy(settings, override)
	s.env = fntest.Env(t, settings)
	d := fntest.Deps(t, s.env)
	count := orders.HookFunc(func(context.Context, orders.Order) error { s.hooks.Add(1); return nil })
	mux.Handle("/payorder/", http.StripPrefix("/payorder", runtime.HTTPHandler(payorder.NewWithDeps(d))))
	mux.Handle("/paynotify/", http.StripPrefix("/paynotify", runtime.HTTPHandler(paynotify.NewWithHooks(d, count))))
	s.db = fntest.DB(t, s.env)
	s.books = fntest.Books(t, s.db)
	fntest.SeedProducts(t, s.books)
	return s
}

// token issues a session token for openid, as login would.
func (s *stack) token(openid string) string { return fntest.Token(s.t, s.env, openid) }

// newOrder places an order for sku through payorder and returns its out_trade_no.
func (s *stack) newOrder(openid, sku string) string {
	s.t.Helper()
	r := s.Post("/payorder/", s.token(openid), map[string]any{"items": []map[string]any{{"sku": sku, "qty": 1}}})
	if r.Status != 201 {
		s.t.Fatalf("create order: %d %s", r.Status, r.Raw)
	}
	return r.Str("outTradeNo")
}

func (s *stack) order(no string) orders.Order { return fntest.Order(s.t, s.books, no) }

func (s *stack) events() []orders.Event {
	return fntest.All[orders.Event](s.t, s.db.Collection(orders.EventsCollection))
}

// notifyURL is where this stack's paynotify listens.
func (s *stack) notifyURL() string { return s.URL + "/paynotify/" }

// send posts a signed notification to this stack's paynotify as is.
func (s *stack) send(n emulator.PayNotification) fntest.Reply {
	s.t.Helper()
	return s.Send(http.MethodPost, "/paynotify/", n.Body, n.Header)
}

func TestFlow(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token("oFlow")
	// login token → order → pay in WeChat → notification → PAID
	r := s.Post("/payorder/", tok, map[string]any{"items": []map[string]any{{"sku": "vip-month", "qty": 1}}})
	if r.Status != 201 {
		t.Fatalf("order: %d %s", r.Status, r.Raw)
	}
	no := r.Str("outTradeNo")
	paid, err := fntest.Emulator().PayOrder(context.Background(), no, emulator.PayRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !paid.Delivered || paid.Status != 200 {
		t.Fatalf("notification delivery: %+v", paid)
	}
	o := s.order(no)
	if o.State != orders.StatePaid || o.TransactionID != paid.TransactionID || o.PayerTotal != 1500 || o.Flagged {
		t.Fatalf("order after the notification: %+v", o)
	}
	evs := s.events()
	if len(evs) != 1 || evs[0].ID != paid.NotificationID || evs[0].Outcome != orders.Applied || evs[0].OutTradeNo != no || evs[0].Plaintext == "" {
		t.Fatalf("pay_events %+v", evs)
	}
	if o.AfterPay.Runs != 1 || o.AfterPay.DoneAt.IsZero() || s.hooks.Load() != 1 {
		t.Fatalf("after-payment: %+v, extra hook ran %d times", o.AfterPay, s.hooks.Load())
	}
	if ups := fntest.Emulator().ShippingUploads(no); len(ups) != 1 || ups[0].LogisticsType != 3 || o.Shipping == nil || o.Shipping.State != orders.ShipUploaded {
		t.Fatalf("virtual goods shipping: uploads %+v, order %+v", ups, o.Shipping)
	}
	if g := s.Do("GET", "/payorder/"+no, tok, nil); g.Str("state") != "PAID" {
		t.Fatalf("GET: %s", g.Raw)
	}
	// WeChat Pay re-sends (same id): acknowledged, nothing re-applied.
	d, err := fntest.Emulator().Renotify(context.Background(), no, emulator.NotifyOptions{})
	if err != nil || d.Status != 200 {
		t.Fatalf("re-send: %+v %v", d, err)
	}
	if evs := s.events(); len(evs) != 1 || evs[0].Deliveries != 2 || evs[0].Outcome != orders.Applied {
		t.Fatalf("pay_events after a re-send %+v", evs)
	}
	if again := s.order(no); !again.UpdatedAt.Equal(o.UpdatedAt) || s.hooks.Load() != 1 {
		t.Fatalf("a re-send changed the order or re-ran the hooks")
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	s := newStack(t, nil)
	no := s.newOrder("oMany", "coins-100")
	fntest.PayQuietly(t, no)
	n, err := fntest.Emulator().NotificationFor(no, emulator.NotifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const copies = 16
	var wg sync.WaitGroup
	statuses := make([]int, copies)
	for i := range copies {
		wg.Go(func() { statuses[i] = s.send(n).Status })
	}
	wg.Wait()
	for i, st := range statuses {
		if st != 200 {
			t.Fatalf("delivery %d answered %d", i, st)
		}
	}
	o := s.order(no)
	evs := s.events()
	if o.State != orders.StatePaid || o.AfterPay.Runs != 1 || s.hooks.Load() != 1 || len(fntest.Emulator().ShippingUploads(no)) != 1 {
		t.Fatalf("state %s, after-payment runs %d, extra hook %d, uploads %d; want PAID and one of each",
			o.State, o.AfterPay.Runs, s.hooks.Load(), len(fntest.Emulator().ShippingUploads(no)))
	}
	if len(evs) != 1 || evs[0].Deliveries != copies || evs[0].Outcome != orders.Applied {
		t.Fatalf("pay_events %+v", evs)
	}
}

func TestRefused(t *testing.T) {
	s := newStack(t, nil)
	no := s.newOrder("oRefused", "mug-ceramic")
	fntest.PayQuietly(t, no)
	cases := map[string]emulator.NotifyOptions{
		"tampered body":             {Tamper: true},
		"unknown serial":            {SerialOverride: "PUB_KEY_ID_0000000000000000000000000000000099"},
		"certificate serial":        {Mode: emulator.PayModeCert}, // this merchant trusts only the public key
		"stale timestamp":           {StaleSeconds: 301},
		"future timestamp":          {StaleSeconds: -301},
		"signature probe":           {Probe: true},
		"tampered, amount patched":  {Tamper: true, Patch: json.RawMessage(`{"amount":{"total":1}}`)},
		"stale and another id":      {StaleSeconds: 3600, NewID: true},
		"probe with a patched body": {Probe: true, Patch: json.RawMessage(`{"trade_state":"SUCCESS"}`)},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			opts.URL = s.notifyURL()
			d, err := fntest.Emulator().Renotify(context.Background(), no, opts)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != 401 {
				t.Fatalf("answered %d; want 401", d.Status)
			}
		})
	}
	// Not even shaped like a notification.
	for name, n := range map[string]emulator.PayNotification{
		"no headers":  {Body: []byte(`{"id":"x","event_type":"TRANSACTION.SUCCESS"}`), Header: http.Header{}},
		"empty":       {Header: http.Header{}},
		"binary":      {Body: []byte{0, 1, 2, 0xff}, Header: http.Header{"Wechatpay-Serial": {fntest.Emulator().PublicKeyID()}}},
		"bad headers": {Body: []byte(`{}`), Header: http.Header{"Wechatpay-Serial": {fntest.Emulator().PublicKeyID()}, "Wechatpay-Timestamp": {"x"}, "Wechatpay-Nonce": {"n"}, "Wechatpay-Signature": {"!!"}}},
	} {
		r := s.send(n)
		if r.Status != 401 || r.Str("code") != "FAIL" {
			t.Fatalf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	if o := s.order(no); o.State != orders.StateCreated || o.Flagged {
		t.Fatalf("refused notifications changed the order: %+v", o)
	}
	if evs := s.events(); len(evs) != 0 {
		t.Fatalf("refused notifications were recorded: %+v", evs)
	}
	// The genuine one still applies.
	if d, _ := fntest.Emulator().Renotify(context.Background(), no, emulator.NotifyOptions{}); d.Status != 200 || s.order(no).State != orders.StatePaid {
		t.Fatalf("genuine re-send: %+v", d)
	}
}

func TestMismatchFlagged(t *testing.T) {
	s := newStack(t, nil)
	cases := []struct {
		patch  string
		reason string
	}{
		{`{"amount":{"total":1}}`, orders.FlagAmountMismatch},
		{`{"appid":"wx0000000000000000"}`, orders.FlagAppIDMismatch},
		{`{"mchid":"1900000099"}`, orders.FlagMchIDMismatch},
		{`{"trade_state":"NOTPAY"}`, orders.FlagTradeState},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			no := s.newOrder("oMismatch", "mug-ceramic")
			fntest.PayQuietly(t, no)
			n, err := fntest.Emulator().NotificationFor(no, emulator.NotifyOptions{NewID: true, Patch: json.RawMessage(c.patch)})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if r := s.send(n); r.Status != 200 {
					t.Fatalf("answered %d %s; want 200 so that WeChat Pay stops re-sending", r.Status, r.Raw)
				}
			}
			o := s.order(no)
			if o.State != orders.StateCreated || !o.Flagged || len(o.Flags) != 1 || o.Flags[0].Reason != c.reason || o.TransactionID != "" {
				t.Fatalf("order %+v flags %+v", o.State, o.Flags)
			}
			var ev orders.Event
			if err := s.db.Collection(orders.EventsCollection).FindOne(context.Background(), bson.D{{Key: "_id", Value: n.ID}}).Decode(&ev); err != nil {
				t.Fatal(err)
			}
			if ev.Outcome != orders.Flagged || ev.Detail != c.reason || ev.Deliveries != 2 {
				t.Fatalf("event %+v", ev)
			}
		})
	}
	if s.hooks.Load() != 0 {
		t.Fatal("after-payment work ran for a flagged payment")
	}
}

func TestLateSuccessForClosedOrder(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token("oLate")
	no := s.newOrder("oLate", "mug-ceramic")
	if r := s.Do("POST", "/payorder/"+no+"/close", tok, nil); r.Status != 200 || r.Str("state") != "CLOSED" {
		t.Fatalf("close: %d %s", r.Status, r.Raw)
	}
	// The user paid just before the close reached WeChat Pay.
	p, err := fntest.Emulator().PayOrder(context.Background(), no, emulator.PayRequest{EvenIfClosed: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != 200 {
		t.Fatalf("late notification answered %d", p.Status)
	}
	o := s.order(no)
	if o.State != orders.StateClosed || !o.Flagged || o.Flags[0].Reason != orders.FlagPaidAfterClose || o.TransactionID != "" {
		t.Fatalf("closed order after a late payment: %s %+v", o.State, o.Flags)
	}
	if evs := s.events(); len(evs) != 1 || evs[0].Outcome != orders.Flagged || s.hooks.Load() != 0 {
		t.Fatalf("events %+v, hooks %d", evs, s.hooks.Load())
	}
}

func TestDatabaseDown(t *testing.T) {
	s := newStack(t, nil)
	down := newStack(t, map[string]string{"MONGODB_URI": fntest.DeadMongoURI(t)})
	no := s.newOrder("oDown", "vip-month")
	fntest.PayQuietly(t, no)

	d, err := fntest.Emulator().Renotify(context.Background(), no, emulator.NotifyOptions{URL: down.notifyURL()})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != 503 || d.Delivered {
		t.Fatalf("database down: %+v; want 503 so that WeChat Pay re-sends", d)
	}
	n, _ := fntest.Emulator().NotificationFor(no, emulator.NotifyOptions{})
	if r := down.send(n); r.Status != 503 || r.Str("code") != "FAIL" || r.Str("message") == "" {
		t.Fatalf("FAIL body: %d %s", r.Status, r.Raw)
	}
	if o := s.order(no); o.State != orders.StateCreated {
		t.Fatalf("state %s", o.State)
	}
	// The database is back (WeChat Pay's next delivery reaches a healthy instance).
	if d, _ := fntest.Emulator().Renotify(context.Background(), no, emulator.NotifyOptions{}); d.Status != 200 {
		t.Fatalf("redelivery: %+v", d)
	}
	if o := s.order(no); o.State != orders.StatePaid || o.AfterPay.Runs != 1 {
		t.Fatalf("after the redelivery: %s, runs %d", o.State, o.AfterPay.Runs)
	}
}

func TestHalfDoneIsCompleted(t *testing.T) {
	s := newStack(t, nil)
	no := s.newOrder("oHalf", "vip-month")
	fntest.PayQuietly(t, no)
	n, _ := fntest.Emulator().NotificationFor(no, emulator.NotifyOptions{})
	// An earlier delivery recorded the event and died before the transition.
	if _, err := s.books.RecordEvent(context.Background(), orders.Event{ID: n.ID, EventType: n.EventType, OutTradeNo: no}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := s.send(n); r.Status != 200 {
		t.Fatalf("redelivery: %d %s", r.Status, r.Raw)
	}
	evs := s.events()
	if o := s.order(no); o.State != orders.StatePaid || len(evs) != 1 || evs[0].Outcome != orders.Applied || s.hooks.Load() != 1 {
		t.Fatalf("state %s, events %+v, hooks %d", o.State, evs, s.hooks.Load())
	}
}

func TestPlatformCertificateMode(t *testing.T) {
	// A merchant on platform certificates (no public key configured).
	certs := newStack(t, map[string]string{"WXPAY_PUBLIC_KEY_ID": "", "WXPAY_PUBLIC_KEY": ""})
	no := certs.newOrder("oCert", "coins-100")
	fntest.PayQuietly(t, no)
	if d, _ := fntest.Emulator().Renotify(context.Background(), no, emulator.NotifyOptions{URL: certs.notifyURL(), Mode: emulator.PayModePublicKey}); d.Status != 401 {
		t.Fatalf("public-key signature to a certificate merchant: %d", d.Status)
	}
	if d, _ := fntest.Emulator().Renotify(context.Background(), no, emulator.NotifyOptions{URL: certs.notifyURL(), Mode: emulator.PayModeCert}); d.Status != 200 {
		t.Fatalf("certificate signature: %+v", d)
	}
	if o := certs.order(no); o.State != orders.StatePaid {
		t.Fatalf("state %s", o.State)
	}

	// During the switch to the public key both are accepted.
	both := newStack(t, map[string]string{"WXPAY_PLATFORM_CERTS": "true"})
	for i, mode := range []string{emulator.PayModeCert, emulator.PayModePublicKey} {
		no := both.newOrder("oMigrating", "coins-100")
		fntest.PayQuietly(t, no)
		if d, _ := fntest.Emulator().Renotify(context.Background(), no, emulator.NotifyOptions{URL: both.notifyURL(), Mode: mode}); d.Status != 200 {
			t.Fatalf("#%d %s during migration: %+v", i, mode, d)
		}
	}
}

func TestRefundNotifications(t *testing.T) {
	s := newStack(t, nil)
	pay := fntest.PayClient(t, s.env)
	no := s.newOrder("oRefund", "tea-oolong-250g") // 6800 fen
	if p, _ := fntest.Emulator().PayOrder(context.Background(), no, emulator.PayRequest{}); p.Status != 200 {
		t.Fatalf("pay: %+v", p)
	}
	refund := func(rno string, amount int64) {
		t.Helper()
		if _, _, err := s.books.RequestRefund(context.Background(), orders.RefundRequest{OutTradeNo: no, OutRefundNo: rno, Amount: amount}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := pay.CreateRefund(context.Background(), wxpay.RefundRequest{OutTradeNo: no, OutRefundNo: rno, Refund: amount, Total: 6800}); err != nil {
			t.Fatal(err)
		}
	}
	settle := func(rno, status string) {
		t.Helper()
		r, err := fntest.Emulator().SettleRefund(context.Background(), rno, emulator.SettleRequest{Status: status})
		if err != nil || r.Status != 200 {
			t.Fatalf("settle %s %s: %+v %v", rno, status, r, err)
		}
	}
	money := func() string {
		o := s.order(no)
		return fmt.Sprintf("%s %d/%d/%d", o.State, o.Refundable, o.Refunding, o.Refunded)
	}
	refund("R1", 1800)
	settle("R1", "SUCCESS")
	if got := money(); got != "PARTIALLY_REFUNDED 5000/0/1800" {
		t.Fatal(got)
	}
	if d, _ := fntest.Emulator().RenotifyRefund(context.Background(), "R1", emulator.NotifyOptions{}); d.Status != 200 || money() != "PARTIALLY_REFUNDED 5000/0/1800" {
		t.Fatalf("re-send: %+v %s", d, money())
	}
	refund("R2", 2000)
	settle("R2", "ABNORMAL")
	if got := money(); got != "PARTIALLY_REFUNDED 3000/2000/1800" {
		t.Fatal(got)
	}
	settle("R2", "CLOSED")
	if got := money(); got != "PARTIALLY_REFUNDED 5000/0/1800" {
		t.Fatal(got)
	}
	refund("R3", 5000)
	settle("R3", "SUCCESS")
	if got := money(); got != "REFUNDED 0/0/6800" {
		t.Fatal(got)
	}
	outcomes := map[string]int{}
	for _, e := range s.events() {
		outcomes[e.EventType+" "+string(e.Outcome)]++
	}
	want := map[string]int{"TRANSACTION.SUCCESS applied": 1, "REFUND.SUCCESS applied": 2, "REFUND.ABNORMAL applied": 1, "REFUND.CLOSED applied": 1}
	if fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Fatalf("event outcomes %v, want %v", outcomes, want)
	}
	for _, rno := range []string{"R1", "R3"} {
		if r, _ := s.books.GetRefund(context.Background(), rno); r.State != orders.RefundSuccess || r.RefundID == "" || r.SuccessAt.IsZero() {
			t.Fatalf("refund %s: %+v", rno, r)
		}
	}
}

// signer makes notifications with the emulator's keys, for the shapes the emulator does not
// produce (unknown event types, self-contradictory refunds) and for fuzzing.
type signer struct {
	key    *rsa.PrivateKey
	serial string
	apiv3  string
}

func newSigner(t testing.TB) signer {
	t.Helper()
	k, err := fntest.Emulator().PayKeys("")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode([]byte(k.PlatformPrivateKey))
	key, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return signer{key: key.(*rsa.PrivateKey), serial: k.PublicKeyID, apiv3: k.APIv3Key}
}

// envelope encrypts plain into a notification body.
func (s signer) envelope(t testing.TB, id, eventType, originalType string, plain []byte) []byte {
	t.Helper()
	block, _ := aes.NewCipher([]byte(s.apiv3))
	gcm, _ := cipher.NewGCM(block)
	nonce := "0123456789ab"
	ct := gcm.Seal(nil, []byte(nonce), plain, []byte(originalType))
	body, _ := json.Marshal(map[string]any{
		"id": id, "create_time": time.Now().Format(time.RFC3339), "resource_type": "encrypt-resource",
		"event_type": eventType, "summary": "test",
		"resource": map[string]string{"original_type": originalType, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(ct), "associated_data": originalType, "nonce": nonce},
	})
	return body
}

// sign returns the headers WeChat Pay would send with body at time ts.
func (s signer) sign(body []byte, ts time.Time) http.Header {
	nonce := strconv.FormatInt(ts.UnixNano(), 36)
	msg := fmt.Sprintf("%d\n%s\n%s\n", ts.Unix(), nonce, body)
	sum := sha256.Sum256([]byte(msg))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	return http.Header{
		"Wechatpay-Serial":         {s.serial},
		"Wechatpay-Timestamp":      {strconv.FormatInt(ts.Unix(), 10)},
		"Wechatpay-Nonce":          {nonce},
		"Wechatpay-Signature":      {base64.StdEncoding.EncodeToString(sig)},
		"Wechatpay-Signature-Type": {"WECHATPAY2-SHA256-RSA2048"},
		"Content-Type":             {"application/json"},
	}
}

func TestOtherEvents(t *testing.T) {
	s := newStack(t, nil)
	sg := newSigner(t)
	no := s.newOrder("oOther", "mug-ceramic")
	post := func(id, eventType, originalType string, plain any) fntest.Reply {
		p, _ := json.Marshal(plain)
		body := sg.envelope(t, id, eventType, originalType, p)
		return s.send(emulator.PayNotification{Body: body, Header: sg.sign(body, time.Now())})
	}
	// An event type we do not handle is acknowledged and recorded as ignored.
	if r := post("EV-other-1", "TRANSACTION.CLOSED", "transaction", map[string]any{"out_trade_no": no}); r.Status != 200 {
		t.Fatalf("unknown event type: %d %s", r.Status, r.Raw)
	}
	// A refund notice whose status contradicts its event type is flagged, not applied.
	if r := post("EV-other-2", "REFUND.SUCCESS", "refund", map[string]any{"mchid": fntest.Merchant().MchID, "out_trade_no": no,
		"out_refund_no": "RX", "refund_status": "CLOSED", "amount": map[string]any{"total": 3900, "refund": 3900}}); r.Status != 200 {
		t.Fatalf("contradictory refund: %d %s", r.Status, r.Raw)
	}
	// A payment for an order we never created.
	if r := post("EV-other-3", "TRANSACTION.SUCCESS", "transaction", map[string]any{"appid": emulator.DefaultAppID, "mchid": fntest.Merchant().MchID,
		"out_trade_no": "20990101000000nosuchone", "transaction_id": "4200", "trade_state": "SUCCESS", "amount": map[string]any{"total": 1}}); r.Status != 200 {
		t.Fatalf("unknown order: %d %s", r.Status, r.Raw)
	}
	// Authentic but not decryptable (a wrong APIv3 key on our side, say): WeChat Pay must retry.
	body := []byte(`{"id":"EV-other-4","event_type":"TRANSACTION.SUCCESS","resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"0123456789ab","ciphertext":"AAAA","associated_data":"transaction"}}`)
	if r := s.send(emulator.PayNotification{Body: body, Header: sg.sign(body, time.Now())}); r.Status != 500 || r.Str("code") != "FAIL" {
		t.Fatalf("undecryptable: %d %s", r.Status, r.Raw)
	}
	got := map[string]string{}
	for _, e := range s.events() {
		got[e.ID] = string(e.Outcome) + ":" + e.Detail
	}
	want := map[string]string{
		"EV-other-1": "ignored:event type not handled",
		"EV-other-2": "flagged:event_type REFUND.SUCCESS but refund_status CLOSED",
		"EV-other-3": "flagged:" + orders.FlagUnknownOrder,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v\nwant %v", got, want)
	}
	if o := s.order(no); o.State != orders.StateCreated || o.Flagged {
		t.Fatalf("order %+v", o)
	}
}

// FuzzNotify throws arbitrary bodies and headers at paynotify, unsigned and validly signed: it
// must never panic, never acknowledge an unverified notification, and never move an order.
func FuzzNotify(f *testing.F) {
	s := newFuzzStack(f)
	sg := newSigner(f)
	f.Add([]byte(`{"id":"EV-1","event_type":"TRANSACTION.SUCCESS","resource":{}}`), "PUB_KEY_ID_1", int64(0), false)
	f.Add([]byte(`{}`), "", int64(400), true)
	f.Add([]byte{0xff, 0xfe}, "WECHATPAY/SIGNTEST/", int64(-10), false)
	f.Add([]byte(`{"id":"EV-2","event_type":"REFUND.SUCCESS","resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"short","ciphertext":"","associated_data":"refund"}}`), "", int64(0), true)
	f.Add(sg.envelope(f, "EV-3", "TRANSACTION.SUCCESS", "transaction", []byte(`{"out_trade_no":"`+s.no+`","amount":{"total":"x"}}`)), "", int64(0), true)
	f.Fuzz(func(t *testing.T, body []byte, serial string, skew int64, signed bool) {
		h := http.Header{"Wechatpay-Serial": {serial}, "Wechatpay-Timestamp": {strconv.FormatInt(time.Now().Unix()-skew, 10)},
			"Wechatpay-Nonce": {"n"}, "Wechatpay-Signature": {serial}}
		if signed {
			h = sg.sign(body, time.Now().Add(-time.Duration(skew%600)*time.Second))
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		for k, v := range h {
			req.Header[k] = v
		}
		w := httptest.NewRecorder()
		s.handler.ServeHTTP(w, req)
		if w.Code >= 200 && w.Code < 300 && !signed {
			t.Fatalf("an unsigned notification was acknowledged: %d %s", w.Code, w.Body)
		}
		if o := s.order(); o.State != orders.StateCreated || o.Flagged {
			t.Fatalf("the order moved: %s flagged=%v", o.State, o.Flagged)
		}
	})
}

type fuzzStack struct {
	handler http.Handler
	books   *orders.Store
	no      string
}

func (s *fuzzStack) order() orders.Order {
	o, err := s.books.Get(context.Background(), s.no)
	if err != nil {
		panic(err)
	}
	return o
}

// newFuzzStack is paynotify over a database holding one CREATED order, which no fuzzed input can
// pay: a validly signed one would also need the order's amount, appid and mchid in a body that
// decrypts with the APIv3 key.
func newFuzzStack(f *testing.F) *fuzzStack {
	f.Helper()
	env := fntest.Env(f, nil)
	d := fntest.Deps(f, env)
	books := fntest.Books(f, fntest.DB(f, env))
	now := time.Now()
	o, _, err := books.Create(context.Background(), orders.Order{OutTradeNo: orders.NewOutTradeNo(now), OpenID: "oFuzz",
		Items: []orders.Item{{SKU: "coins-100", Name: "coins", Price: 100, Qty: 1, Kind: orders.KindVirtual}}, Amount: 100,
		Description: "coins", TimeExpire: now.Add(time.Hour)}, now)
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzStack{handler: runtime.HTTPHandler(paynotify.NewWithDeps(d)), books: books, no: o.OutTradeNo}
}

func TestAnswersAreJSON(t *testing.T) {
	s := newStack(t, nil)
	r := s.send(emulator.PayNotification{Body: []byte("{}"), Header: http.Header{}})
	if r.Status != 401 || r.Str("code") != "FAIL" || !strings.Contains(r.Raw, "signature") {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if r := s.Get("/paynotify/", ""); r.Status != 405 {
		t.Fatalf("GET: %d", r.Status)
	}
}
