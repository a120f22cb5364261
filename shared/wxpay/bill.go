package wxpay

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
)

// BillRef is WeChat Pay's answer to a bill request: where to download the file and the SHA-1 of
// its uncompressed bytes. The URL is valid for a short while (30 s to 5 min); download at once
// and request again if it has expired (INVALID_REQUEST).
type BillRef struct {
	HashType    string `json:"hash_type"`  // SHA1
	HashValue   string `json:"hash_value"` // hex SHA-1 of the uncompressed file
	DownloadURL string `json:"download_url"`
}

// TradeBill requests the ALL trade bill (payments and refunds) of date, YYYY-MM-DD in Beijing
// time. A day still being generated gives an error matching ErrBillNotReady (retry later); a day
// without any transaction, ErrNoBill. The file is asked for gzip-compressed.
func (c *Client) TradeBill(ctx context.Context, date string) (BillRef, error) {
	const op = "trade bill"
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return BillRef{}, fmt.Errorf("wxpay %s: date %q is not YYYY-MM-DD", op, date)
	}
	if err := c.ready(ctx, op); err != nil {
		return BillRef{}, err
	}
	q := url.Values{"bill_date": {date}, "bill_type": {"ALL"}, "tar_type": {"GZIP"}}
	res, err := c.api.Get(ctx, apiURL("/v3/bill/tradebill?"+q.Encode()))
	if err != nil {
		return BillRef{}, classify(op, err)
	}
	var ref BillRef
	if err := core.UnMarshalResponse(res.Response, &ref); err != nil {
		return BillRef{}, classify(op, err)
	}
	if ref.HashValue == "" || ref.DownloadURL == "" {
		return BillRef{}, fmt.Errorf("wxpay %s: answer without hash_value or download_url", op)
	}
	return ref, nil
}

// DownloadBill streams the bill file of ref into w, uncompressed, checking its SHA-1 on the way.
// The download is signed like any request but its answer is not (WeChat Pay sends the file
// without signature headers); the hash is what vouches for it. When the hash does not match,
// DownloadBill returns an error matching ErrBillHashMismatch after everything was written: w must
// be a temporary file or buffer that the caller commits only when DownloadBill returns nil.
func (c *Client) DownloadBill(ctx context.Context, ref BillRef, w io.Writer) error {
	const op = "download bill"
	if !strings.EqualFold(ref.HashType, "SHA1") {
		return fmt.Errorf("wxpay %s: unsupported hash_type %q", op, ref.HashType)
	}
	want, err := hex.DecodeString(ref.HashValue)
	if err != nil || len(want) != sha1.Size {
		return fmt.Errorf("wxpay %s: hash_value is not a hex SHA-1", op)
	}
	u, err := c.downloadURL(ref.DownloadURL)
	if err != nil {
		return fmt.Errorf("wxpay %s: %w", op, err)
	}
	res, err := c.raw.Get(ctx, u)
	if err != nil {
		return classify(op, err)
	}
	defer res.Response.Body.Close()

	// The file is gzip when we asked for it (tar_type=GZIP) — unless some layer already
	// inflated it. A bill (UTF-8 text) never starts with gzip's magic bytes, so look.
	br := bufio.NewReaderSize(netReader{res.Response.Body}, 64<<10)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return classify(op, err)
		}
		defer zr.Close()
		src = zr
	}
	h := sha1.New()
	if _, err := io.Copy(io.MultiWriter(w, h), src); err != nil {
		return classify(op, err)
	}
	if got := h.Sum(nil); subtle.ConstantTimeCompare(got, want) != 1 {
		return fmt.Errorf("wxpay %s: %w: got %x, announced %s", op, ErrBillHashMismatch, got, strings.ToLower(ref.HashValue))
	}
	return nil
}

// downloadURL returns the URL to have the SDK sign and fetch. WeChat Pay's download_url is on
// its API host; an emulator may answer with its own base instead, which is mapped back to the
// real host so that the signed path is the unprefixed one and the transport redirects it again.
// Other hosts are refused: the request carries our signature.
func (c *Client) downloadURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "", errors.New("download_url is not an absolute URL")
	}
	switch {
	case u.Scheme == "https" && (u.Host == realHost || u.Host == "api2.mch.weixin.qq.com"):
		return u.String(), nil
	case u.Scheme == c.base.Scheme && u.Host == c.base.Host:
		prefix := strings.TrimRight(c.base.Path, "/")
		rest, ok := strings.CutPrefix(u.Path, prefix)
		if !ok || !strings.HasPrefix(rest, "/") {
			return "", errors.New("download_url is outside the configured API base")
		}
		out := url.URL{Scheme: "https", Host: realHost, Path: rest, RawQuery: u.RawQuery}
		return out.String(), nil
	}
	return "", fmt.Errorf("download_url is on unexpected host %q", u.Host)
}

// netReader marks errors reading the response body as transport failures (retryable), apart
// from a corrupt gzip stream or a failing writer.
type netReader struct{ r io.Reader }

func (n netReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		err = &transportError{err: err}
	}
	return k, err
}
