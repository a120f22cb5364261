// Command wxfn-invoke runs one function binary on one sample event against the running local
// stack (`make invoke FN=NAME EVENT=FILE`). Sample events are the clouds' real formats; values
// that only the running stack can provide are written as placeholders and filled in here:
//
//	{{login_code}}     a fresh wx.login code minted by the emulator
//	{{phone_code}}     a fresh getPhoneNumber code (13800138000)
//	{{session_token}}  a session token from logging in with a fresh code through the gateway
//	{{openid}}         the openid of that session (the same user)
//	{{admin_key}}      the sandbox admin key
//	{{out_trade_no}}   an unpaid order of that user, created through payorder
//	{{paid_out_trade_no}}  an order of that user, created through payorder and paid in the emulator
//	{{out_refund_no}}  a refund of such an order, created through the refund function
//	{{today}}          today's date in Asia/Shanghai (YYYY-MM-DD)
//
// The binary runs with the stack's settings (.wxfn/dev.env) in its `invoke` mode, so the event goes
// through the same adapter as on the cloud.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: wxfn-invoke ENVFILE BINARY EVENT.json")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "wxfn-invoke:", err)
		os.Exit(1)
	}
}

func run(envFile, bin, eventFile string) error {
	env, err := readEnv(envFile)
	if err != nil {
		return fmt.Errorf("%w (is `make dev` running?)", err)
	}
	event, err := os.ReadFile(eventFile)
	if err != nil {
		return err
	}
	event, err = fill(event, env)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "invoke", "-")
	cmd.Stdin = bytes.NewReader(event)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd.Run()
}

// fill replaces the placeholders the event uses; it talks to the stack only for those.
func fill(event []byte, env map[string]string) ([]byte, error) {
	s := string(event)
	gw := env["WXFN_DEV_URL"]
	if gw == "" {
		return nil, errors.New("the stack's settings name no WXFN_DEV_URL; restart `make dev`")
	}
	var session map[string]any
	var login func() (map[string]any, error)
	adminKey, _, _ := strings.Cut(env["ADMIN_KEYS"], ",")
	newOrder := func() (string, error) {
		sess, err := login()
		if err != nil {
			return "", err
		}
		order, err := post(gw+"/payorder/", str(sess, "token"), `{"items":[{"sku":"tea-oolong-250g","qty":1}]}`)
		return str(order, "outTradeNo"), err
	}
	var paidNo string
	paidOrder := func() (string, error) {
		if paidNo != "" {
			return paidNo, nil
		}
		no, err := newOrder()
		if err != nil {
			return "", err
		}
		if _, err := post(gw+"/_emu/pay/orders/"+no+"/pay", "", `{}`); err != nil {
			return "", err
		}
		paidNo = no
		return no, nil
	}
	login = func() (map[string]any, error) {
		if session != nil {
			return session, nil
		}
		code, err := post(gw+"/_emu/wx/codes", "", `{}`)
		if err != nil {
			return nil, err
		}
		session, err = post(gw+"/login/", "", fmt.Sprintf(`{"code":%q}`, code["code"]))
		return session, err
	}
	fills := []struct {
		name string
		get  func() (string, error)
	}{
		{"{{login_code}}", func() (string, error) {
			r, err := post(gw+"/_emu/wx/codes", "", `{}`)
			return str(r, "code"), err
		}},
		{"{{phone_code}}", func() (string, error) {
			r, err := post(gw+"/_emu/wx/phone-codes", "", `{"phoneNumber":"13800138000"}`)
			return str(r, "code"), err
		}},
		{"{{session_token}}", func() (string, error) {
			r, err := login()
			return str(r, "token"), err
		}},
		{"{{openid}}", func() (string, error) {
			r, err := login()
			return str(r, "openid"), err
		}},
		{"{{admin_key}}", func() (string, error) { return adminKey, nil }},
		{"{{out_refund_no}}", func() (string, error) {
			no, err := paidOrder()
			if err != nil {
				return "", err
			}
			r, err := post(gw+"/refund/", adminKey, fmt.Sprintf(`{"outTradeNo":%q,"amount":100}`, no))
			return str(r, "outRefundNo"), err
		}},
		{"{{paid_out_trade_no}}", paidOrder},
		{"{{out_trade_no}}", newOrder},
		{"{{today}}", func() (string, error) {
			return time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02"), nil
		}},
	}
	for _, f := range fills {
		if !strings.Contains(s, f.name) {
			continue
		}
		v, err := f.get()
		if err != nil {
			return nil, fmt.Errorf("filling %s: %w", f.name, err)
		}
		s = strings.ReplaceAll(s, f.name, v)
	}
	return []byte(s), nil
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func post(url, token, body string) (map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return out, nil
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = strings.Trim(v, `'`)
		}
	}
	return env, sc.Err()
}
