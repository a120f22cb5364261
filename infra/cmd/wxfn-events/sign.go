package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/wxpay"
)

type signOptions struct {
	envFile string
	stack   string
	order   string
	refund  string
	keepID  bool
	tamper  bool
	now     func() time.Time // nil: time.Now
}

func signCommand(o signOptions, sampleFile, outFile string) error {
	if o.stack == "" {
		u, err := stackURL(o.envFile)
		if err != nil {
			return err
		}
		o.stack = u
	}
	event, err := os.ReadFile(sampleFile)
	if err != nil {
		return err
	}
	out, err := resign(http.DefaultClient, o, event)
	if err != nil {
		return err
	}
	if outFile == "" {
		_, err = os.Stdout.Write(out)
		return err
	}
	return os.WriteFile(outFile, out, 0o644)
}

// stackURL reads WXFN_DEV_URL from the stack's settings file.
func stackURL(envFile string) (string, error) {
	f, err := os.Open(envFile)
	if err != nil {
		return "", fmt.Errorf("%w (is `make dev` running? or pass -stack URL)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "WXFN_DEV_URL="); ok {
			return strings.Trim(v, `'"`), nil
		}
	}
	return "", fmt.Errorf("%s names no WXFN_DEV_URL", envFile)
}

// resign re-signs a sample notification event for the stack at o.stack.
func resign(hc *http.Client, o signOptions, event []byte) ([]byte, error) {
	now := time.Now
	if o.now != nil {
		now = o.now
	}
	_, fields, headers, body, err := unwrap(event)
	if err != nil {
		return nil, err
	}
	if sig, ok := headers["wechatpay-signature"]; !ok || strings.HasPrefix(sig, "WECHATPAY/SIGNTEST/") {
		// A probe or an unsigned sample is refused whatever the keys; it stays as it is.
		return event, nil
	}
	var env wxpay.NotificationEnvelope
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return nil, fmt.Errorf("the sample's body is not a notification: %w", err)
	}
	var stackKeys emulator.PayKeysResponse
	if err := getJSON(hc, o.stack+emulator.PayPrefix+"/keys", &stackKeys); err != nil {
		return nil, err
	}
	plain, err := open(testAPIv3Key, env.Resource)
	if err != nil {
		// Perhaps already signed for this stack.
		if plain, err = open(stackKeys.APIv3Key, env.Resource); err != nil {
			return nil, errors.New("the sample's resource decrypts with neither the test-only nor the stack's APIv3 key")
		}
	}
	plain, err = fill(hc, o, env.EventType, plain, stackKeys)
	if err != nil {
		return nil, err
	}

	k := keys{apiV3Key: stackKeys.APIv3Key, serial: stackKeys.PublicKeyID}
	if k.platform, err = parsePrivateKey(stackKeys.PlatformPrivateKey); err != nil {
		return nil, err
	}
	if stackKeys.Mode == emulator.PayModeCert {
		k.serial = stackKeys.PlatformCertSerial
	}
	at := now()
	id := env.ID
	if !o.keepID {
		id = newID()
	}
	nb, err := envelope(k, id, at.In(wxpay.Beijing).Format(time.RFC3339), env.EventType, env.Summary,
		env.Resource.OriginalType, randomString(12), plain)
	if err != nil {
		return nil, err
	}
	signed, err := signHeaders(k, nb, at, randomString(32))
	if err != nil {
		return nil, err
	}
	for h, v := range signed {
		headers[h] = v
	}
	if o.tamper {
		nb = []byte(strings.Replace(string(nb), `"summary":"`, `"summary":"TAMPERED `, 1))
	}
	headers["content-length"] = fmt.Sprint(len(nb))
	if c, ok := fields["requestContext"].(map[string]any); ok {
		c["timeEpoch"] = at.UnixMilli()
		c["time"] = at.UTC().Format("02/Jan/2006:15:04:05 -0700")
	}
	return rewrap(fields, headers, string(nb))
}

// fill takes the resource's business content from the emulator's records, so that the
// notification is the one WeChat Pay would send for that order or refund, and always names the
// stack's merchant.
func fill(hc *http.Client, o signOptions, eventType string, plain []byte, k emulator.PayKeysResponse) ([]byte, error) {
	appid := ""
	if len(k.AppIDs) > 0 {
		appid = k.AppIDs[0]
	}
	switch {
	case strings.HasPrefix(eventType, "TRANSACTION."):
		var t wxpay.Transaction
		if err := json.Unmarshal(plain, &t); err != nil {
			return nil, fmt.Errorf("the sample's resource is not a transaction: %w", err)
		}
		t.MchID = k.MchID
		if appid != "" {
			t.AppID = appid
		}
		if o.order != "" {
			var w emulator.OrderInfo
			if err := getJSON(hc, o.stack+emulator.PayPrefix+"/orders/"+url.PathEscape(o.order), &w); err != nil {
				return nil, err
			}
			if w.TransactionID == "" {
				return nil, fmt.Errorf("order %s is not paid in the emulator; pay it without a notification first: curl -X POST %s/_emu/pay/orders/%s/pay -d '{\"deliver\":false}'", o.order, o.stack, o.order)
			}
			t.AppID, t.MchID, t.OutTradeNo, t.TransactionID = w.AppID, w.MchID, w.OutTradeNo, w.TransactionID
			t.TradeState, t.BankType, t.Attach, t.SuccessTime = "SUCCESS", w.BankType, w.Attach, w.SuccessTime
			t.Payer.OpenID = w.OpenID
			t.Amount.Total, t.Amount.PayerTotal = w.Total, w.PayerTotal
		}
		return json.Marshal(t)
	case strings.HasPrefix(eventType, "REFUND."):
		var n wxpay.RefundNotice
		if err := json.Unmarshal(plain, &n); err != nil {
			return nil, fmt.Errorf("the sample's resource is not a refund notice: %w", err)
		}
		n.MchID = k.MchID
		if o.refund != "" {
			var r emulator.RefundInfo
			if err := getJSON(hc, o.stack+emulator.PayPrefix+"/refunds/"+url.PathEscape(o.refund), &r); err != nil {
				return nil, err
			}
			var w emulator.OrderInfo
			if err := getJSON(hc, o.stack+emulator.PayPrefix+"/orders/"+url.PathEscape(r.OutTradeNo), &w); err != nil {
				return nil, err
			}
			n.OutTradeNo, n.TransactionID, n.OutRefundNo, n.RefundID = r.OutTradeNo, w.TransactionID, r.OutRefundNo, r.RefundID
			n.Amount.Total, n.Amount.Refund, n.Amount.PayerTotal, n.Amount.PayerRefund = w.Total, r.Amount, w.PayerTotal, r.Amount
			n.RefundStatus = strings.TrimPrefix(eventType, "REFUND.")
			n.SuccessTime = ""
			if n.RefundStatus == "SUCCESS" {
				n.SuccessTime = r.SuccessTime
				if n.SuccessTime == "" {
					n.SuccessTime = time.Now().In(wxpay.Beijing).Format(time.RFC3339)
				}
			}
		}
		return json.Marshal(n)
	}
	return plain, nil
}

func getJSON(hc *http.Client, u string, v any) error {
	resp, err := hc.Get(u)
	if err != nil {
		return fmt.Errorf("the local stack: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, v)
}

// newID returns a notification id shaped like WeChat Pay's (a UUID).
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomString(n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
