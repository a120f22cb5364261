//go:build !wxfn_no_s3

package blob

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// awsCredentials is the part of the AWS default credential chain that serverless functions
// meet, without linking the SDK's config module (and its STS, SSO and IMDS clients):
//
//  1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN — what
//     Lambda sets for the function's role;
//  2. container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI or
//     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) —
//     ECS tasks, EKS Pod Identity, and local emulators;
//  3. static keys of a profile in the shared credentials file: AWS_SHARED_CREDENTIALS_FILE or
//     ~/.aws/credentials, profile AWS_PROFILE or "default" — a developer's machine.
//
// EC2 instance roles (IMDS), SSO and assume-role profiles are not supported; on such hosts,
// export the role's keys or run behind a container-credentials endpoint.
// Wrapped in aws.CredentialsCache, which refreshes expiring credentials.
type awsCredentials struct {
	env  func(string) (string, bool)
	http *http.Client
}

func newAWSCredentials(opts Options) *awsCredentials {
	c := opts.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	return &awsCredentials{env: opts.Env, http: c}
}

func (a *awsCredentials) get(name string) string {
	v, _ := a.env(name)
	return strings.TrimSpace(v)
}

// Retrieve implements aws.CredentialsProvider.
func (a *awsCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if id := a.get("AWS_ACCESS_KEY_ID"); id != "" {
		secret := a.get("AWS_SECRET_ACCESS_KEY")
		if secret == "" {
			return aws.Credentials{}, errors.New("aws credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
		}
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: a.get("AWS_SESSION_TOKEN"), Source: "Environment"}, nil
	}
	if full, rel := a.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"), a.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); full != "" || rel != "" {
		return a.container(ctx, full, rel)
	}
	if c, ok, err := a.sharedFile(); ok || err != nil {
		return c, err
	}
	return aws.Credentials{}, errors.New("aws credentials: none found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run with container credentials, or add a profile to ~/.aws/credentials)")
}

// ecsHost is the link-local address of the ECS credentials endpoint.
const ecsHost = "169.254.170.2"

func (a *awsCredentials) container(ctx context.Context, full, rel string) (aws.Credentials, error) {
	endpoint := full
	if rel != "" {
		endpoint = "http://" + ecsHost + rel
	} else if err := checkContainerEndpoint(full); err != nil {
		return aws.Credentials{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("aws container credentials: %w", err)
	}
	token := a.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
	if file := a.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
		b, err := os.ReadFile(file) // re-read each time: the platform rotates it
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("aws container credentials: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("aws container credentials: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("aws container credentials: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// The body may describe the failure; it holds no credentials when the status is not 200.
		return aws.Credentials{}, fmt.Errorf("aws container credentials: %s: %.200s", resp.Status, body)
	}
	var c struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string `json:"SecretAccessKey"`
		Token           string `json:"Token"`
		Expiration      string `json:"Expiration"`
	}
	if err := json.Unmarshal(body, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, errors.New("aws container credentials: malformed response")
	}
	out := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.Token, Source: "ContainerCredentials"}
	if c.Expiration != "" {
		exp, err := time.Parse(time.RFC3339, c.Expiration)
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("aws container credentials: expiration %q: %w", c.Expiration, err)
		}
		out.CanExpire, out.Expires = true, exp
	}
	return out, nil
}

// checkContainerEndpoint allows what the SDK allows for a full URI: https anywhere, http only to
// loopback or the ECS and EKS link-local hosts, so that credentials are never sent in clear
// across a network.
func checkContainerEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("aws container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI: %w", err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == ecsHost || host == "169.254.170.23" || host == "fd00:ec2::23" || host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("aws container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI %q must be https, or http to loopback or the ECS/EKS endpoint", raw)
}

// sharedFile reads static keys of the profile from the shared credentials file. ok is false when
// there is no file or no such profile.
func (a *awsCredentials) sharedFile() (c aws.Credentials, ok bool, err error) {
	path := a.get("AWS_SHARED_CREDENTIALS_FILE")
	if path == "" {
		home := a.get("HOME")
		if home == "" {
			home = a.get("USERPROFILE")
		}
		if home == "" {
			return c, false, nil
		}
		path = filepath.Join(home, ".aws", "credentials")
	}
	profile := a.get("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("aws shared credentials: %w", err)
	}
	defer f.Close()
	vals := map[string]string{}
	found, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			in = strings.TrimSpace(strings.Trim(line, "[]")) == profile
			found = found || in
		case in:
			if k, v, ok := strings.Cut(line, "="); ok {
				vals[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return c, false, fmt.Errorf("aws shared credentials: %w", err)
	}
	if !found {
		return c, false, nil
	}
	if vals["aws_access_key_id"] == "" || vals["aws_secret_access_key"] == "" {
		return c, true, fmt.Errorf("aws shared credentials: profile %q in %s has no static keys (SSO and role profiles are not supported)", profile, path)
	}
	return aws.Credentials{
		AccessKeyID:     vals["aws_access_key_id"],
		SecretAccessKey: vals["aws_secret_access_key"],
		SessionToken:    vals["aws_session_token"],
		Source:          "SharedConfigCredentials: " + path,
	}, true, nil
}
