package emulator

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// PayPrefix is where api.mch.weixin.qq.com (WeChat Pay APIv3) lives: functions use
// WXPAY_API_BASE=http://HOST/_emu/pay, and the real paths (/v3/…) follow it.
const PayPrefix = Prefix + "/pay"

// PayHost is the real WeChat Pay API base. The trade bill's download_url points there, as the real
// one does, so a client that redirects every WeChat Pay call to the emulator redirects it too.
const PayHost = "https://api.mch.weixin.qq.com"

// How the pay host signs what it sends (Config.Pay.Mode). Responses follow the request's
// Wechatpay-Serial as WeChat Pay does (the public key id → public-key signature, the platform
// certificate serial → certificate signature); the mode decides notifications and requests that
// name neither.
const (
	// PayModePublicKey is a merchant that switched to the WeChat Pay public key and still has its
	// platform certificate (the default): notifications are signed with the public key.
	PayModePublicKey = "pubkey"
	// PayModeCert is a merchant on platform certificates: notifications are signed with the
	// certificate's key and carry its serial.
	PayModeCert = "cert"
	// PayModePublicKeyOnly is a merchant registered after 2024 that never had a platform
	// certificate: everything is signed with the public key and /v3/certificates answers
	// {"data":[]}.
	PayModePublicKeyOnly = "pubkey-only"
)

// DefaultMchID is a merchant id shaped like a real one, for local stacks and tests.
const DefaultMchID = "1900000001"

// Merchant is a WeChat Pay merchant registered with the emulator: what WeChat Pay knows about it.
type Merchant struct {
	// MchID is the merchant number (digits).
	MchID string
	// AppIDs are the mini-programs bound to the merchant; a prepay with another appid answers
	// APPID_MCHID_NOT_MATCH. Empty means the emulator's default app.
	AppIDs []string
	// CertSerial is the serial of the merchant API certificate, which requests name in serial_no.
	CertSerial string
	// PublicKey is the merchant API key's public half, which verifies request signatures.
	PublicKey *rsa.PublicKey
	// APIv3Key is the 32-byte APIv3 key that encrypts notifications and platform certificates.
	APIv3Key string
	// RefundNotifyURL stands in for the notification URL set in the merchant portal: refund
	// notifications go there when the refund request names no notify_url. Empty falls back to the
	// order's payment notify_url, which is what most merchants configure.
	RefundNotifyURL string
}

// PayConfig configures the emulated api.mch.weixin.qq.com.
type PayConfig struct {
	// Merchants are the registered merchants; the first is the default for control calls that
	// name none.
	Merchants []Merchant
	// PlatformKey is WeChat Pay's platform private key (RSA-2048). Nil generates one on first use;
	// the local stack passes a persisted key so that its public key survives restarts. The
	// platform certificate and its serial are derived from the key, so they survive too.
	PlatformKey *rsa.PrivateKey
	// PublicKeyID is the WeChat Pay public key id, PUB_KEY_ID_ and digits. Empty derives one
	// from the platform key.
	PublicKeyID string
	// Mode is PayModePublicKey (default), PayModeCert or PayModePublicKeyOnly.
	Mode string
	// Client delivers notifications to notify_url (loopback http allowed). Nil means a client
	// with a 5-second timeout, the time WeChat Pay gives a merchant to answer.
	Client *http.Client
	// DownloadBase is the base of the trade bill's download_url. Empty means PayHost, as real
	// WeChat Pay answers; set it to the emulator's own URL (http://HOST/_emu/pay) for clients
	// that call the URL as given without redirecting it.
	DownloadBase string
}

// payConfig is the validated, immutable pay configuration. The platform key material is built on
// first use: generating an RSA key costs tens to hundreds of milliseconds, which emulators that
// never serve a payment should not pay.
type payConfig struct {
	merchants    map[string]*Merchant
	order        []string
	mode         string
	client       *http.Client
	downloadBase string
	givenKey     *rsa.PrivateKey
	givenKeyID   string

	once sync.Once
	plat *platform
}

// platform is WeChat Pay's signing identity: one RSA key, published both as the public key with
// its id and as a self-signed platform certificate.
type platform struct {
	key        *rsa.PrivateKey
	keyID      string
	cert       *x509.Certificate
	certPEM    string
	certSerial string
}

