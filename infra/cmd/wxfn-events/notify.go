package main

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wxfn/wxfn/shared/wxpay"
)

// keys are the WeChat Pay side of a notification: who signs it and how its resource is sealed.
type keys struct {
	platform *rsa.PrivateKey
	serial   string // Wechatpay-Serial: a public key id or a certificate serial
	apiV3Key string
}

func parsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil {
		return nil, errors.New("platform key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("platform key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("platform key is not RSA")
	}
	return rk, nil
}

func testKeys() keys {
	k, err := parsePrivateKey(testPlatformKey)
	if err != nil {
		panic(err) // the constant is ours
	}
	return keys{platform: k, serial: testPublicKeyID, apiV3Key: testAPIv3Key}
}

// seal encrypts plain the way WeChat Pay encrypts a notification resource (reference §4.2).
func seal(apiV3Key, nonce, aad string, plain []byte) (string, error) {
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	if len(nonce) != gcm.NonceSize() {
		return "", fmt.Errorf("nonce %q is not %d bytes", nonce, gcm.NonceSize())
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plain, []byte(aad))), nil
}

// open decrypts a notification resource.
func open(apiV3Key string, r wxpay.EncryptedResource) ([]byte, error) {
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(r.Ciphertext)
	if err != nil || len(r.Nonce) != gcm.NonceSize() {
		return nil, errors.New("resource is not sealed the WeChat Pay way")
	}
	return gcm.Open(nil, []byte(r.Nonce), ct, []byte(r.AssociatedData))
}

// envelope builds a notification body around plain.
func envelope(k keys, id, created, eventType, summary, originalType, nonce string, plain []byte) ([]byte, error) {
	ct, err := seal(k.apiV3Key, nonce, originalType, plain)
	if err != nil {
		return nil, err
	}
	return json.Marshal(wxpay.NotificationEnvelope{
		ID: id, CreateTime: created, ResourceType: "encrypt-resource", EventType: eventType, Summary: summary,
		Resource: wxpay.EncryptedResource{OriginalType: originalType, Algorithm: "AEAD_AES_256_GCM",
			Ciphertext: ct, AssociatedData: originalType, Nonce: nonce},
	})
}

// signHeaders returns the Wechatpay-* headers for body signed at ts with nonce (reference §2.2).
func signHeaders(k keys, body []byte, ts time.Time, nonce string) (map[string]string, error) {
	msg := strconv.FormatInt(ts.Unix(), 10) + "\n" + nonce + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	// PKCS#1 v1.5 signatures are deterministic: the samples are reproducible.
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.platform, crypto.SHA256, sum[:])
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"wechatpay-nonce":          nonce,
		"wechatpay-serial":         k.serial,
		"wechatpay-signature":      base64.StdEncoding.EncodeToString(sig),
		"wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
		"wechatpay-timestamp":      strconv.FormatInt(ts.Unix(), 10),
	}, nil
}

// notifierHeaders are the headers WeChat Pay's notifier sends besides the signature.
func notifierHeaders(bodyLen int, host string) map[string]string {
	return map[string]string{
		"accept":         "*/*",
		"content-type":   "application/json",
		"content-length": strconv.Itoa(bodyLen),
		"host":           host,
		"pragma":         "no-cache",
		"user-agent":     "Mozilla/4.0",
	}
}

// notifierIP is an address in WeChat Pay's notification ranges (reference §4.4).
const notifierIP = "101.226.103.14"

