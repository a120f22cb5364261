package login

import (
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

// Spec describes the login function for deployment.
var Spec = fn.Spec{
	Name:         "login",
	Description:  "Mini-program login: code2session, session tokens, phone number, encrypted data",
	URL:          true,
	MemoryMB:     128,
	Timeout:      10 * time.Second,
	MaxBodyBytes: 64 << 10,
	Settings: []string{
		"MONGODB_URI", "MONGODB_DATABASE", "SESSION_SECRET", "SESSION_TTL", "DATA_KEY",
		"WX_APPID", "WX_SECRET", "WX_API_BASE",
	},
}
