package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wxfn/wxfn/shared/config"
)

// Test-only keys, generated once per test binary.
var (
	keysOnce           sync.Once
	merchantKey        *rsa.PrivateKey
	platformKey        *rsa.PrivateKey
	merchantPEM        string // PKCS#8
	merchantPKCS1PEM   string
	platformPubPEM     string // PKIX
	merchantOwnPubPEM  string
	smallKeyPEM        string
	ecKeyPEM           string
	apiV3Key           = "0123456789abcdef0123456789ABCDEF"
	publicKeyID        = "PUB_KEY_ID_0114232134912410000000000000000001"
	merchantCertSerial = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
)

func keys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		merchantKey = mustRSA(2048)
		platformKey = mustRSA(2048)
		p8, _ := x509.MarshalPKCS8PrivateKey(merchantKey)
		merchantPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
		merchantPKCS1PEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(merchantKey)}))
		pub, _ := x509.MarshalPKIXPublicKey(&platformKey.PublicKey)
		platformPubPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
		own, _ := x509.MarshalPKIXPublicKey(&merchantKey.PublicKey)
		merchantOwnPubPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: own}))
		small, _ := x509.MarshalPKCS8PrivateKey(mustRSA(1024))
		smallKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: small}))
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ecb, _ := x509.MarshalPKCS8PrivateKey(ec)
		ecKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecb}))
	})
}

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

