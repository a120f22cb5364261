package login_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wxfn/wxfn/infra/emulator"
	"github.com/wxfn/wxfn/infra/fntest"
	"github.com/wxfn/wxfn/infra/proctest"
)

// exchange is one request as a mode-independent value, and the answer it got.
type exchange struct {
	method, path, token, body string
}

type answer struct {
	status int
	body   map[string]any
	reqID  string
}

func (a answer) errCode() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// mode sends an exchange to the built login binary under one runtime protocol.
type mode struct {
	name string
	send func(t *testing.T, x exchange) answer
}

func decodeAnswer(t *testing.T, status int, body, reqID string) answer {
	t.Helper()
	a := answer{status: status, reqID: reqID}
	if err := json.Unmarshal([]byte(body), &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", status, body)
	}
	return a
}

func headerOf(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// TestBinaryUnderEveryRuntime starts the production-built login binary under the AWS Lambda
// Runtime API, under SCF's net/rpc protocol and as a plain HTTP server, all against the same
// embedded database and emulator, and checks that the three serve the same requests the same way:
// a full login, the phone number, decryption, and the refusals.
func TestBinaryUnderEveryRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the function binary")
	}
	bin := proctest.Build(t, "github.com/wxfn/wxfn/functions/login/cmd")
	var env []string
	for k, v := range fntest.Env(t, map[string]string{"LOG_LEVEL": "warn"}) {
		env = append(env, k+"="+v)
	}
	aws := proctest.AWS(t, bin, env...)
	scf := proctest.SCF(t, bin, env...)
	srv := proctest.HTTP(t, bin, env...)

	modes := []mode{
		{"http", func(t *testing.T, x exchange) answer {
			req, _ := http.NewRequest(x.method, srv.URL+x.path, strings.NewReader(x.body))
			req.Header.Set("Content-Type", "application/json")
			if x.token != "" {
				req.Header.Set("Authorization", "Bearer "+x.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return decodeAnswer(t, resp.StatusCode, string(b), resp.Header.Get("X-Request-Id"))
		}},
		{"aws", func(t *testing.T, x exchange) answer {
			e := events.LambdaFunctionURLRequest{
				Version: "2.0", RawPath: x.path, Headers: map[string]string{"content-type": "application/json"},
				RequestContext: events.LambdaFunctionURLRequestContext{RequestID: "aws-req",
					HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: x.method, Path: x.path, SourceIP: "203.0.113.7"}},
				Body: x.body,
			}
			if x.token != "" {
				e.Headers["authorization"] = "Bearer " + x.token
			}
			ev, _ := json.Marshal(e)
			payload, fnErr, err := aws.Invoke(context.Background(), ev)
			if err != nil || fnErr != nil {
				t.Fatalf("aws invoke: %v %s", err, fnErr)
			}
			var resp events.LambdaFunctionURLResponse
			if err := json.Unmarshal(payload, &resp); err != nil {
				t.Fatalf("aws payload %s", payload)
			}
			return decodeAnswer(t, resp.StatusCode, resp.Body, headerOf(resp.Headers, "X-Request-Id"))
		}},
		{"scf", func(t *testing.T, x exchange) answer {
			e := map[string]any{"httpMethod": x.method, "path": x.path, "queryString": map[string]any{},
				"headers": map[string]string{"content-type": "application/json", "x-scf-remote-addr": "203.0.113.7"}, "body": x.body}
			if x.token != "" {
				e["headers"].(map[string]string)["authorization"] = "Bearer " + x.token
			}
			ev, _ := json.Marshal(e)
			resp, err := scf.Invoke(context.Background(), ev)
			if err != nil || resp.Error != nil {
				t.Fatalf("scf invoke: %v %+v", err, resp.Error)
			}
			var out struct {
				StatusCode int               `json:"statusCode"`
				Headers    map[string]string `json:"headers"`
				Body       string            `json:"body"`
			}
			if err := json.Unmarshal(resp.Payload, &out); err != nil {
				t.Fatalf("scf payload %s", resp.Payload)
			}
			return decodeAnswer(t, out.StatusCode, out.Body, headerOf(out.Headers, "X-Request-Id"))
		}},
	}

	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			check := func(what string, a answer, status int, code string) {
				t.Helper()
				if a.status != status || a.errCode() != code {
					t.Fatalf("%s: %d %v, want %d %q", what, a.status, a.body, status, code)
				}
				if a.reqID == "" {
					t.Fatalf("%s: no x-request-id", what)
				}
			}
			c := fntest.MintCode(t, emulator.CodeRequest{})
			body := `{"code":"` + c.Code + `"}`
			login := m.send(t, exchange{method: "POST", path: "/", body: body})
			check("login", login, 200, "")
			if login.body["openid"] != c.OpenID || login.body["isNew"] != true {
				t.Fatalf("login body %v", login.body)
			}
			token := login.body["token"].(string)
			check("reused code", m.send(t, exchange{method: "POST", path: "/", body: body}), 401, "invalid_code")
			check("bad JSON", m.send(t, exchange{method: "POST", path: "/", body: `{"code"`}), 400, "invalid_json")
			check("missing code", m.send(t, exchange{method: "POST", path: "/", body: `{}`}), 400, "missing_code")
			check("oversize", m.send(t, exchange{method: "POST", path: "/", body: `{"code":"` + strings.Repeat("a", 70<<10) + `"}`}), 413, "body_too_large")
			check("no token", m.send(t, exchange{method: "POST", path: "/phone", body: `{"code":"x"}`}), 401, "unauthorized")
			check("forged token", m.send(t, exchange{method: "POST", path: "/phone", token: token[:len(token)-3] + "abc", body: `{"code":"x"}`}), 401, "invalid_token")
			check("unknown route", m.send(t, exchange{method: "GET", path: "/nope"}), 404, "not_found")

			pc, _ := fntest.Emulator().MintPhoneCode(emulator.PhoneCodeRequest{PhoneNumber: "13800138000"})
			phone := m.send(t, exchange{method: "POST", path: "/phone", token: token, body: `{"code":"` + pc.Code + `"}`})
			check("phone", phone, 200, "")
			if phone.body["purePhoneNumber"] != "13800138000" {
				t.Fatalf("phone body %v", phone.body)
			}
			enc, _ := fntest.Emulator().Encrypt(emulator.EncryptRequest{OpenID: c.OpenID, Data: json.RawMessage(`{"nickName":"Ada"}`)})
			encBody, _ := json.Marshal(enc)
			plain := m.send(t, exchange{method: "POST", path: "/decrypt", token: token, body: string(encBody)})
			check("decrypt", plain, 200, "")
			if plain.body["nickName"] != "Ada" {
				t.Fatalf("decrypt body %v", plain.body)
			}
		})
	}
	if srv.Exited() {
		t.Fatal("the HTTP-mode process exited")
	}
}
