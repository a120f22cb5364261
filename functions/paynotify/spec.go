package paynotify

import (
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

// Spec describes the paynotify function for deployment. Its URL is WXPAY_NOTIFY_URL.
var Spec = fn.Spec{
	Name:         "paynotify",
	Description:  "WeChat Pay notifications: verify, decrypt, record, apply payments and refunds exactly once",
	URL:          true,
	MemoryMB:     128,
	Timeout:      10 * time.Second,
	MaxBodyBytes: 64 << 10,
	Settings: []string{
		"MONGODB_URI", "MONGODB_DATABASE",
		"WX_APPID", "WX_SECRET", "WX_API_BASE",
		"WXPAY_MCHID", "WXPAY_APPID", "WXPAY_CERT_SERIAL", "WXPAY_PRIVATE_KEY", "WXPAY_APIV3_KEY",
		"WXPAY_PUBLIC_KEY_ID", "WXPAY_PUBLIC_KEY", "WXPAY_PLATFORM_CERTS", "WXPAY_API_BASE",
	},
}
