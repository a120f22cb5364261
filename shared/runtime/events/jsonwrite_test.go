package events

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzResponseEncoding holds the hand-written encoders to encoding/json: what they write is
// valid JSON that decodes to the value encoded, as json.Marshal's output does.
func FuzzResponseEncoding(f *testing.F) {
	for _, s := range []string{"", "plain", `{"a":"b"}`, "line\nbreak\ttab\r\b\f\x00\x1f", `q"uote\back\slash`,
		"<html>&amp;</html>", "中文 é 😀", "\u2028\u2029", "\xff\xfe bad utf8 \xc3", "\x7f"} {
		f.Add(s, s+"k", 200, true)
	}
	f.Fuzz(func(t *testing.T, s, k string, status int, b64 bool) {
		lambda := LambdaURLResponse{StatusCode: status, Headers: map[string]string{k: s, "X-Request-Id": "r"},
			Cookies: []string{s, "a=1"}, Body: s, IsBase64Encoded: b64}
		roundTrip(t, &lambda, lambda.appendJSON(nil))
		bare := LambdaURLResponse{StatusCode: status, Body: s}
		roundTrip(t, &bare, bare.appendJSON(nil))
		scf := SCFResponse{IsBase64Encoded: b64, StatusCode: status, Headers: map[string]string{k: s}, Body: s}
		roundTrip(t, &scf, scf.appendJSON(nil))
		scfNil := SCFResponse{StatusCode: status, Body: s}
		roundTrip(t, &scfNil, scfNil.appendJSON(nil))
	})
}

func roundTrip[T any](t *testing.T, v *T, got []byte) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var fromOurs, fromJSON T
	if err := json.Unmarshal(got, &fromOurs); err != nil {
		t.Fatalf("invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal(want, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromOurs, fromJSON) {
		t.Fatalf("ours %s\njson %s", got, want)
	}
}
