package config

import (
	"encoding/base64"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Default endpoints of the real WeChat hosts; the local stack points them at the emulator.
const (
	DefaultWXAPIBase    = "https://api.weixin.qq.com"
	DefaultWXPayAPIBase = "https://api.mch.weixin.qq.com"
	DefaultWeComAPIBase = "https://qyapi.weixin.qq.com"
	DefaultWXBotAPIBase = "https://openaiapi.weixin.qq.com"
)

// LogLevel returns the slog level named by LOG_LEVEL (debug, info, warn, error; default info).
func LogLevel(lookup Lookup) slog.Level {
	r := newReader(lookup)
	var l slog.Level
	if err := l.UnmarshalText([]byte(r.optional("LOG_LEVEL", "info"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// Database is where the documents live.
type Database struct {
	URI  string // MONGODB_URI
	Name string // MONGODB_DATABASE, default "wxfn"
}

// LoadDatabase reads MONGODB_URI and MONGODB_DATABASE.
func LoadDatabase(lookup Lookup) (Database, error) {
	r := newReader(lookup)
	d := Database{URI: r.secret("MONGODB_URI", true), Name: r.optional("MONGODB_DATABASE", "wxfn")}
	return d, r.err("database")
}

// Blob is the object store's location.
type Blob struct {
	URL string // BLOB_URL: file:///dir, cos://BUCKET-APPID.cos.REGION.myqcloud.com, s3://BUCKET?region=R
}

// LoadBlob reads BLOB_URL.
func LoadBlob(lookup Lookup) (Blob, error) {
	r := newReader(lookup)
	b := Blob{URL: r.required("BLOB_URL")}
	return b, r.err("blob")
}

// Session configures the session tokens login issues and every user route verifies.
type Session struct {
	Secret []byte        // SESSION_SECRET, at least 32 bytes
	TTL    time.Duration // SESSION_TTL, default 168h
	AppID  string        // WX_APPID: the tokens' audience
}

// LoadSession reads SESSION_SECRET, SESSION_TTL and WX_APPID.
func LoadSession(lookup Lookup) (Session, error) {
	r := newReader(lookup)
	s := Session{
		Secret: []byte(r.secret("SESSION_SECRET", true)),
		TTL:    r.duration("SESSION_TTL", 168*time.Hour),
		AppID:  r.required("WX_APPID"),
	}
	if len(s.Secret) > 0 && len(s.Secret) < 32 {
		r.invalid("SESSION_SECRET", "must be at least 32 bytes")
	}
	return s, r.err("session")
}

// LoadDataKey reads DATA_KEY, 32 random bytes in standard base64, which encrypts secrets at rest.
func LoadDataKey(lookup Lookup) ([]byte, error) {
	r := newReader(lookup)
	v := r.secret("DATA_KEY", true)
	var key []byte
	if v != "" {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(k) != 32 {
			r.invalid("DATA_KEY", "must be 32 bytes in standard base64 (try: openssl rand -base64 32)")
		} else {
			key = k
		}
	}
	return key, r.err("data key")
}

// LoadAdminKeys reads ADMIN_KEYS, comma-separated keys of at least 32 characters each.
func LoadAdminKeys(lookup Lookup) ([]string, error) {
	r := newReader(lookup)
	var keys []string
	for i, k := range strings.Split(r.secret("ADMIN_KEYS", true), ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if len(k) < 32 {
			// Name the position, never the key.
			r.invalid("ADMIN_KEYS", "key #"+strconv.Itoa(i+1)+" is shorter than 32 characters")
			continue
		}
		keys = append(keys, k)
	}
	return keys, r.err("admin keys")
}

// MiniProgram identifies the mini-program and where its API lives.
type MiniProgram struct {
	AppID   string // WX_APPID
	Secret  string // WX_SECRET
	APIBase string // WX_API_BASE, default https://api.weixin.qq.com
	// MsgToken and MsgAESKey configure message push (optional for functions that do not receive it).
	MsgToken  string // WX_MSG_TOKEN
	MsgAESKey string // WX_MSG_AESKEY
}

// LoadMiniProgram reads the mini-program settings.
func LoadMiniProgram(lookup Lookup) (MiniProgram, error) {
	r := newReader(lookup)
	m := MiniProgram{
		AppID:     r.required("WX_APPID"),
		Secret:    r.secret("WX_SECRET", true),
		APIBase:   strings.TrimRight(r.optional("WX_API_BASE", DefaultWXAPIBase), "/"),
		MsgToken:  r.secret("WX_MSG_TOKEN", false),
		MsgAESKey: r.secret("WX_MSG_AESKEY", false),
	}
	return m, r.err("mini-program")
}
