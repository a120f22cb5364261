package refund

import (
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

// Spec describes the refund function for deployment.
var Spec = fn.Spec{
	Name:         "refund",
	Description:  "Admin refunds of WeChat Pay orders: create (idempotent, never past the paid amount) and track",
	URL:          true,
	MemoryMB:     128,
	Timeout:      15 * time.Second,
	MaxBodyBytes: 16 << 10,
	Settings: []string{
		"MONGODB_URI", "MONGODB_DATABASE", "ADMIN_KEYS",
		"WX_APPID", "WXPAY_MCHID", "WXPAY_APPID", "WXPAY_CERT_SERIAL", "WXPAY_PRIVATE_KEY", "WXPAY_APIV3_KEY",
		"WXPAY_PUBLIC_KEY_ID", "WXPAY_PUBLIC_KEY", "WXPAY_PLATFORM_CERTS", "WXPAY_NOTIFY_URL", "WXPAY_API_BASE",
		"REFUND_QUERY_AFTER",
	},
}
