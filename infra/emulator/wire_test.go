package emulator

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/silenceper/wechat/v2/miniprogram/auth"
	"github.com/silenceper/wechat/v2/miniprogram/encryptor"
)

// TestWireSamples checks that every sample in testdata decodes strictly into its message type and
// encodes back to the same JSON, so the structs' tags match the formats the samples document.
func TestWireSamples(t *testing.T) {
	cases := []struct {
		file string
		v    any
	}{
		{"wx/token.json", &tokenResponse{}},
		{"wx/stable_token_request.json", &stableTokenRequest{}},
		{"wx/jscode2session.json", &code2SessionResponse{}},
		{"wx/getuserphonenumber_request.json", &phoneNumberRequest{}},
		{"wx/getuserphonenumber.json", &phoneNumberResponse{}},
		{"wx/checksession.json", &okResponse{}},
		{"wx/error.json", &errorResponse{}},
		{"control/codes_request.json", &CodeRequest{}},
		{"control/codes_response.json", &CodeResponse{}},
		{"control/phone_codes_request.json", &PhoneCodeRequest{}},
		{"control/phone_codes_response.json", &PhoneCodeResponse{}},
		{"control/encrypt_request.json", &EncryptRequest{}},
		{"control/encrypt_response.json", &EncryptResponse{}},
		{"control/fault_request.json", &Fault{}},
		{"control/faults_response.json", &FaultsResponse{}},
		{"control/calls_response.json", &CallsResponse{}},
		{"control/error.json", &errorBody{}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) { roundTrip(t, tc.file, tc.v) })
	}
}

// TestSamplesMatchSDK decodes the api.weixin.qq.com samples with the SDK's own types, and decrypts
// the encrypt sample with the SDK, so the samples are what a real client accepts.
func TestSamplesMatchSDK(t *testing.T) {
	var phone auth.GetPhoneNumberResponse
	if err := json.Unmarshal(readSample(t, "wx/getuserphonenumber.json"), &phone); err != nil || phone.PhoneInfo.PurePhoneNumber != "13800138000" || phone.PhoneInfo.WaterMark.AppID != DefaultAppID {
		t.Errorf("SDK decode of getuserphonenumber: %+v, %v", phone, err)
	}
	var sess auth.ResCode2Session
	if err := json.Unmarshal(readSample(t, "wx/jscode2session.json"), &sess); err != nil || sess.OpenID == "" || sess.SessionKey == "" || sess.UnionID == "" {
		t.Errorf("SDK decode of jscode2session: %+v, %v", sess, err)
	}

	var code CodeResponse
	var req EncryptRequest
	var resp EncryptResponse
	for file, v := range map[string]any{"control/codes_response.json": &code, "control/encrypt_request.json": &req, "control/encrypt_response.json": &resp} {
		if err := json.Unmarshal(readSample(t, file), v); err != nil {
			t.Fatal(err)
		}
	}
	plain, err := encryptor.GetCipherText(code.SessionKey, resp.EncryptedData, resp.IV)
	if err != nil {
		t.Fatalf("decrypt the sample: %v", err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(plain, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(req.Data, &want); err != nil {
		t.Fatal(err)
	}
	want["watermark"] = map[string]any{"appid": code.AppID, "timestamp": float64(req.Timestamp)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sample decrypts to %s, want the request's data with its watermark", plain)
	}
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// roundTrip checks that the sample file decodes into v with no unknown field and encodes back to
// the same message, so the wire structs describe the samples exactly.
func roundTrip(t *testing.T, file string, v any) {
	t.Helper()
	raw := readSample(t, file)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	back, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(back, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("round trip changed the message:\n got %s\nwant %s", back, bytes.TrimSpace(raw))
	}
}