var (
	mchIDPattern  = regexp.MustCompile(`^[0-9]{1,32}$`)
	serialPattern = regexp.MustCompile(`^[0-9A-Fa-f]{1,64}$`)
	keyIDPattern  = regexp.MustCompile(`^PUB_KEY_ID_[0-9]{1,64}$`)
)

// newPayConfig validates cfg; it panics on an invalid one, like New.
func newPayConfig(cfg PayConfig, defaultApp string) *payConfig {
	pc := &payConfig{
		merchants:    map[string]*Merchant{},
		mode:         cfg.Mode,
		client:       cfg.Client,
		downloadBase: strings.TrimRight(cfg.DownloadBase, "/"),
		givenKey:     cfg.PlatformKey,
		givenKeyID:   cfg.PublicKeyID,
	}
	switch pc.mode {
	case "":
		pc.mode = PayModePublicKey
	case PayModePublicKey, PayModeCert, PayModePublicKeyOnly:
	default:
		panic(fmt.Sprintf("emulator: pay mode %q is none of %q, %q, %q", cfg.Mode, PayModePublicKey, PayModeCert, PayModePublicKeyOnly))
	}
	if pc.client == nil {
		pc.client = &http.Client{Timeout: 5 * time.Second}
	}
	if pc.downloadBase == "" {
		pc.downloadBase = PayHost
	}
	if cfg.PublicKeyID != "" && !keyIDPattern.MatchString(cfg.PublicKeyID) {
		panic(fmt.Sprintf("emulator: pay public key id %q is not PUB_KEY_ID_ followed by digits", cfg.PublicKeyID))
	}
	if k := cfg.PlatformKey; k != nil && k.N.BitLen() < 2048 {
		panic("emulator: the pay platform key must be RSA-2048 or larger")
	}
	for i, m := range cfg.Merchants {
		switch {
		case !mchIDPattern.MatchString(m.MchID):
			panic(fmt.Sprintf("emulator: merchant #%d: mchid %q is not 1–32 digits", i+1, m.MchID))
		case pc.merchants[m.MchID] != nil:
			panic(fmt.Sprintf("emulator: merchant %s is registered twice", m.MchID))
		case !serialPattern.MatchString(m.CertSerial):
			panic(fmt.Sprintf("emulator: merchant %s: CertSerial must be the hex serial of its API certificate", m.MchID))
		case m.PublicKey == nil:
			panic(fmt.Sprintf("emulator: merchant %s needs its API public key", m.MchID))
		case len(m.APIv3Key) != 32:
			panic(fmt.Sprintf("emulator: merchant %s: the APIv3 key must be exactly 32 bytes", m.MchID))
		}
		m.AppIDs = append([]string(nil), m.AppIDs...)
		if len(m.AppIDs) == 0 {
			m.AppIDs = []string{defaultApp}
		}
		pc.merchants[m.MchID] = &m
		pc.order = append(pc.order, m.MchID)
	}
	return pc
}

// platform returns the platform key material, building it on first use.
func (pc *payConfig) platform() *platform {
	pc.once.Do(func() {
		key := pc.givenKey
		if key == nil {
			var err error
			if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic("emulator: generate the pay platform key: " + err.Error())
			}
		}
		p, err := newPlatform(key, pc.givenKeyID)
		if err != nil {
			panic("emulator: " + err.Error())
		}
		pc.plat = p
	})
	return pc.plat
}

