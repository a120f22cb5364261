package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	os.WriteFile(path, []byte("  s3cr3t-value\n"), 0o600)
	m, err := LoadMiniProgram(Map(map[string]string{"WX_APPID": "wx1", "WX_SECRET_FILE": path}))
	if err != nil || m.Secret != "s3cr3t-value" {
		t.Fatalf("secret from file = %q, %v", m.Secret, err)
	}
	if m.APIBase != DefaultWXAPIBase {
		t.Fatalf("default API base = %q", m.APIBase)
	}
}

func TestErrorsNameEveryProblemAndNoValue(t *testing.T) {
	cases := []struct {
		name  string
		load  func(Lookup) error
		env   map[string]string
		names []string // every variable the error must name
	}{
		{"missing mini-program", func(l Lookup) error { _, err := LoadMiniProgram(l); return err }, nil, []string{"WX_APPID", "WX_SECRET"}},
		{"secret twice", func(l Lookup) error { _, err := LoadMiniProgram(l); return err },
			map[string]string{"WX_APPID": "wx1", "WX_SECRET": "hunter2-hunter2", "WX_SECRET_FILE": "/nonexistent"}, []string{"WX_SECRET"}},
		{"unreadable file", func(l Lookup) error { _, err := LoadMiniProgram(l); return err },
			map[string]string{"WX_APPID": "wx1", "WX_SECRET_FILE": "/nonexistent/secret"}, []string{"WX_SECRET_FILE"}},
		{"short session secret", func(l Lookup) error { _, err := LoadSession(l); return err },
			map[string]string{"SESSION_SECRET": "hunter2-hunter2", "WX_APPID": "wx1"}, []string{"SESSION_SECRET"}},
		{"bad TTL", func(l Lookup) error { _, err := LoadSession(l); return err },
			map[string]string{"SESSION_SECRET": strings.Repeat("k", 32), "WX_APPID": "wx1", "SESSION_TTL": "a week"}, []string{"SESSION_TTL"}},
		{"data key not base64", func(l Lookup) error { _, err := LoadDataKey(l); return err },
			map[string]string{"DATA_KEY": "hunter2-hunter2"}, []string{"DATA_KEY"}},
		{"data key 16 bytes", func(l Lookup) error { _, err := LoadDataKey(l); return err },
			map[string]string{"DATA_KEY": base64.StdEncoding.EncodeToString(make([]byte, 16))}, []string{"DATA_KEY"}},
		{"short admin key", func(l Lookup) error { _, err := LoadAdminKeys(l); return err },
			map[string]string{"ADMIN_KEYS": strings.Repeat("a", 32) + ",hunter2-hunter2"}, []string{"ADMIN_KEYS", "#2"}},
		{"no admin keys", func(l Lookup) error { _, err := LoadAdminKeys(l); return err }, nil, []string{"ADMIN_KEYS"}},
		{"no database", func(l Lookup) error { _, err := LoadDatabase(l); return err }, nil, []string{"MONGODB_URI"}},
		{"no blob", func(l Lookup) error { _, err := LoadBlob(l); return err }, nil, []string{"BLOB_URL"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.load(Map(c.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, n := range c.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %s", err, n)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q repeats a value", err)
			}
		})
	}
}

func TestValidSettings(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	env := Map(map[string]string{
		"SESSION_SECRET": strings.Repeat("s", 32), "WX_APPID": "wx1", "SESSION_TTL": "2h",
		"DATA_KEY": base64.StdEncoding.EncodeToString(key), "ADMIN_KEYS": strings.Repeat("a", 32) + ", " + strings.Repeat("b", 40),
		"MONGODB_URI": "mongodb://127.0.0.1:27017/", "WX_API_BASE": "http://127.0.0.1:8080/_emu/wx/",
		"WX_SECRET": "sec", "LOG_LEVEL": "debug",
	})
	s, err := LoadSession(env)
	if err != nil || s.TTL != 2*time.Hour || s.AppID != "wx1" {
		t.Fatalf("session %+v %v", s, err)
	}
	if k, err := LoadDataKey(env); err != nil || len(k) != 32 || k[31] != 31 {
		t.Fatalf("data key %v %v", k, err)
	}
	if keys, err := LoadAdminKeys(env); err != nil || len(keys) != 2 || keys[1] != strings.Repeat("b", 40) {
		t.Fatalf("admin keys %v %v", keys, err)
	}
	if d, err := LoadDatabase(env); err != nil || d.Name != "wxfn" {
		t.Fatalf("database %+v %v", d, err)
	}
	if m, err := LoadMiniProgram(env); err != nil || m.APIBase != "http://127.0.0.1:8080/_emu/wx" {
		t.Fatalf("mini-program %+v %v", m, err)
	}
	if l := LogLevel(env); l.String() != "DEBUG" {
		t.Fatalf("log level %v", l)
	}
	if s, _ := LoadSession(Map(map[string]string{"SESSION_SECRET": strings.Repeat("s", 32), "WX_APPID": "wx1"})); s.TTL != 168*time.Hour {
		t.Fatalf("default TTL %v", s.TTL)
	}
}
