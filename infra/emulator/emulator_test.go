package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/miniprogram"
	mpconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/util"
)

// The package's tests share one emulator behind one server, because util.SetURIModifier (how the
// real SDK is pointed at the emulator) is process-global. Tests do not run in parallel; each
// starts with fresh() to reset the state and the clock.
var (
	clock   = &fakeClock{}
	emu     *Emulator
	baseURL string // the server's URL, no trailing slash
)

const (
	appA    = "wx1111111111111111"
	secretA = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	appB    = "wx2222222222222222"
	secretB = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
)

// start is an arbitrary fixed instant, so expiry tests never depend on the wall clock.
var start = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func TestMain(m *testing.M) {
	emu = New(Config{Apps: []App{{AppID: appA, Secret: secretA}, {AppID: appB, Secret: secretB}}, Now: clock.Now})
	srv := httptest.NewServer(emu)
	baseURL = srv.URL
	util.SetURIModifier(func(uri string) string {
		return strings.Replace(uri, "https://api.weixin.qq.com", srv.URL+WXPrefix, 1)
	})
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// fresh resets the emulator and the clock for one test.
func fresh(t *testing.T) {
	t.Helper()
	emu.Reset()
	clock.set(start)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mini returns an SDK client for the app with its own token cache.
func mini(appid, secret string, stable bool) *miniprogram.MiniProgram {
	return miniprogram.NewMiniProgram(&mpconfig.Config{AppID: appid, AppSecret: secret, Cache: cache.NewMemory(), UseStableAK: stable})
}

// fixedToken is an SDK token handle that always answers one token, to call APIs with a token of the
// test's choosing.
type fixedToken string

func (f fixedToken) GetAccessToken() (string, error) { return string(f), nil }

// miniWithToken returns an SDK client that uses tok.
func miniWithToken(appid, tok string) *miniprogram.MiniProgram {
	m := mini(appid, "unused", false)
	m.SetAccessTokenHandle(fixedToken(tok))
	return m
}

var errcodeText = regexp.MustCompile(`errcode=(-?\d+)`)

// errcodeOf extracts WeChat's errcode from an SDK error: a *util.CommonError, or the plain text
// errors of the token and Code2Session paths. 0 means no error; -999 means an error without one.
func errcodeOf(err error) int {
	if err == nil {
		return 0
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return int(ce.ErrCode)
	}
	if m := errcodeText.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return -999
}

// call makes a raw request to the emulator and decodes the JSON answer into a map.
func call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	status, raw := callRaw(t, method, path, body)
	var m map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return status, m
}

// callRaw makes a raw request; body is sent as is when it is a string or []byte, else as JSON.
func callRaw(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// errcodeIn returns the errcode of a decoded WeChat answer (0 when absent).
func errcodeIn(m map[string]any) int {
	f, _ := m["errcode"].(float64)
	return int(f)
}

// mintCode mints a login code through the HTTP control API.
func mintCode(t *testing.T, req CodeRequest) CodeResponse {
	t.Helper()
	status, raw := callRaw(t, http.MethodPost, WXPrefix+"/codes", req)
	if status != http.StatusCreated {
		t.Fatalf("mint code: status %d: %s", status, raw)
	}
	var resp CodeResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// token fetches an ordinary token through the SDK's own fetcher.
func token(t *testing.T, appid, secret string) string {
	t.Helper()
	res, err := credentialToken(appid, secret)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return res
}
