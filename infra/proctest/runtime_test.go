package proctest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// answer is one HTTP answer, whatever runtime mode produced it.
type answer struct {
	Status    int
	Body      string
	Greeted   string
	ErrCode   string
	RequestID string
}

type modeCase struct {
	name   string
	method string
	path   string
	query  map[string][]string
	body   string
	want   answer
}

func (c modeCase) rawQuery() string {
	var parts []string
	for k, vs := range c.query {
		for _, v := range vs {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, "&")
}

// errCode extracts the wxfn error code; the rest of an error body holds the mode-specific
// request id, so it is compared through ErrCode instead.
func errCode(body string) (code string, rest string) {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) == nil && e.Error.Code != "" {
		return e.Error.Code, ""
	}
	return "", body
}

func newAnswer(status int, body, greeted, requestID string) answer {
	code, rest := errCode(body)
	return answer{Status: status, Body: rest, Greeted: greeted, ErrCode: code, RequestID: requestID}
}

// headerValue reads a header of an event response whose header names may be in any case.
func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func TestSameAnswerInEveryMode(t *testing.T) {
	bin := Build(t, "./testdata/fnhello")
	aws := AWS(t, bin)
	scf := SCF(t, bin)
	srv := HTTP(t, bin)

	cases := []modeCase{
		{name: "created", method: "POST", path: "/greet/wxfn", query: map[string][]string{"tag": {"a"}}, body: `{"greeting":"hi"}`,
			want: answer{Status: 201, Greeted: "wxfn", Body: `{"message":"hi, wxfn","method":"POST","path":"/greet/wxfn","tags":["a"]}`}},
		{name: "validation", method: "POST", path: "/greet/wxfn", body: `{"greeting":""}`, want: answer{Status: 400, ErrCode: "invalid_greeting"}},
		{name: "bad json", method: "POST", path: "/greet/wxfn", body: `{"greeting":`, want: answer{Status: 400, ErrCode: "invalid_json"}},
		{name: "body too large", method: "POST", path: "/greet/wxfn", body: `{"greeting":"` + strings.Repeat("x", 2<<10) + `"}`, want: answer{Status: 413}},
		{name: "not found", method: "GET", path: "/nowhere", want: answer{Status: 404, ErrCode: "not_found"}},
		{name: "method not allowed", method: "GET", path: "/greet/wxfn", want: answer{Status: 405, ErrCode: "method_not_allowed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			viaHTTP := httpAnswer(t, srv, c)
			viaAWS := awsAnswer(t, aws, c)
			viaSCF := scfAnswer(t, scf, c)
			for _, a := range []answer{viaHTTP, viaAWS, viaSCF} {
				if a.RequestID == "" {
					t.Errorf("an answer has no x-request-id: %+v", a)
				}
			}
			viaHTTP.RequestID, viaAWS.RequestID, viaSCF.RequestID = "", "", ""
			if viaAWS != viaHTTP || viaSCF != viaHTTP {
				t.Errorf("answers differ:\nhttp %+v\naws  %+v\nscf  %+v", viaHTTP, viaAWS, viaSCF)
			}
			got := viaHTTP
			if c.want.Status == 413 {
				// The runtime's wording of the 413 is its own business; only the status is contract.
				got = answer{Status: got.Status}
			}
			if got != c.want {
				t.Errorf("answer %+v, want %+v", got, c.want)
			}
		})
	}
	if srv.Exited() {
		t.Error("the HTTP server exited")
	}
}

func httpAnswer(t *testing.T, srv *HTTPServer, c modeCase) answer {
	t.Helper()
	url := srv.URL + c.path
	if q := c.rawQuery(); q != "" {
		url += "?" + q
	}
	req, err := http.NewRequest(c.method, url, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return newAnswer(resp.StatusCode, string(body), resp.Header.Get("X-Greeted"), resp.Header.Get("X-Request-Id"))
}

func awsAnswer(t *testing.T, rt *AWSRuntime, c modeCase) answer {
	t.Helper()
	e := events.LambdaFunctionURLRequest{
		Version:               "2.0",
		RawPath:               c.path,
		RawQueryString:        c.rawQuery(),
		Headers:               map[string]string{"host": "abc.lambda-url.us-east-1.on.aws"},
		QueryStringParameters: map[string]string{},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID: "123456789012", RequestID: "url-req", DomainName: "abc.lambda-url.us-east-1.on.aws", DomainPrefix: "abc",
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: c.method, Path: c.path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7"},
			Time: "12/Mar/2020:19:03:58 +0000", TimeEpoch: 1583348638390,
		},
		Body: c.body,
	}
	for k, vs := range c.query {
		e.QueryStringParameters[k] = strings.Join(vs, ",")
	}
	if c.body != "" {
		e.Headers["content-type"] = "application/json"
	}
	event, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	payload, errPayload, err := rt.Invoke(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	if errPayload != nil {
		t.Fatalf("aws function error: %s", errPayload)
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		t.Fatalf("aws payload %s: %v", payload, err)
	}
	if resp.IsBase64Encoded {
		t.Fatalf("aws payload unexpectedly base64: %s", payload)
	}
	return newAnswer(resp.StatusCode, resp.Body, headerValue(resp.Headers, "X-Greeted"), headerValue(resp.Headers, "X-Request-Id"))
}

func scfAnswer(t *testing.T, rt *SCFRuntime, c modeCase) answer {
	t.Helper()
	type scfURLEvent struct {
		HTTPMethod  string              `json:"httpMethod"`
		Path        string              `json:"path"`
		Headers     map[string]string   `json:"headers"`
		QueryString map[string][]string `json:"queryString"`
		Body        string              `json:"body,omitempty"`
	}
	e := scfURLEvent{HTTPMethod: c.method, Path: c.path, Headers: map[string]string{"x-scf-remote-addr": "203.0.113.7"}, QueryString: c.query, Body: c.body}
	if c.body != "" {
		e.Headers["content-type"] = "application/json"
	}
	if e.QueryString == nil {
		e.QueryString = map[string][]string{}
	}
	event, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.Invoke(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil {
		t.Fatalf("scf function error: %+v", resp.Error)
	}
	var out struct {
		IsBase64Encoded bool              `json:"isBase64Encoded"`
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(resp.Payload), &out); err != nil {
		t.Fatalf("scf payload %s: %v", resp.Payload, err)
	}
	if out.IsBase64Encoded {
		t.Fatalf("scf payload unexpectedly base64: %s", resp.Payload)
	}
	return newAnswer(out.StatusCode, out.Body, headerValue(out.Headers, "X-Greeted"), headerValue(out.Headers, "X-Request-Id"))
}
