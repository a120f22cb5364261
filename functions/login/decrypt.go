package login

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/wxfn/wxfn/shared/fn"
)

// decryptRequest is the body of POST /decrypt: what wx.getUserInfo, getPhoneNumber (old flow),
// getShareInfo or getWeRunData hand the mini-program.
type decryptRequest struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
}

// watermark is the part of every decrypted object that says which app it was made for.
type watermark struct {
	Watermark struct {
		AppID     string `json:"appid"`
		Timestamp int64  `json:"timestamp"`
	} `json:"watermark"`
}

var errDecrypt = errors.New("decrypt failed")

func (h *handler) decrypt(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	var body decryptRequest
	if err := fn.DecodeJSON(req, &body); err != nil {
		return nil, err
	}
	data, err1 := base64.StdEncoding.DecodeString(body.EncryptedData)
	iv, err2 := base64.StdEncoding.DecodeString(body.IV)
	if body.EncryptedData == "" || body.IV == "" || err1 != nil || err2 != nil || len(iv) != aes.BlockSize || len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, fn.BadRequest("invalid_encrypted_data", "encryptedData and iv must be the base64 values wx gave the mini-program")
	}
	mp, err := h.deps.MiniProgram()
	if err != nil {
		return nil, err
	}
	box, err := h.deps.Seal()
	if err != nil {
		return nil, err
	}
	users, err := h.users(ctx)
	if err != nil {
		return nil, err
	}
	u, err := users.get(ctx, req.Principal.OpenID)
	if err != nil {
		return nil, err
	}
	sessionKey, err := box.Open(u.SessionKey, u.ID)
	if err != nil {
		return nil, &fn.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Cause: err}
	}
	plain, err := decryptData(sessionKey, iv, data)
	if err != nil {
		// Almost always a session_key rotated by a later wx.login (reference pitfall 4).
		return nil, &fn.Error{Status: http.StatusBadRequest, Code: "decrypt_failed", Message: "the data does not decrypt with the current session; call wx.login, then get the data again", Cause: err}
	}
	var wm watermark
	if err := json.Unmarshal(plain, &wm); err != nil {
		return nil, &fn.Error{Status: http.StatusBadRequest, Code: "decrypt_failed", Message: "the decrypted data is not a JSON object", Cause: err}
	}
	if wm.Watermark.AppID != mp.AppID() {
		return nil, &fn.Error{Status: http.StatusBadRequest, Code: "watermark_mismatch", Message: "the data was not produced for this mini-program"}
	}
	return &fn.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: plain}, nil
}

// decryptData is AES-128-CBC with a strict PKCS#7 check (reference wechat-platform §2.5).
func decryptData(sessionKeyB64 []byte, iv, data []byte) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(string(sessionKeyB64))
	if err != nil || len(key) != 16 {
		return nil, errDecrypt
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errDecrypt
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
	n := int(plain[len(plain)-1])
	if n == 0 || n > aes.BlockSize || n > len(plain) || !bytes.Equal(plain[len(plain)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, errDecrypt
	}
	return plain[:len(plain)-n], nil
}