// newPlatform derives the public key id (unless given) and a self-signed platform certificate
// from key. Both are deterministic, so a persisted key gives the same id, serial and certificate
// after a restart.
func newPlatform(key *rsa.PrivateKey, keyID string) (*platform, error) {
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("platform key: %w", err)
	}
	digest := sha256.Sum256(pub)
	if keyID == "" {
		// PUB_KEY_ID_ and 34 digits, 45 characters like the documentation's examples.
		var b strings.Builder
		b.WriteString("PUB_KEY_ID_01")
		for _, c := range digest[:32] {
			b.WriteByte('0' + c%10)
		}
		keyID = b.String()
	}
	// A 20-byte serial whose first byte has its top bit clear (serials are positive) and the next
	// one set (so no leading zero byte is dropped): 40 upper-case hex digits like real ones.
	s := sha1.Sum(pub)
	s[0] = s[0]&0x7f | 0x40
	serial := new(big.Int).SetBytes(s[:])
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{CommonName: "Tenpay.com Root CA emulated", Organization: []string{"Tenpay.com"},
			OrganizationalUnit: []string{"Tenpay.com CA Center"}, Country: []string{"CN"}, Locality: []string{"Shenzhen"}},
		NotBefore:             time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), // five years, like real ones
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("platform certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("platform certificate: %w", err)
	}
	return &platform{
		key:        key,
		keyID:      keyID,
		cert:       cert,
		certPEM:    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		certSerial: fmt.Sprintf("%X", cert.SerialNumber.Bytes()),
	}, nil
}

// GenerateMerchant makes a merchant for tests and local stacks: a fresh RSA-2048 API key (the
// private half is returned for the code under test to sign with), a 40-hex-digit certificate
// serial and a random 32-character APIv3 key. Register the Merchant in Config.Pay.Merchants.
func GenerateMerchant(mchID string, appIDs ...string) (Merchant, *rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Merchant{}, nil, fmt.Errorf("generate merchant key: %w", err)
	}
	return Merchant{
		MchID:      mchID,
		AppIDs:     appIDs,
		CertSerial: strings.ToUpper(hex.EncodeToString(randomBytes(20))),
		PublicKey:  &key.PublicKey,
		APIv3Key:   randomString(alnum, 32),
	}, key, nil
}

// PlatformPublicKey is WeChat Pay's public key, which verifies the emulator's signatures in
// public-key mode (and, being the same key, in certificate mode).
func (e *Emulator) PlatformPublicKey() *rsa.PublicKey { return &e.payCfg.platform().key.PublicKey }

// PublicKeyID is the id of the WeChat Pay public key (PUB_KEY_ID_…).
func (e *Emulator) PublicKeyID() string { return e.payCfg.platform().keyID }

// PlatformCertificate is the self-signed WeChat Pay platform certificate that /v3/certificates
// serves (certificate mode).
func (e *Emulator) PlatformCertificate() *x509.Certificate { return e.payCfg.platform().cert }

// PlatformCertSerial is the platform certificate's serial as Wechatpay-Serial carries it.
func (e *Emulator) PlatformCertSerial() string { return e.payCfg.platform().certSerial }

// signWith is one of the two ways the emulator signs: the public key (its id as serial) or the
// platform certificate (its serial).
type signWith int

const (
	signPublicKey signWith = iota
	signCert
)

// serial is what Wechatpay-Serial says for a signature made this way.
func (p *platform) serial(how signWith) string {
	if how == signCert {
		return p.certSerial
	}
	return p.keyID
}

// signMessage is Base64(SHA256withRSA(key, message)), WeChat Pay's signature.
func signMessage(key *rsa.PrivateKey, message []byte) string {
	h := sha256.Sum256(message)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		// Only a broken key fails here, and keys are validated in New.
		panic("emulator: sign: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// verifyMessage checks a Base64 SHA256withRSA signature.
func verifyMessage(pub *rsa.PublicKey, message []byte, signature string) bool {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	h := sha256.Sum256(message)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
}

// sealAESGCM encrypts plain as WeChat Pay encrypts notification resources and platform
// certificates: AES-256-GCM under the APIv3 key, the nonce and AAD as raw bytes, Base64 of
// ciphertext‖tag.
func sealAESGCM(apiV3Key, nonce, aad string, plain []byte) (string, error) {
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return "", fmt.Errorf("aes key: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", fmt.Errorf("gcm: %w", err)
	}
	if len(nonce) != gcm.NonceSize() {
		return "", fmt.Errorf("gcm: nonce must be %d bytes", gcm.NonceSize())
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plain, []byte(aad))), nil
}

// pemPublicKey encodes a public key as a PKIX "PUBLIC KEY" PEM block, the format of pub_key.pem.
func pemPublicKey(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// pemPrivateKey encodes a private key as a PKCS#8 "PRIVATE KEY" PEM block, the only format the SDK
// loads.
func pemPrivateKey(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("encode private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}