// lambdaURLEvent is a Lambda function URL (payload 2.0) event, fields in the order AWS writes them.
type lambdaURLEvent struct {
	Version         string            `json:"version"`
	RouteKey        string            `json:"routeKey"`
	RawPath         string            `json:"rawPath"`
	RawQueryString  string            `json:"rawQueryString"`
	Headers         map[string]string `json:"headers"`
	RequestContext  lambdaContext     `json:"requestContext"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

type lambdaContext struct {
	AccountID    string     `json:"accountId"`
	APIID        string     `json:"apiId"`
	DomainName   string     `json:"domainName"`
	DomainPrefix string     `json:"domainPrefix"`
	HTTP         lambdaHTTP `json:"http"`
	RequestID    string     `json:"requestId"`
	RouteKey     string     `json:"routeKey"`
	Stage        string     `json:"stage"`
	Time         string     `json:"time"`
	TimeEpoch    int64      `json:"timeEpoch"`
}

type lambdaHTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// scfURLEvent is a Tencent SCF function URL event.
type scfURLEvent struct {
	HTTPMethod  string              `json:"httpMethod"`
	Path        string              `json:"path"`
	Headers     map[string]string   `json:"headers"`
	QueryString map[string][]string `json:"queryString"`
	Body        string              `json:"body"`
}

const (
	lambdaAPIID = "p4yn0t1fy7x2m9v4c8w1z5t6y0"
	scfHost     = "1250000000-paynotify.ap-guangzhou.tencentscf.com"
)

// wrap puts a notification into a cloud's event format.
func wrap(cloud string, headers map[string]string, body []byte, at time.Time, requestID string) ([]byte, error) {
	h := map[string]string{}
	var host string
	switch cloud {
	case "aws":
		host = lambdaAPIID + ".lambda-url.ap-east-1.on.aws"
	case "scf":
		host = scfHost
	default:
		return nil, fmt.Errorf("unknown cloud %q", cloud)
	}
	for k, v := range notifierHeaders(len(body), host) {
		h[k] = v
	}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	var ev any
	switch cloud {
	case "aws":
		h["x-forwarded-for"], h["x-forwarded-port"], h["x-forwarded-proto"] = notifierIP, "443", "https"
		h["x-amzn-trace-id"] = fmt.Sprintf("Root=1-%08x-%s", at.Unix(), strings.ReplaceAll(requestID, "-", "")[:24])
		ev = lambdaURLEvent{
			Version: "2.0", RouteKey: "$default", RawPath: "/", Headers: h, Body: string(body),
			RequestContext: lambdaContext{
				AccountID: "anonymous", APIID: lambdaAPIID, DomainName: host, DomainPrefix: lambdaAPIID,
				HTTP:      lambdaHTTP{Method: "POST", Path: "/", Protocol: "HTTP/1.1", SourceIP: notifierIP, UserAgent: "Mozilla/4.0"},
				RequestID: requestID, RouteKey: "$default", Stage: "$default",
				Time: at.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: at.UnixMilli(),
			},
		}
	case "scf":
		h["x-scf-remote-addr"] = notifierIP
		ev = scfURLEvent{HTTPMethod: "POST", Path: "/", Headers: h, QueryString: map[string][]string{}, Body: string(body)}
	}
	out, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// unwrap reads the headers and body of a Lambda function URL or SCF function URL event, keeping
// its other fields so that the event can be written back.
func unwrap(event []byte) (cloud string, fields map[string]any, headers map[string]string, body string, err error) {
	if err := json.Unmarshal(event, &fields); err != nil {
		return "", nil, nil, "", fmt.Errorf("event is not JSON: %w", err)
	}
	switch {
	case fields["version"] == "2.0" && fields["requestContext"] != nil:
		cloud = "aws"
	case fields["httpMethod"] != nil:
		cloud = "scf"
	default:
		return "", nil, nil, "", errors.New("not a Lambda function URL or SCF function URL event")
	}
	if b64, _ := fields["isBase64Encoded"].(bool); b64 {
		return "", nil, nil, "", errors.New("base64 bodies are not supported here")
	}
	body, _ = fields["body"].(string)
	headers = map[string]string{}
	if hs, ok := fields["headers"].(map[string]any); ok {
		for k, v := range hs {
			if s, ok := v.(string); ok {
				headers[strings.ToLower(k)] = s
			}
		}
	}
	return cloud, fields, headers, body, nil
}

// rewrap puts new headers and body back into an event read by unwrap.
func rewrap(fields map[string]any, headers map[string]string, body string) ([]byte, error) {
	hs := map[string]any{}
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		hs[k] = headers[k]
	}
	fields["headers"], fields["body"] = hs, body
	out, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
