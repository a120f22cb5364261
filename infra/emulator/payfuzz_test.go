package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzPayRequest throws arbitrary Authorization headers and bodies at the pay host: whatever
// arrives, it answers a WeChat Pay error (never a panic, never a 2xx without a valid signature) and
// creates nothing.
func FuzzPayRequest(f *testing.F) {
	f.Add(`WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="n",timestamp="1",serial_no="AB",signature="c2ln"`, []byte(`{"mchid":"1900000001"}`))
	f.Add(`WECHATPAY2-SHA256-RSA2048 mchid="",nonce_str,timestamp=""`, []byte(`{`))
	f.Add(`WECHATPAY2-SHA256-RSA2048 `, []byte(nil))
	f.Add(`Bearer x`, []byte(`[]`))
	a, _, err := GenerateMerchant(mchA)
	if err != nil {
		f.Fatal(err)
	}
	e := New(Config{Pay: PayConfig{Merchants: []Merchant{a}}})
	f.Fuzz(func(t *testing.T, auth string, body []byte) {
		for _, path := range []string{"/v3/pay/transactions/jsapi", "/v3/refund/domestic/refunds"} {
			req := httptest.NewRequest(http.MethodPost, PayPrefix+path, bytes.NewReader(body))
			req.Header.Set("Authorization", auth)
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			var eb payErrorBody
			if w.Code < 400 || json.Unmarshal(w.Body.Bytes(), &eb) != nil || eb.Code == "" {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body.Bytes())
			}
		}
		if n := len(e.Orders()); n != 0 {
			t.Fatalf("%d orders created", n)
		}
	})
}

// FuzzMergePatch checks that notification patches never panic and always yield JSON.
func FuzzMergePatch(f *testing.F) {
	f.Add([]byte(`{"amount":{"total":1}}`))
	f.Add([]byte(`{"payer":null,"x":[1,{"y":2}]}`))
	f.Add([]byte(`"s"`))
	doc := []byte(`{"appid":"wx1","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"o"}}`)
	f.Fuzz(func(t *testing.T, patch []byte) {
		out, err := mergePatch(doc, patch)
		if err == nil && !json.Valid(out) {
			t.Fatalf("patch %s gave %s", patch, out)
		}
	})
}
