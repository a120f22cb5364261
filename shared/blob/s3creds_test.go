//go:build !wxfn_no_s3

package blob

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxfn/wxfn/shared/config"
)

func retrieve(t *testing.T, env map[string]string, client *http.Client) (string, string, string, error) {
	t.Helper()
	c := newAWSCredentials(Options{Env: config.Map(env), HTTPClient: client})
	cr, err := c.Retrieve(context.Background())
	return cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken, err
}

func TestAWSCredentialsFromEnvironment(t *testing.T) {
	id, secret, token, err := retrieve(t, map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "secretenv", "AWS_SESSION_TOKEN": "tokenenv",
		// The environment wins over every later source.
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/never",
	}, nil)
	if err != nil || id != "AKIDENV" || secret != "secretenv" || token != "tokenenv" {
		t.Fatalf("got %q %q %q %v", id, secret, token, err)
	}
	if _, _, _, err := retrieve(t, map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV"}, nil); err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("key id without secret: %v", err)
	}
}

// containerServer is a container-credentials endpoint that wants a bearer token.
func containerServer(t *testing.T, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != token || r.URL.Path != "/v2/credentials/abc" {
			http.Error(w, "denied", http.StatusForbidden)
			return
		}
		w.Write([]byte(`{"AccessKeyId":"AKIDCONTAINER","SecretAccessKey":"secretcontainer","Token":"tokencontainer","Expiration":"2099-01-02T03:04:05Z"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAWSCredentialsFromContainer(t *testing.T) {
	srv := containerServer(t, "Bearer pod-token")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("Bearer pod-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	c := newAWSCredentials(Options{Env: config.Map(map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     srv.URL + "/v2/credentials/abc",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
	})})
	cr, err := c.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cr.AccessKeyID != "AKIDCONTAINER" || cr.SessionToken != "tokencontainer" || !cr.CanExpire || !cr.Expires.Equal(time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("got %+v", cr)
	}

	// A wrong token is refused by the endpoint, and the error says so without credentials.
	_, _, _, err = retrieve(t, map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.URL + "/v2/credentials/abc",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN":  "Bearer wrong",
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("wrong token: %v", err)
	}

	// The relative form goes to the ECS endpoint, here reached through a dialer pointed at srv.
	var d net.Dialer
	toSrv := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != "169.254.170.2:80" {
			t.Errorf("dialled %s, want the ECS endpoint", addr)
		}
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}}}
	id, _, _, err := retrieve(t, map[string]string{
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN":      "Bearer pod-token",
	}, toSrv)
	if err != nil || id != "AKIDCONTAINER" {
		t.Fatalf("relative URI: %q %v", id, err)
	}
}

func TestAWSCredentialsRefuseCleartextToRemoteHosts(t *testing.T) {
	for _, uri := range []string{"http://example.com/creds", "http://10.0.0.1/creds", "ftp://127.0.0.1/creds"} {
		if _, _, _, err := retrieve(t, map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": uri}, nil); err == nil || !strings.Contains(err.Error(), "must be https") {
			t.Errorf("%s: %v, want a refusal before any request", uri, err)
		}
	}
}

func TestAWSCredentialsFromSharedFile(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	file := `# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secretdefault

[work]
aws_access_key_id=AKIDWORK
aws_secret_access_key=secretwork
aws_session_token=tokenwork

[sso]
sso_start_url = https://example.awsapps.com/start
`
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		profile, wantID, wantToken, wantErr string
	}{
		{"", "AKIDDEFAULT", "", ""},
		{"work", "AKIDWORK", "tokenwork", ""},
		{"sso", "", "", "no static keys"},
		{"absent", "", "", "none found"},
	} {
		id, _, token, err := retrieve(t, map[string]string{"HOME": home, "AWS_PROFILE": tc.profile}, nil)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("profile %q: %v, want an error containing %q", tc.profile, err, tc.wantErr)
			}
			continue
		}
		if err != nil || id != tc.wantID || token != tc.wantToken {
			t.Errorf("profile %q: %q %q %v", tc.profile, id, token, err)
		}
	}
}

func TestAWSCredentialsNone(t *testing.T) {
	_, _, _, err := retrieve(t, map[string]string{"HOME": t.TempDir()}, nil)
	if err == nil || !strings.Contains(err.Error(), "none found") {
		t.Fatalf("%v", err)
	}
}
