package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// Pay is the WeChat Pay (APIv3) merchant the pay functions act as. Keys are parsed here, once,
// so that a malformed PEM fails at configuration time with the variable's name rather than at
// the first payment.
//
// Verification mode: with WXPAY_PUBLIC_KEY_ID and WXPAY_PUBLIC_KEY the merchant is in WeChat Pay
// public-key mode (every merchant registered since 2024); without them, in platform-certificate
// mode (certificates downloaded from /v3/certificates with the APIv3 key). During the portal's
// switch from certificates to the public key WeChat signs notifications with either for a week,
// so WXPAY_PLATFORM_CERTS=true keeps certificates accepted beside a configured public key.
//
// Pay holds secrets: its String, GoString and LogValue methods redact them, so printing or
// logging a Pay never shows a key.
type Pay struct {
	MchID      string          // WXPAY_MCHID: the merchant number (digits)
	AppID      string          // WXPAY_APPID, default WX_APPID: the mini-program bound to the merchant
	CertSerial string          // WXPAY_CERT_SERIAL: serial of the merchant API certificate (hex)
	PrivateKey *rsa.PrivateKey // WXPAY_PRIVATE_KEY (or _FILE): apiclient_key.pem
	APIv3Key   string          // WXPAY_APIV3_KEY (or _FILE): exactly 32 bytes

	PublicKeyID string         // WXPAY_PUBLIC_KEY_ID: PUB_KEY_ID_…
	PublicKey   *rsa.PublicKey // WXPAY_PUBLIC_KEY (or _FILE): pub_key.pem
	// PlatformCerts says whether WeChat Pay platform certificates are downloaded and accepted.
	// WXPAY_PLATFORM_CERTS; it defaults to true exactly when no public key is configured.
	PlatformCerts bool

	NotifyURL string // WXPAY_NOTIFY_URL: where WeChat Pay sends notifications (optional)
	APIBase   string // WXPAY_API_BASE, default https://api.mch.weixin.qq.com, no trailing slash
}

// PublicKeyMode reports whether responses and notifications are verified with the WeChat Pay
// public key (alone, or beside platform certificates during a migration).
func (p Pay) PublicKeyMode() bool { return p.PublicKey != nil }

// String describes p without its secrets.
func (p Pay) String() string {
	mode := "platform-certificate"
	switch {
	case p.PublicKey != nil && p.PlatformCerts:
		mode = "public-key+platform-certificate"
	case p.PublicKey != nil:
		mode = "public-key"
	}
	return fmt.Sprintf("config.Pay{MchID:%s AppID:%s CertSerial:%s Mode:%s PublicKeyID:%s NotifyURL:%s APIBase:%s PrivateKey:[redacted] APIv3Key:[redacted]}",
		p.MchID, p.AppID, p.CertSerial, mode, p.PublicKeyID, p.NotifyURL, p.APIBase)
}

// GoString keeps %#v from printing the private key's numbers.
func (p Pay) GoString() string { return p.String() }

// LogValue keeps slog from printing the secrets.
func (p Pay) LogValue() slog.Value { return slog.StringValue(p.String()) }

