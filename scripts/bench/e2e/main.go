// Command e2e measures end-to-end latency of functions on the local stack (the same stack as
// `make dev`, started here on free ports in a temporary directory): for each scenario it runs
// a fixed number of requests at 1 and at 8 concurrent clients and prints p50/p99.
//
// Only the measured request is timed; preparing it (minting a login code at the emulator) is not.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxfn/wxfn/infra/devstack"
	"github.com/wxfn/wxfn/infra/emulator"
)

// scenario prepares one request (untimed) and sends it (timed).
type scenario struct {
	name string
	// prepare returns the request to time; it may call the stack itself.
	prepare func(s *devstack.Stack) (*http.Request, error)
	// want is the status a successful run answers.
	want int
}

// basket is what the payment scenarios order: two lines of virtual goods.
const basket = `{"items":[{"sku":"vip-month","qty":1},{"sku":"coins-100","qty":2}]}`

var scenarios = []scenario{
	{name: "login POST /", want: 200, prepare: func(s *devstack.Stack) (*http.Request, error) {
		c, err := s.Emulator.MintCode(emulator.CodeRequest{})
		if err != nil {
			return nil, err
		}
		return jsonRequest(s.URL+"/login/", "", fmt.Sprintf(`{"code":%q}`, c.Code))
	}},
	{name: "payorder POST /", want: 201, prepare: func(s *devstack.Stack) (*http.Request, error) {
		token, err := loginToken(s)
		if err != nil {
			return nil, err
		}
		return jsonRequest(s.URL+"/payorder/", token, basket)
	}},
	// A fresh order paid at the emulator without delivering the notification; the timed request
	// is WeChat Pay's signed notification (valid for 5 minutes, so prepared just before the run).
	{name: "paynotify POST /", want: 200, prepare: func(s *devstack.Stack) (*http.Request, error) {
		token, err := loginToken(s)
		if err != nil {
			return nil, err
		}
		no, err := postJSON(s.URL+"/payorder/", token, basket, "outTradeNo")
		if err != nil {
			return nil, err
		}
		deliver := false
		if _, err := s.Emulator.PayOrder(context.Background(), no, emulator.PayRequest{Deliver: &deliver}); err != nil {
			return nil, err
		}
		n, err := s.Emulator.NotificationFor(no, emulator.NotifyOptions{})
		if err != nil {
			return nil, err
		}
		return n.NewRequest(context.Background())
	}},
}

// loginToken logs a fresh user in through the gateway and returns the session token.
func loginToken(s *devstack.Stack) (string, error) {
	c, err := s.Emulator.MintCode(emulator.CodeRequest{})
	if err != nil {
		return "", err
	}
	return postJSON(s.URL+"/login/", "", fmt.Sprintf(`{"code":%q}`, c.Code), "token")
}

func jsonRequest(url, token, body string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// postJSON sends body and returns one string field of the JSON answer.
func postJSON(url, token, body, field string) (string, error) {
	req, err := jsonRequest(url, token, body)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
		return "", fmt.Errorf("%s: status %d (%v)", url, resp.StatusCode, err)
	}
	v, _ := out[field].(string)
	return v, nil
}

func main() {
	n := flag.Int("n", 200, "requests per scenario and concurrency level")
	flag.Parse()
	// The functions log every request; here that would only measure the terminal.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

	fmt.Printf("end to end on the local stack (embedded FerretDB on SQLite, emulator, gateway), %d requests each,\n", *n)
	fmt.Printf("a fresh stack per scenario; failed = answers other than the scenario's success status\n\n")
	fmt.Printf("  %-20s %11s %9s %9s %9s %8s %7s\n", "scenario", "concurrency", "p50 ms", "p99 ms", "max ms", "req/s", "failed")
	for _, sc := range scenarios {
		if err := runScenario(client, sc, *n); err != nil {
			fail(fmt.Errorf("%s: %w", sc.name, err))
		}
	}
}

// runScenario measures one scenario on a stack of its own, so that one scenario's documents do
// not slow the next: FerretDB's updates scan their collection, so latency grows with its size.
func runScenario(client *http.Client, sc scenario, n int) error {
	dir, err := os.MkdirTemp("", "wxfn-e2e-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := devstack.Start(context.Background(), devstack.Options{DataDir: dir, Addr: "127.0.0.1:0", MongoAddr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	for _, conc := range []int{1, 8} {
		lat, wall, failed, err := run(client, s, sc, n, conc)
		if err != nil {
			return err
		}
		fmt.Printf("  %-20s %11d %9.2f %9.2f %9.2f %8.0f %7d\n", sc.name, conc, ms(pct(lat, 50)), ms(pct(lat, 99)), ms(lat[len(lat)-1]), float64(n)/wall.Seconds(), failed)
	}
	return nil
}

// run prepares n requests (untimed), then sends them from conc clients and returns the sorted
// latencies, the wall time and how many answers were not the scenario's success status.
func run(client *http.Client, s *devstack.Stack, sc scenario, n, conc int) ([]time.Duration, time.Duration, int, error) {
	reqs := make([]*http.Request, n)
	for i := range reqs {
		r, err := sc.prepare(s)
		if err != nil {
			return nil, 0, 0, err
		}
		reqs[i] = r
	}
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				resp, err := client.Do(reqs[i])
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != sc.want {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	return lat, wall, int(failed.Load()), nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "e2e:", err)
	os.Exit(1)
}