// payEnv is a complete public-key-mode environment; override replaces (or, with "", removes)
// variables.
func payEnv(t *testing.T, override map[string]string) config.Lookup {
	keys(t)
	env := map[string]string{
		"WX_APPID":            "wx0e1f2a3b4c5d6e7f",
		"WXPAY_MCHID":         "1900000001",
		"WXPAY_CERT_SERIAL":   merchantCertSerial,
		"WXPAY_PRIVATE_KEY":   merchantPEM,
		"WXPAY_APIV3_KEY":     apiV3Key,
		"WXPAY_PUBLIC_KEY_ID": publicKeyID,
		"WXPAY_PUBLIC_KEY":    platformPubPEM,
		"WXPAY_NOTIFY_URL":    "https://example.com/paynotify/",
	}
	for k, v := range override {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return config.Map(env)
}

func TestLoadPayPublicKeyMode(t *testing.T) {
	p, err := config.LoadPay(payEnv(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.MchID != "1900000001" || p.AppID != "wx0e1f2a3b4c5d6e7f" || p.CertSerial != merchantCertSerial || p.APIv3Key != apiV3Key {
		t.Fatalf("identifiers: %v", p)
	}
	if !p.PrivateKey.Equal(merchantKey) {
		t.Fatal("private key is not the configured one")
	}
	if p.PublicKeyID != publicKeyID || !p.PublicKey.Equal(&platformKey.PublicKey) {
		t.Fatal("public key is not the configured one")
	}
	if !p.PublicKeyMode() || p.PlatformCerts {
		t.Fatalf("mode: public key %v, platform certs %v; want public key only", p.PublicKeyMode(), p.PlatformCerts)
	}
	if p.APIBase != config.DefaultWXPayAPIBase {
		t.Fatalf("APIBase = %q", p.APIBase)
	}
	if p.NotifyURL != "https://example.com/paynotify/" {
		t.Fatalf("NotifyURL = %q", p.NotifyURL)
	}
}

func TestLoadPayModesAndDefaults(t *testing.T) {
	keys(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "apiclient_key.pem")
	if err := os.WriteFile(keyFile, []byte(merchantPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		override map[string]string
		check    func(t *testing.T, p config.Pay)
	}{
		{"platform-certificate mode without a public key",
			map[string]string{"WXPAY_PUBLIC_KEY_ID": "", "WXPAY_PUBLIC_KEY": ""},
			func(t *testing.T, p config.Pay) {
				if p.PublicKeyMode() || !p.PlatformCerts || p.PublicKey != nil {
					t.Fatalf("want platform certificates only: %v", p)
				}
			}},
		{"migration keeps certificates beside the public key",
			map[string]string{"WXPAY_PLATFORM_CERTS": "true"},
			func(t *testing.T, p config.Pay) {
				if !p.PublicKeyMode() || !p.PlatformCerts {
					t.Fatalf("want both: %v", p)
				}
			}},
		{"WXPAY_APPID wins over WX_APPID",
			map[string]string{"WXPAY_APPID": "wxaaaaaaaaaaaaaaaa"},
			func(t *testing.T, p config.Pay) {
				if p.AppID != "wxaaaaaaaaaaaaaaaa" {
					t.Fatalf("AppID = %q", p.AppID)
				}
			}},
		{"private key from a file",
			map[string]string{"WXPAY_PRIVATE_KEY": "", "WXPAY_PRIVATE_KEY_FILE": keyFile},
			func(t *testing.T, p config.Pay) {
				if !p.PrivateKey.Equal(merchantKey) {
					t.Fatal("key from file differs")
				}
			}},
		{"PKCS#1 private key",
			map[string]string{"WXPAY_PRIVATE_KEY": merchantPKCS1PEM},
			func(t *testing.T, p config.Pay) {
				if !p.PrivateKey.Equal(merchantKey) {
					t.Fatal("PKCS#1 key differs")
				}
			}},
		{"PEM with literal \\n escapes, as env files often carry it",
			map[string]string{"WXPAY_PRIVATE_KEY": strings.ReplaceAll(strings.TrimSpace(merchantPEM), "\n", `\n`)},
			func(t *testing.T, p config.Pay) {
				if !p.PrivateKey.Equal(merchantKey) {
					t.Fatal("escaped key differs")
				}
			}},
		{"API base with a path prefix, trailing slash dropped",
			map[string]string{"WXPAY_API_BASE": "http://127.0.0.1:8080/_emu/pay/"},
			func(t *testing.T, p config.Pay) {
				if p.APIBase != "http://127.0.0.1:8080/_emu/pay" {
					t.Fatalf("APIBase = %q", p.APIBase)
				}
			}},
		{"notify URL is optional",
			map[string]string{"WXPAY_NOTIFY_URL": ""},
			func(t *testing.T, p config.Pay) {
				if p.NotifyURL != "" {
					t.Fatalf("NotifyURL = %q", p.NotifyURL)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := config.LoadPay(payEnv(t, tt.override))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestLoadPayErrors(t *testing.T) {
	keys(t)
	garbagePEM := "-----BEGIN PRIVATE KEY-----\nU0VDUkVULUtFWS1NQVRFUklBTA==\n-----END PRIVATE KEY-----\n"
	tests := []struct {
		name     string
		override map[string]string
		want     []string // every one must appear in the error
	}{
		{"everything missing", map[string]string{"WX_APPID": "", "WXPAY_MCHID": "", "WXPAY_CERT_SERIAL": "", "WXPAY_PRIVATE_KEY": "", "WXPAY_APIV3_KEY": ""},
			[]string{"WXPAY_MCHID", "WXPAY_APPID (or WX_APPID)", "WXPAY_CERT_SERIAL", "WXPAY_PRIVATE_KEY (or WXPAY_PRIVATE_KEY_FILE)", "WXPAY_APIV3_KEY"}},
		{"APIv3 key of 31 bytes", map[string]string{"WXPAY_APIV3_KEY": apiV3Key[:31]}, []string{"WXPAY_APIV3_KEY", "exactly 32 bytes", "got 31"}},
		{"APIv3 key of 40 bytes", map[string]string{"WXPAY_APIV3_KEY": apiV3Key + "01234567"}, []string{"WXPAY_APIV3_KEY", "got 40"}},
		{"public key id without PUB_KEY_ID_", map[string]string{"WXPAY_PUBLIC_KEY_ID": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"}, []string{"WXPAY_PUBLIC_KEY_ID", "PUB_KEY_ID_"}},
		{"public key id without the key", map[string]string{"WXPAY_PUBLIC_KEY": ""}, []string{"missing setting WXPAY_PUBLIC_KEY"}},
		{"public key without its id", map[string]string{"WXPAY_PUBLIC_KEY_ID": ""}, []string{"missing setting WXPAY_PUBLIC_KEY_ID"}},
		{"private key that is not PEM", map[string]string{"WXPAY_PRIVATE_KEY": "SECRET-KEY-MATERIAL"}, []string{"WXPAY_PRIVATE_KEY", "not PEM"}},
		{"private key PEM that does not parse", map[string]string{"WXPAY_PRIVATE_KEY": garbagePEM}, []string{"WXPAY_PRIVATE_KEY", "does not parse"}},
		{"private key given as a certificate", map[string]string{"WXPAY_PRIVATE_KEY": strings.ReplaceAll(garbagePEM, "PRIVATE KEY", "CERTIFICATE")}, []string{"WXPAY_PRIVATE_KEY", `"CERTIFICATE"`}},
		{"EC private key", map[string]string{"WXPAY_PRIVATE_KEY": ecKeyPEM}, []string{"WXPAY_PRIVATE_KEY", "not an RSA key"}},
		{"1024-bit private key", map[string]string{"WXPAY_PRIVATE_KEY": smallKeyPEM}, []string{"WXPAY_PRIVATE_KEY", "1024-bit"}},
		{"public key that does not parse", map[string]string{"WXPAY_PUBLIC_KEY": strings.ReplaceAll(garbagePEM, "PRIVATE", "PUBLIC")}, []string{"WXPAY_PUBLIC_KEY", "does not parse"}},
		{"public key given as the private key", map[string]string{"WXPAY_PUBLIC_KEY": merchantPEM}, []string{"WXPAY_PUBLIC_KEY", "expected PUBLIC KEY"}},
		{"merchant's own public key", map[string]string{"WXPAY_PUBLIC_KEY": merchantOwnPubPEM}, []string{"WXPAY_PUBLIC_KEY", "merchant's own public key"}},
		{"private key given twice", map[string]string{"WXPAY_PRIVATE_KEY_FILE": "/nonexistent"}, []string{"WXPAY_PRIVATE_KEY is given both directly and as WXPAY_PRIVATE_KEY_FILE"}},
		{"private key file missing", map[string]string{"WXPAY_PRIVATE_KEY": "", "WXPAY_PRIVATE_KEY_FILE": "/nonexistent/key.pem"}, []string{"WXPAY_PRIVATE_KEY_FILE"}},
		{"mchid not digits", map[string]string{"WXPAY_MCHID": "mch-1"}, []string{"WXPAY_MCHID", "digits"}},
		{"serial not hex", map[string]string{"WXPAY_CERT_SERIAL": "not-a-serial"}, []string{"WXPAY_CERT_SERIAL", "hex"}},
		{"platform certs off with nothing else to verify", map[string]string{"WXPAY_PUBLIC_KEY_ID": "", "WXPAY_PUBLIC_KEY": "", "WXPAY_PLATFORM_CERTS": "false"}, []string{"WXPAY_PLATFORM_CERTS"}},
		{"platform certs not a bool", map[string]string{"WXPAY_PLATFORM_CERTS": "maybe"}, []string{"WXPAY_PLATFORM_CERTS", `"maybe"`}},
		{"notify URL with a query", map[string]string{"WXPAY_NOTIFY_URL": "https://example.com/notify?x=1"}, []string{"WXPAY_NOTIFY_URL", "query"}},
		{"notify URL relative", map[string]string{"WXPAY_NOTIFY_URL": "/paynotify"}, []string{"WXPAY_NOTIFY_URL", "absolute"}},
		{"API base not a URL", map[string]string{"WXPAY_API_BASE": "api.mch.weixin.qq.com"}, []string{"WXPAY_API_BASE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := config.LoadPay(payEnv(t, tt.override))
			if err == nil {
				t.Fatalf("no error; got %v", p)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			// Secrets are named, never quoted.
			for _, secret := range []string{"U0VDUkVU", "SECRET-KEY-MATERIAL", apiV3Key[:16], "BEGIN", "MII"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error quotes secret material %q: %s", secret, msg)
				}
			}
			if p.PrivateKey != nil || p.MchID != "" {
				t.Errorf("a failed load returned settings: %v", p)
			}
		})
	}
}

// Printing or logging a Pay shows no key material.
func TestPayRedactsSecrets(t *testing.T) {
	p, err := config.LoadPay(payEnv(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("pay", "cfg", p)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", p),
		"%+v":  fmt.Sprintf("%+v", p),
		"%#v":  fmt.Sprintf("%#v", p),
		"%s":   fmt.Sprintf("%s", p),
		"slog": logged.String(),
	}
	d := merchantKey.D.String()[:20]
	for name, out := range outputs {
		if strings.Contains(out, apiV3Key) || strings.Contains(out, d) || strings.Contains(out, merchantKey.Primes[0].String()[:20]) {
			t.Errorf("%s shows a secret: %s", name, out)
		}
		if !strings.Contains(out, "1900000001") || !strings.Contains(out, "public-key") {
			t.Errorf("%s lost the non-secret description: %s", name, out)
		}
	}
}
