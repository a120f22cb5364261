package wxpay_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/wxpay"
)

func today() string { return time.Now().In(wxpay.Beijing).Format(time.DateOnly) }

// The trade bill of a day with payments downloads, gunzipped, with the announced SHA-1 — whether
// the download URL names the real host (cert emulator) or the emulator's own base (pk emulator).
func TestTradeBillDownload(t *testing.T) {
	ctx := context.Background()
	for name, e := range map[string]*emu{"download_url on the real host": cert, "download_url on the configured base": pk} {
		t.Run(name, func(t *testing.T) {
			url := notified.url(t)
			override := certMode
			if e == pk {
				override = nil
			}
			c := client(t, e, url, override)
			no, _ := placeAndPay(t, c, e, url, 1234)

			ref, err := c.TradeBill(ctx, today())
			if err != nil {
				t.Fatal(err)
			}
			if ref.HashType != "SHA1" || len(ref.HashValue) != 40 || ref.DownloadURL == "" {
				t.Fatalf("bill ref: %+v", ref)
			}
			if e == pk && !strings.HasPrefix(ref.DownloadURL, pk.base()) {
				t.Fatalf("pk emulator should answer with its own base: %s", ref.DownloadURL)
			}
			var buf bytes.Buffer
			if err := c.DownloadBill(ctx, ref, &buf); err != nil {
				t.Fatal(err)
			}
			sum := sha1.Sum(buf.Bytes())
			if !strings.EqualFold(hex.EncodeToString(sum[:]), ref.HashValue) {
				t.Fatal("written bytes are not the announced file")
			}
			bill := buf.String()
			if !strings.Contains(bill, "交易时间,公众账号ID,商户号") || !strings.Contains(bill, "`"+no) || !strings.Contains(bill, "总交易单数") {
				t.Fatalf("not the day's trade bill with order %s:\n%s", no, bill)
			}

			// A download whose bytes are not what WeChat Pay announced is an error (the caller drops
			// what was written).
			wrong := ref
			wrong.HashValue = strings.Repeat("0", 40)
			ref2, err := c.TradeBill(ctx, today())
			if err != nil {
				t.Fatal(err)
			}
			wrong.DownloadURL = ref2.DownloadURL
			if err := c.DownloadBill(ctx, wrong, &bytes.Buffer{}); !errors.Is(err, wxpay.ErrBillHashMismatch) || wxpay.IsRetryable(err) {
				t.Fatalf("wrong hash: %v", err)
			}
		})
	}
}

func TestTradeBillErrors(t *testing.T) {
	ctx := context.Background()
	c := client(t, pk, notified.url(t), nil)
	if _, err := c.TradeBill(ctx, "2024-5-1"); err == nil {
		t.Fatal("malformed date accepted")
	}

	pk.InjectFault(emulator.Fault{Path: "/v3/bill/tradebill", Code: "STATEMENT_CREATING", Count: 1})
	if _, err := c.TradeBill(ctx, today()); !errors.Is(err, wxpay.ErrBillNotReady) || !wxpay.IsRetryable(err) {
		t.Fatalf("bill being generated: %v", err)
	}
	pk.InjectFault(emulator.Fault{Path: "/v3/bill/tradebill", Code: "NO_STATEMENT_EXIST", Count: 1})
	if _, err := c.TradeBill(ctx, today()); !errors.Is(err, wxpay.ErrNoBill) || wxpay.IsRetryable(err) {
		t.Fatalf("no bill: %v", err)
	}

	ref, err := c.TradeBill(ctx, today())
	if err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*wxpay.BillRef){
		"unknown hash type":  func(r *wxpay.BillRef) { r.HashType = "MD5" },
		"hash not hex":       func(r *wxpay.BillRef) { r.HashValue = strings.Repeat("z", 40) },
		"download elsewhere": func(r *wxpay.BillRef) { r.DownloadURL = "https://attacker.example/v3/billdownload/file?token=x" },
		"not absolute":       func(r *wxpay.BillRef) { r.DownloadURL = "/v3/billdownload/file?token=x" },
		"outside the base":   func(r *wxpay.BillRef) { r.DownloadURL = pk.url + "/elsewhere/v3/billdownload/file?token=x" },
	} {
		r := ref
		mut(&r)
		var buf bytes.Buffer
		if err := c.DownloadBill(ctx, r, &buf); err == nil || buf.Len() != 0 {
			t.Errorf("%s: %v, wrote %d bytes", name, err, buf.Len())
		}
	}
	// An unknown token is WeChat Pay's INVALID_REQUEST.
	bad := ref
	bad.DownloadURL = strings.Replace(ref.DownloadURL, "token=", "token=x", 1)
	if err := c.DownloadBill(ctx, bad, &bytes.Buffer{}); wxpay.Code(err) == "" {
		t.Fatalf("unknown token: %v", err)
	}
}

// rewriter changes bill download responses on their way in, as a proxy might.
type rewriter func(body []byte) []byte

func (f rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/v3/billdownload/") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b = f(b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
}

// Whether the file arrives gzipped or already inflated, it is stored uncompressed and checked;
// a download cut short is an error.
func TestBillDownloadEncodings(t *testing.T) {
	ctx := context.Background()
	url := notified.url(t)
	payer := client(t, pk, url, nil)
	placeAndPay(t, payer, pk, url, 4321)

	gunzip := func(b []byte) []byte {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Errorf("the emulator did not send gzip: %v", err)
			return b
		}
		out, _ := io.ReadAll(zr)
		return out
	}
	truncate := func(b []byte) []byte { return b[:len(b)/2] }
	for name, tt := range map[string]struct {
		rewrite rewriter
		ok      bool
	}{
		"already inflated": {gunzip, true},
		"cut short":        {truncate, false},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.LoadPay(env(pk, url, nil))
			if err != nil {
				t.Fatal(err)
			}
			c, err := wxpay.New(ctx, cfg, &http.Client{Transport: tt.rewrite})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ref, err := c.TradeBill(ctx, today())
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			err = c.DownloadBill(ctx, ref, &buf)
			if tt.ok != (err == nil) {
				t.Fatalf("DownloadBill: %v", err)
			}
			if tt.ok && !strings.HasPrefix(strings.TrimPrefix(buf.String(), "\ufeff"), "交易时间,") {
				t.Fatalf("stored file is not the plain bill: %q", buf.String()[:min(buf.Len(), 40)])
			}
		})
	}
}