// The formats are checked by hand rather than with regexps: regexps compile when the package
// initialises, in every function's cold start, and these bounded repetitions are costly to compile.
func isDigits(b byte) bool { return b >= '0' && b <= '9' }
func isHex(b byte) bool    { return isDigits(b) || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' }
func isAlnum(b byte) bool  { return isDigits(b) || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// only reports whether s has between lo and hi bytes, each accepted by ok.
func only(s string, lo, hi int, ok func(byte) bool) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func validMchID(s string) bool  { return only(s, 1, 32, isDigits) }
func validSerial(s string) bool { return only(s, 1, 64, isHex) }
func validPublicKeyID(s string) bool {
	rest, ok := strings.CutPrefix(s, "PUB_KEY_ID_")
	return ok && only(rest, 1, 64, isAlnum)
}

// LoadPay reads the WXPAY_* settings (DESIGN §4). Every problem is reported in one error naming
// the variables; a key that does not parse is named, never quoted.
func LoadPay(lookup Lookup) (Pay, error) {
	r := newReader(lookup)
	p := Pay{
		MchID:       r.required("WXPAY_MCHID"),
		AppID:       r.optional("WXPAY_APPID", r.optional("WX_APPID", "")),
		CertSerial:  r.required("WXPAY_CERT_SERIAL"),
		APIv3Key:    r.secret("WXPAY_APIV3_KEY", true),
		PublicKeyID: r.optional("WXPAY_PUBLIC_KEY_ID", ""),
		NotifyURL:   r.optional("WXPAY_NOTIFY_URL", ""),
		APIBase:     strings.TrimRight(r.optional("WXPAY_API_BASE", DefaultWXPayAPIBase), "/"),
	}
	if p.MchID != "" && !validMchID(p.MchID) {
		r.invalid("WXPAY_MCHID", "must be the merchant number (digits)")
	}
	if p.AppID == "" {
		r.errs = append(r.errs, fmt.Errorf("missing setting WXPAY_APPID (or WX_APPID)"))
	}
	if p.CertSerial != "" && !validSerial(p.CertSerial) {
		r.invalid("WXPAY_CERT_SERIAL", "must be the merchant API certificate's serial number in hex")
	}
	if p.APIv3Key != "" && len(p.APIv3Key) != 32 {
		// The length is not the key; saying it helps tell the APIv3 key from the APIv2 one.
		r.invalid("WXPAY_APIV3_KEY", fmt.Sprintf("must be exactly 32 bytes (the APIv3 key, not the APIv2 key), got %d", len(p.APIv3Key)))
	}

	if pemText := r.secret("WXPAY_PRIVATE_KEY", true); pemText != "" {
		key, why := parseRSAPrivateKey(pemText)
		if why != "" {
			r.invalid("WXPAY_PRIVATE_KEY", why)
		}
		p.PrivateKey = key
	}

	pubText := r.secret("WXPAY_PUBLIC_KEY", false)
	switch {
	case p.PublicKeyID != "" && pubText == "":
		r.errs = append(r.errs, fmt.Errorf("missing setting WXPAY_PUBLIC_KEY (or WXPAY_PUBLIC_KEY_FILE): WXPAY_PUBLIC_KEY_ID is set"))
	case p.PublicKeyID == "" && pubText != "":
		r.errs = append(r.errs, fmt.Errorf("missing setting WXPAY_PUBLIC_KEY_ID: WXPAY_PUBLIC_KEY is set"))
	}
	if p.PublicKeyID != "" && !validPublicKeyID(p.PublicKeyID) {
		r.invalid("WXPAY_PUBLIC_KEY_ID", "must be the WeChat Pay public key ID, PUB_KEY_ID_ followed by digits")
	}
	if pubText != "" {
		key, why := parseRSAPublicKey(pubText)
		if why != "" {
			r.invalid("WXPAY_PUBLIC_KEY", why)
		}
		p.PublicKey = key
	}
	if p.PublicKey != nil && p.PrivateKey != nil && p.PublicKey.Equal(&p.PrivateKey.PublicKey) {
		// A classic mistake (reference §11.1): the merchant's own key cannot verify WeChat Pay.
		r.invalid("WXPAY_PUBLIC_KEY", "is the merchant's own public key; it must be the WeChat Pay public key (pub_key.pem)")
	}

	certsDefault := pubText == "" && p.PublicKeyID == ""
	p.PlatformCerts = certsDefault
	if v, ok := r.raw("WXPAY_PLATFORM_CERTS"); ok {
		b, err := strconv.ParseBool(v)
		switch {
		case err != nil:
			r.invalid("WXPAY_PLATFORM_CERTS", fmt.Sprintf("%q is not true or false", v))
		case !b && certsDefault:
			r.invalid("WXPAY_PLATFORM_CERTS", "false needs WXPAY_PUBLIC_KEY_ID and WXPAY_PUBLIC_KEY (something must verify WeChat Pay)")
		default:
			p.PlatformCerts = b
		}
	}

	if p.NotifyURL != "" {
		if why := checkNotifyURL(p.NotifyURL); why != "" {
			r.invalid("WXPAY_NOTIFY_URL", why)
		}
	}
	if u, err := url.Parse(p.APIBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		r.invalid("WXPAY_API_BASE", "must be an absolute http(s) URL without query, like "+DefaultWXPayAPIBase)
	}
	if err := r.err("pay"); err != nil {
		return Pay{}, err
	}
	return p, nil
}

// checkNotifyURL applies WeChat Pay's rules for notify_url that can be checked locally: an
// absolute http(s) URL without a query string. (WeChat also requires https and a public host;
// the local stack uses http on loopback against the emulator, so those are not enforced here.)
func checkNotifyURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "must be an absolute https URL"
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "must not have a query string or fragment (WeChat Pay refuses them)"
	}
	if len(s) > 255 {
		return "must be at most 255 characters"
	}
	return ""
}

// pemBlock decodes the first PEM block of text. Environment variables often carry PEMs with
// literal "\n" sequences instead of newlines; those are accepted too.
func pemBlock(text string) *pem.Block {
	if !strings.Contains(text, "\n") && strings.Contains(text, `\n`) {
		text = strings.ReplaceAll(text, `\n`, "\n")
	}
	b, _ := pem.Decode([]byte(text))
	return b
}

// parseRSAPrivateKey reads a PKCS#8 ("PRIVATE KEY", what the merchant portal issues) or PKCS#1
// ("RSA PRIVATE KEY") RSA key. The reason it returns never quotes the input.
func parseRSAPrivateKey(text string) (*rsa.PrivateKey, string) {
	b := pemBlock(text)
	if b == nil {
		return nil, "is not PEM (expected the PRIVATE KEY block of apiclient_key.pem)"
	}
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		return nil, fmt.Sprintf("is a %q PEM block, expected PRIVATE KEY (apiclient_key.pem)", b.Type)
	}
	if err != nil {
		return nil, "does not parse as a private key"
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, "is not an RSA key"
	}
	if rk.N.BitLen() < 2048 {
		return nil, fmt.Sprintf("is a %d-bit RSA key; WeChat Pay keys have 2048 bits", rk.N.BitLen())
	}
	return rk, ""
}

// parseRSAPublicKey reads a PKIX ("PUBLIC KEY", pub_key.pem) or PKCS#1 ("RSA PUBLIC KEY") key.
func parseRSAPublicKey(text string) (*rsa.PublicKey, string) {
	b := pemBlock(text)
	if b == nil {
		return nil, "is not PEM (expected the PUBLIC KEY block of pub_key.pem)"
	}
	var key any
	var err error
	switch b.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(b.Bytes)
	default:
		return nil, fmt.Sprintf("is a %q PEM block, expected PUBLIC KEY (pub_key.pem)", b.Type)
	}
	if err != nil {
		return nil, "does not parse as a public key"
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, "is not an RSA key"
	}
	if rk.N.BitLen() < 2048 {
		return nil, fmt.Sprintf("is a %d-bit RSA key; WeChat Pay keys have 2048 bits", rk.N.BitLen())
	}
	return rk, ""
}
