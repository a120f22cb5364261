package wxtoken_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/wxfn/wxfn/infra/dbtest"
	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/wechat"
	"github.com/wxfn/wxfn/shared/wxtoken"
)

var (
	emu     *emulator.Emulator
	apiBase string
)

func TestMain(m *testing.M) {
	emu = emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu)
	apiBase = srv.URL + "/_emu/wx"
	defer srv.Close()
	dbtest.Main(m)
}

func miniCfg() config.MiniProgram {
	return config.MiniProgram{AppID: emulator.DefaultAppID, Secret: emulator.DefaultAppSecret, APIBase: apiBase}
}

func fixed(db *mongo.Database) wxtoken.DB {
	return func(context.Context) (*mongo.Database, error) { return db, nil }
}

// Many instances starting cold at once, each with its own cache object, SDK client and
// in-process lock (as separate SCF or Lambda instances would have), make exactly one token call
// and all use the same token.
func TestConcurrentColdInstancesMakeOneTokenCall(t *testing.T) {
	emu.Reset()
	db := dbtest.Database(t)
	const instances = 24
	tokens := make([]string, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range instances {
		mp := wechat.NewMiniProgram(miniCfg(), wxtoken.New(fixed(db)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tokens[i], errs[i] = mp.AccessToken(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	for i := range instances {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if tokens[i] == "" || tokens[i] != tokens[0] {
			t.Fatalf("instance %d got token %q, instance 0 got %q", i, tokens[i], tokens[0])
		}
	}
	if n := emu.CallCount("/cgi-bin/stable_token"); n != 1 {
		t.Fatalf("stable_token calls = %d, want 1", n)
	}
	if n := emu.CallCount("/cgi-bin/token"); n != 0 {
		t.Fatalf("ordinary token calls = %d, want 0 (ordinary tokens invalidate each other)", n)
	}
	// A later cold instance reuses the stored token without calling WeChat.
	late := wechat.NewMiniProgram(miniCfg(), wxtoken.New(fixed(db)))
	if tok, err := late.AccessToken(context.Background()); err != nil || tok != tokens[0] {
		t.Fatalf("late instance: %q, %v", tok, err)
	}
	if n := emu.CallCount("/cgi-bin/stable_token"); n != 1 {
		t.Fatalf("stable_token calls after a late instance = %d, want 1", n)
	}
}

// A refused token (40001) is dropped, refreshed once, and the call retried once; the phone number
// still arrives.
func TestRefusedTokenRefreshesAndRetriesOnce(t *testing.T) {
	emu.Reset()
	db := dbtest.Database(t)
	mp := wechat.NewMiniProgram(miniCfg(), wxtoken.New(fixed(db)))
	first, err := mp.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	code, err := emu.MintPhoneCode(emulator.PhoneCodeRequest{PhoneNumber: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.InjectFault(emulator.Fault{Path: "/wxa/business/getuserphonenumber", Count: 1, Errcode: 40001}); err != nil {
		t.Fatal(err)
	}
	p, err := mp.PhoneNumber(context.Background(), code.Code)
	if err != nil {
		t.Fatalf("PhoneNumber after one 40001: %v", err)
	}
	if p.PurePhoneNumber != "13800138000" {
		t.Fatalf("phone = %+v", p)
	}
	if n := emu.CallCount("/wxa/business/getuserphonenumber"); n != 2 {
		t.Fatalf("phone calls = %d, want 2 (one refused, one retry)", n)
	}
	second, err := mp.AccessToken(context.Background())
	if err != nil || second == first {
		t.Fatalf("token after refusal = %q (%v); want a fresh one, not %q", second, err, first)
	}
	// Another instance sees the fresh token, not the refused one.
	other := wechat.NewMiniProgram(miniCfg(), wxtoken.New(fixed(db)))
	if tok, _ := other.AccessToken(context.Background()); tok != second {
		t.Fatalf("other instance token = %q, want %q", tok, second)
	}
}

// Two refusals in a row are not retried forever: one retry, then the error.
func TestRefusedTwiceGivesUp(t *testing.T) {
	emu.Reset()
	db := dbtest.Database(t)
	mp := wechat.NewMiniProgram(miniCfg(), wxtoken.New(fixed(db)))
	code, _ := emu.MintPhoneCode(emulator.PhoneCodeRequest{PhoneNumber: "13800138000"})
	emu.InjectFault(emulator.Fault{Path: "/wxa/business/getuserphonenumber", Count: 5, Errcode: 42001})
	_, err := mp.PhoneNumber(context.Background(), code.Code)
	if !wechat.IsTokenRefused(err) {
		t.Fatalf("err = %v, want a token refusal", err)
	}
	if n := emu.CallCount("/wxa/business/getuserphonenumber"); n != 2 {
		t.Fatalf("phone calls = %d, want 2", n)
	}
}

// Invalidate removes only the refused value: an instance late to report a refusal does not
// throw away the token another instance has already refreshed.
func TestInvalidateOnlyTheRefusedValue(t *testing.T) {
	db := dbtest.Database(t)
	ctx := context.Background()
	c := wxtoken.New(fixed(db))
	if err := c.Set("k", "fresh", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate(ctx, "k", "stale"); err != nil {
		t.Fatal(err)
	}
	if v := wxtoken.New(fixed(db)).Get("k"); v != "fresh" {
		t.Fatalf("after invalidating another value: %v", v)
	}
	if err := c.Invalidate(ctx, "k", "fresh"); err != nil {
		t.Fatal(err)
	}
	if c.IsExist("k") || wxtoken.New(fixed(db)).IsExist("k") {
		t.Fatal("value still there after invalidating it")
	}
}

// A lease holder that dies mid-fetch blocks the others only until its lease runs out.
func TestExpiredLeaseIsTakenOver(t *testing.T) {
	db := dbtest.Database(t)
	holder := wxtoken.New(fixed(db), wxtoken.WithLease(300*time.Millisecond, 5*time.Second))
	if v := holder.Get("k"); v != nil {
		t.Fatalf("holder Get = %v, want nil (it holds the lease)", v)
	}
	// The holder never calls Set. A second instance waits, then takes the lease over.
	waiter := wxtoken.New(fixed(db), wxtoken.WithLease(300*time.Millisecond, 5*time.Second))
	done := make(chan any, 1)
	go func() { done <- waiter.Get("k") }()
	select {
	case v := <-done:
		if v != nil {
			t.Fatalf("waiter Get = %v, want nil (its turn to fetch)", v)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("waiter never took the expired lease over")
	}
	if err := waiter.Set("k", "tok", time.Hour); err != nil {
		t.Fatal(err)
	}
	if v := holder.Get("k"); v != "tok" {
		t.Fatalf("holder sees %v after the waiter stored the token", v)
	}
}

// A waiter gets the value the lease holder stores.
func TestWaiterGetsHoldersValue(t *testing.T) {
	db := dbtest.Database(t)
	holder := wxtoken.New(fixed(db))
	if v := holder.Get("k"); v != nil {
		t.Fatalf("holder Get = %v", v)
	}
	waiter := wxtoken.New(fixed(db))
	done := make(chan any, 1)
	go func() { done <- waiter.Get("k") }()
	time.Sleep(100 * time.Millisecond)
	if err := holder.Set("k", "tok", time.Hour); err != nil {
		t.Fatal(err)
	}
	if v := <-done; v != "tok" {
		t.Fatalf("waiter Get = %v, want tok", v)
	}
}

func TestSetRefusesNonString(t *testing.T) {
	c := wxtoken.New(fixed(dbtest.Database(t)))
	if err := c.Set("k", []byte("tok"), time.Hour); err == nil {
		t.Fatal("a []byte value was accepted; the SDK would panic on it")
	}
}

// When the stored token expires, the instances that find it expired at the same moment still
// make one refresh between them. (FerretDB does not make conditional updates atomic, which is
// why the lease is an insert-only lock; this test fails with an update-based lease.)
func TestConcurrentRefreshAfterExpiryMakesOneCall(t *testing.T) {
	emu.Reset()
	db := dbtest.Database(t)
	first := wechat.NewMiniProgram(miniCfg(), wxtoken.New(fixed(db)))
	if _, err := first.AccessToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(3 * time.Hour) } // past the token's expiry
	const instances = 24
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, instances)
	for i := range instances {
		mp := wechat.NewMiniProgram(miniCfg(), wxtoken.New(fixed(db), wxtoken.WithClock(later)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = mp.AccessToken(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	if n := emu.CallCount("/cgi-bin/stable_token"); n != 2 {
		t.Fatalf("stable_token calls = %d, want 2 (the first fetch and one refresh)", n)
	}
}
