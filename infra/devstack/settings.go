package devstack

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// sandboxSecrets are generated once per data directory and kept in .wxfn/secrets.env, so that
// session tokens and sealed session keys stay valid across restarts of `make dev`.
var sandboxSecrets = []struct {
	name string
	make func() string
}{
	{"SESSION_SECRET", func() string { return randomHex(32) }},
	{"DATA_KEY", func() string { return base64.StdEncoding.EncodeToString(randomBytes(32)) }},
	{"ADMIN_KEYS", func() string { return "adm_" + randomHex(24) }},
}

// loadSecrets reads path, adds any missing sandbox secret, and writes it back (mode 0600).
func loadSecrets(path string) (map[string]string, error) {
	vals, err := readEnvFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("devstack secrets: %w", err)
	}
	if vals == nil {
		vals = map[string]string{}
	}
	changed := false
	for _, s := range sandboxSecrets {
		if vals[s.name] == "" {
			vals[s.name] = s.make()
			changed = true
		}
	}
	if changed {
		if err := saveSecrets(path, vals); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

func saveSecrets(path string, vals map[string]string) error {
	if err := writeEnvFile(path, vals, "Sandbox secrets of the local stack, generated once. Never use them in production."); err != nil {
		return fmt.Errorf("devstack secrets: %w", err)
	}
	return nil
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		vals[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `'"`)
	}
	return vals, sc.Err()
}

// writeEnvFile writes KEY='value' lines that both a shell (`. file`) and readEnvFile read.
func writeEnvFile(path string, vals map[string]string, comment string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", comment)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s='%s'\n", k, strings.ReplaceAll(vals[k], "'", ""))
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// WriteEnv writes the functions' environment to path for `make invoke` (mode 0600: it holds the
// sandbox secrets).
func WriteEnv(path string, env map[string]string) error {
	if err := writeEnvFile(path, env, "Environment of the running local stack (make dev). Removed when it stops."); err != nil {
		return fmt.Errorf("devstack env: %w", err)
	}
	return nil
}
