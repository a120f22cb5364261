package wxpay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// NotificationEnvelope is the body WeChat Pay posts to a notify URL (reference §4.1, §6.4).
type NotificationEnvelope struct {
	ID           string            `json:"id"`
	CreateTime   string            `json:"create_time"`
	ResourceType string            `json:"resource_type"` // encrypt-resource
	EventType    string            `json:"event_type"`    // TRANSACTION.SUCCESS, REFUND.SUCCESS, …
	Summary      string            `json:"summary"`
	Resource     EncryptedResource `json:"resource"`
}

// EncryptedResource is the notification's payload, sealed with AEAD_AES_256_GCM under the APIv3
// key: Ciphertext = Base64(ciphertext ‖ tag), Nonce = 12 ASCII bytes, AssociatedData as is.
type EncryptedResource struct {
	OriginalType   string `json:"original_type"` // transaction, refund
	Algorithm      string `json:"algorithm"`     // AEAD_AES_256_GCM
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// Notification is a verified, decrypted notification. Exactly one of Transaction (event types
// TRANSACTION.*) and Refund (REFUND.*) is set; for other event types only Plaintext is.
type Notification struct {
	ID          string        // unique per notification; redeliveries keep it
	EventType   string        // see the Event constants
	CreateTime  string        // RFC 3339
	Summary     string        // e.g. 支付成功
	Serial      string        // the key that signed it: a platform certificate serial or PUB_KEY_ID_…
	Transaction *Transaction  // TRANSACTION.*
	Refund      *RefundNotice // REFUND.*
	Plaintext   []byte        // the decrypted resource, as sent
}

// Event types WeChat Pay notifies.
const (
	EventTransactionSuccess = "TRANSACTION.SUCCESS"
	EventRefundSuccess      = "REFUND.SUCCESS"
	EventRefundAbnormal     = "REFUND.ABNORMAL"
	EventRefundClosed       = "REFUND.CLOSED"
)

// Notification and response signature headers.
const (
	HeaderSerial        = "Wechatpay-Serial"
	HeaderSignature     = "Wechatpay-Signature"
	HeaderTimestamp     = "Wechatpay-Timestamp"
	HeaderNonce         = "Wechatpay-Nonce"
	HeaderSignatureType = "Wechatpay-Signature-Type"
)

const (
	signatureType = "WECHATPAY2-SHA256-RSA2048"
	probePrefix   = "WECHATPAY/SIGNTEST/"
	// Window is how far a notification's timestamp may be from our clock, either way.
	Window = 5 * time.Minute
)

// ParseNotification verifies a notification on the exact bytes received and only then parses
// and decrypts it. In order: signature probes are refused; the headers must be complete; the
// timestamp must be within Window of now; the serial must name the configured public key or a
// platform certificate (downloaded on first need; an unknown serial triggers at most one refresh
// a minute); the SHA256withRSA signature over "timestamp\nnonce\nbody\n" must verify.
//
// Errors: anything not authentic matches ErrInvalidSignature (answer 401; WeChat Pay redelivers
// genuine notifications); an authentic notification that cannot be decrypted or parsed matches
// ErrMalformedNotification; a platform-certificate download that failed is neither, and
// IsRetryable (answer 5xx). No error quotes the body or the headers.
func (c *Client) ParseNotification(ctx context.Context, h http.Header, body []byte) (n *Notification, err error) {
	verified := false
	defer func() {
		// The SDK's own path panics on a nonce of the wrong length (reference §2.6); ours checks
		// it, but a notification handler must never take the process down.
		if r := recover(); r != nil {
			n = nil
			if verified {
				err = fmt.Errorf("wxpay notification: %w: unexpected failure while decrypting", ErrMalformedNotification)
			} else {
				err = fmt.Errorf("wxpay notification: %w: unexpected failure while verifying", ErrInvalidSignature)
			}
		}
	}()
	serial, err := c.verify(ctx, h, body)
	if err != nil {
		return nil, err
	}
	verified = true
	return c.open(body, serial)
}

func invalid(why string) error {
	return fmt.Errorf("wxpay notification: %w: %s", ErrInvalidSignature, why)
}

// verify checks the signature headers against body and returns the signing serial.
func (c *Client) verify(ctx context.Context, h http.Header, body []byte) (string, error) {
	signature := header(h, HeaderSignature)
	if strings.HasPrefix(signature, probePrefix) {
		return "", fmt.Errorf("wxpay notification: %w: %w (%s…)", ErrInvalidSignature, ErrSignatureProbe, probePrefix)
	}
	if t := header(h, HeaderSignatureType); t != "" && t != signatureType {
		return "", invalid("unsupported " + HeaderSignatureType)
	}
	serial, ts, nonce := header(h, HeaderSerial), header(h, HeaderTimestamp), header(h, HeaderNonce)
	switch {
	case serial == "":
		return "", invalid("missing " + HeaderSerial)
	case signature == "":
		return "", invalid("missing " + HeaderSignature)
	case ts == "":
		return "", invalid("missing " + HeaderTimestamp)
	case nonce == "":
		return "", invalid("missing " + HeaderNonce)
	}
	sec, ok := unixSeconds(ts)
	if !ok {
		return "", invalid("malformed " + HeaderTimestamp)
	}
	if d := c.now().Sub(time.Unix(sec, 0)); d > Window || d < -Window {
		return "", invalid(fmt.Sprintf("timestamp %d is %s away from now, outside the %s window", sec, d.Round(time.Second), Window))
	}
	if err := c.knownSerial(ctx, serial); err != nil {
		return "", err
	}
	msg := make([]byte, 0, len(ts)+len(nonce)+len(body)+3)
	msg = append(append(append(append(append(append(msg, ts...), '\n'), nonce...), '\n'), body...), '\n')
	if err := c.verifier.Verify(ctx, serial, string(msg), signature); err != nil {
		// The SDK's text names the serial only; still, keep our own words.
		return "", invalid("signature does not verify with key " + serial)
	}
	return serial, nil
}

// knownSerial checks that serial names a key we verify with, before any signature work.
func (c *Client) knownSerial(ctx context.Context, serial string) error {
	if c.pubKeyID != "" && serial == c.pubKeyID {
		return nil
	}
	if c.certs == nil {
		return invalid("unknown serial " + strconv.Quote(serial) + " (only the WeChat Pay public key is configured)")
	}
	ok, err := c.certs.has(ctx, serial)
	if err != nil {
		// We cannot tell yet whether it is authentic; make WeChat Pay try again later.
		return classify("notification: platform certificates", err)
	}
	if !ok {
		return invalid("unknown serial " + strconv.Quote(serial))
	}
	return nil
}

// open decrypts and decodes an authentic notification.
func (c *Client) open(body []byte, serial string) (*Notification, error) {
	malformed := func(why string) error {
		return fmt.Errorf("wxpay notification: %w: %s", ErrMalformedNotification, why)
	}
	var env NotificationEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, malformed("body is not the notification JSON")
	}
	if env.ID == "" || env.EventType == "" {
		return nil, malformed("no id or event_type")
	}
	res := env.Resource
	if res.Algorithm != "AEAD_AES_256_GCM" {
		return nil, malformed("resource.algorithm is not AEAD_AES_256_GCM")
	}
	if len(res.Nonce) != c.aead.NonceSize() {
		return nil, malformed("resource.nonce is not 12 bytes")
	}
	sealed, err := base64.StdEncoding.DecodeString(res.Ciphertext)
	if err != nil {
		return nil, malformed("resource.ciphertext is not base64")
	}
	plain, err := c.aead.Open(sealed[:0], []byte(res.Nonce), sealed, []byte(res.AssociatedData))
	if err != nil {
		return nil, malformed("resource does not decrypt with the APIv3 key (is WXPAY_APIV3_KEY right?)")
	}
	n := &Notification{ID: env.ID, EventType: env.EventType, CreateTime: env.CreateTime, Summary: env.Summary, Serial: serial, Plaintext: plain}
	switch {
	case strings.HasPrefix(env.EventType, "TRANSACTION."):
		n.Transaction = new(Transaction)
		if err := json.Unmarshal(plain, n.Transaction); err != nil {
			return nil, malformed("resource is not a transaction")
		}
	case strings.HasPrefix(env.EventType, "REFUND."):
		n.Refund = new(RefundNotice)
		if err := json.Unmarshal(plain, n.Refund); err != nil {
			return nil, malformed("resource is not a refund")
		}
	}
	return n, nil
}

// header reads a header by its canonical name, falling back to a case-insensitive search for
// maps built by hand.
func header(h http.Header, key string) string {
	if v := h.Get(key); v != "" {
		return strings.TrimSpace(v)
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, key) {
			return strings.TrimSpace(vs[0])
		}
	}
	return ""
}

// unixSeconds parses a plain decimal timestamp: digits only, so that the signed text and the
// number agree.
func unixSeconds(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 12 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}
