package events

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The fuzz targets hold the one-pass reader to encoding/json: both accept the same inputs and,
// when both succeed, produce the same value. (encoding/json goes on after a type mismatch where
// the reader stops, so values are compared only on success.) Their seeds run with go test.

func FuzzLambdaURLDecode(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		same(t, b, (*LambdaURLRequest).decode)
	})
}

func FuzzSCFURLDecode(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		same(t, b, (*SCFURLRequest).decode)
	})
}

func FuzzSCFAPIGatewayDecode(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		same(t, b, (*SCFAPIGatewayRequest).decode)
	})
}

func same[T any](t *testing.T, b []byte, decode func(*T, []byte) error) {
	var want, got T
	werr := json.Unmarshal(b, &want)
	gerr := decode(&got, b)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("encoding/json: %v; reader: %v; input %q", werr, gerr, b)
	}
	if werr == nil && !reflect.DeepEqual(want, got) {
		t.Fatalf("encoding/json: %+v\nreader:        %+v\ninput %q", want, got, b)
	}
}

func seed(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"version":"2.0"}`, ` {"version" : "2.0" } `, `{"version":"2.0"} x`,
		`{"VERSION":"2.0","RawPath":"/a"}`, `{"rawPath":"/a","rawPath":"/b"}`,
		`{"headers":{"a":"1"},"headers":{"b":"2"}}`, `{"headers":null}`, `{"headers":{"a":null}}`,
		`{"cookies":[]}`, `{"cookies":["a=1",null]}`, `{"cookies":null}`, `{"cookies":["a","b"],"cookies":["c"]}`,
		`{"body":"{\"a\":\"\\u00e9\\ud83d\\ude00\"}"}`, `{"body":"line\nbreak"}`, `{"body":"tab\\t\\/\\b\\f\\r"}`,
		`{"body":"\ud800"}`, `{"body":"é中文"}`, "{\"body\":\"\xff\xfe\"}", `{"body":"\\x"}`, `{"body":"\\u12"}`,
		`{"isBase64Encoded":true}`, `{"isBase64Encoded":null}`, `{"isBase64Encoded":"true"}`, `{"isBase64Encoded":tru}`,
		`{"requestContext":{"timeEpoch":1583348638390}}`, `{"requestContext":{"timeEpoch":1.5}}`,
		`{"requestContext":{"timeEpoch":-0}}`, `{"requestContext":{"timeEpoch":1e3}}`, `{"requestContext":{"timeEpoch":99999999999999999999}}`,
		`{"requestContext":null}`, `{"requestContext":{"http":null}}`, `{"requestContext":{"http":{"method":"GET","x":[1,{"y":[]}]}}}`,
		`{"unknown":[1,2.5e-3,-0.1,true,false,null,{"a":{}}]}`, `{"unknown":01}`, `{"unknown":-}`, `{"unknown":1.}`, `{"unknown":.5}`,
		`{"unknown":[1,]}`, `{"unknown":{"a":1,}}`, `{"a":1,}`, `{"a" 1}`, `{"version":5}`, `{"headers":{"a":1}}`,
		`{"httpMethod":"GET","queryString":{"a":["b","c"],"i":true,"n":5,"z":null,"e":[],"x":[["y"],1.5e3,null]}}`,
		`{"queryString":{"f":false}}`, `{"queryString":{"o":{}}}`, `{"queryString":null}`, `{"queryString":[]}`,
		`{"queryString":{"a":"1"},"queryString":{"b":"2"}}`, `{"queryString":{"a":"1","a":["2"]}}`,
		`{"requestContext":{"requestId":"r","identity":{"secretId":"AKID"}},"httpMethod":"POST","path":"/p"}`,
		`{"requestContext":{"identity":null}}`, `{"requestContext":{"identity":{"secretId":5}}}`,
		`{"rawPath":"/a\u0000"}`, "{\"rawPath\":\"a\x01\"}", `{"rawPath":"\/"}`, `{"ſersion":"2.0"}`, `{"K":"kelvin"}`,
	} {
		f.Add([]byte(s))
	}
}
