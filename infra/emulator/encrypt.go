package emulator

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
)

// Encrypt produces a mini-program encryptedData for the user, as the client would receive it from
// wx.getUserInfo or the old getPhoneNumber button: req.Data with watermark{appid, timestamp} added,
// AES-128-CBC under the user's newest session_key with a random IV and PKCS#7 padding, both in
// standard base64. It fails with a *ControlError on an unknown app or user or when Data is not a
// JSON object.
func (e *Emulator) Encrypt(req EncryptRequest) (EncryptResponse, error) {
	a, ok := e.app(req.AppID)
	if !ok {
		return EncryptResponse{}, unknownApp(req.AppID)
	}
	if req.OpenID == "" {
		return EncryptResponse{}, badRequest("openid is required")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(req.Data, &obj); err != nil || obj == nil {
		return EncryptResponse{}, badRequest("data must be a JSON object")
	}

	e.mu.Lock()
	u := e.wx.users[userKey{a.AppID, req.OpenID}]
	var sessionKey string
	if u != nil {
		sessionKey = u.sessionKey
	}
	e.mu.Unlock()
	if u == nil {
		return EncryptResponse{}, &ControlError{Status: http.StatusNotFound, Code: "unknown_user",
			Message: "no user " + req.OpenID + " in app " + a.AppID + "; mint a login code for it first"}
	}

	wm := watermark{AppID: a.AppID, Timestamp: req.Timestamp}
	if req.WatermarkAppID != "" {
		wm.AppID = req.WatermarkAppID
	}
	if wm.Timestamp == 0 {
		wm.Timestamp = e.now().Unix()
	}
	raw, err := json.Marshal(wm)
	if err != nil {
		return EncryptResponse{}, fmt.Errorf("encrypt: watermark: %w", err)
	}
	obj["watermark"] = raw
	plain, err := json.Marshal(obj)
	if err != nil {
		return EncryptResponse{}, fmt.Errorf("encrypt: data: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(sessionKey)
	if err != nil {
		return EncryptResponse{}, fmt.Errorf("encrypt: session key: %w", err)
	}
	iv := randomBytes(aes.BlockSize)
	ct, err := encryptCBC(key, iv, plain)
	if err != nil {
		return EncryptResponse{}, fmt.Errorf("encrypt: %w", err)
	}
	return EncryptResponse{
		EncryptedData: base64.StdEncoding.EncodeToString(ct),
		IV:            base64.StdEncoding.EncodeToString(iv),
	}, nil
}

// encryptCBC is AES-CBC with PKCS#7 padding to the AES block size.
func encryptCBC(key, iv, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes key: %w", err)
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(bytes.Clone(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf, nil
}
