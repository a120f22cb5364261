package devstack

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/orders"
	"github.com/wxfn/wxfn/shared/store"
)

// sandboxMchID is the local stack's merchant number: a test number, only ever known to the
// emulator.
const sandboxMchID = "1900000109"

// payMaterial is the sandbox merchant and WeChat Pay's platform key, generated once per data
// directory so that restarts keep orders payable and notifications verifiable.
type payMaterial struct {
	merchant    emulator.Merchant
	merchantKey string // path of the merchant's private key (PKCS#8 PEM)
	platform    *rsa.PrivateKey
}

// loadPayMaterial reads .wxfn/pay/, creating what is missing. The merchant's serial and APIv3 key
// are kept in secrets (secrets.env); the keys are PEM files beside it.
func loadPayMaterial(dir string, secrets map[string]string, appID string) (payMaterial, bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return payMaterial{}, false, err
	}
	changed := false
	mchPath := filepath.Join(dir, "merchant_key.pem")
	mchKey, err := readKey(mchPath)
	if errors.Is(err, os.ErrNotExist) || secrets["WXPAY_CERT_SERIAL"] == "" || secrets["WXPAY_APIV3_KEY"] == "" {
		m, key, gerr := emulator.GenerateMerchant(sandboxMchID, appID)
		if gerr != nil {
			return payMaterial{}, false, gerr
		}
		if err := writeKey(mchPath, key); err != nil {
			return payMaterial{}, false, err
		}
		mchKey = key
		secrets["WXPAY_CERT_SERIAL"], secrets["WXPAY_APIV3_KEY"] = m.CertSerial, m.APIv3Key
		changed = true
	} else if err != nil {
		return payMaterial{}, false, err
	}
	platPath := filepath.Join(dir, "platform_key.pem")
	plat, err := readKey(platPath)
	if errors.Is(err, os.ErrNotExist) {
		if plat, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return payMaterial{}, false, err
		}
		if err := writeKey(platPath, plat); err != nil {
			return payMaterial{}, false, err
		}
	} else if err != nil {
		return payMaterial{}, false, err
	}
	return payMaterial{
		merchant: emulator.Merchant{MchID: sandboxMchID, AppIDs: []string{appID}, CertSerial: secrets["WXPAY_CERT_SERIAL"],
			PublicKey: &mchKey.PublicKey, APIv3Key: secrets["WXPAY_APIV3_KEY"]},
		merchantKey: mchPath,
		platform:    plat,
	}, changed, nil
}

func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", path)
	}
	return rk, nil
}

func writeKey(path string, k *rsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func writePublicKey(path string, k *rsa.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// seedProducts puts the sample catalogue into an empty products collection (first start), so
// that the walk-through can order at once; an operator's later edits are left alone.
func seedProducts(ctx context.Context, env map[string]string) error {
	l := store.NewLazy(config.Database{URI: env["MONGODB_URI"], Name: env["MONGODB_DATABASE"]})
	defer l.Close(context.Background())
	db, err := l.Database(ctx)
	if err != nil {
		return fmt.Errorf("seed products: %w", err)
	}
	n, err := db.Collection("products").EstimatedDocumentCount(ctx)
	if err != nil || n > 0 {
		return err
	}
	s, err := orders.Open(ctx, db)
	if err != nil {
		return fmt.Errorf("seed products: %w", err)
	}
	_, err = s.SeedProducts(ctx, orders.SampleProducts())
	return err
}
