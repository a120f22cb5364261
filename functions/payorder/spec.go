package payorder

import (
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

// Spec describes the payorder function for deployment.
var Spec = fn.Spec{
	Name:         "payorder",
	Description:  "WeChat Pay orders: price from the catalogue, JSAPI prepay, state with missed-notification repair, close, shipping upload",
	URL:          true,
	MemoryMB:     128,
	Timeout:      10 * time.Second,
	MaxBodyBytes: 16 << 10,
	Settings: []string{
		"MONGODB_URI", "MONGODB_DATABASE", "SESSION_SECRET", "SESSION_TTL", "ADMIN_KEYS",
		"WX_APPID", "WX_SECRET", "WX_API_BASE",
		"WXPAY_MCHID", "WXPAY_APPID", "WXPAY_CERT_SERIAL", "WXPAY_PRIVATE_KEY", "WXPAY_APIV3_KEY",
		"WXPAY_PUBLIC_KEY_ID", "WXPAY_PUBLIC_KEY", "WXPAY_PLATFORM_CERTS", "WXPAY_NOTIFY_URL", "WXPAY_API_BASE",
		"PAYORDER_MAX_TOTAL", "PAYORDER_MAX_ITEMS", "PAYORDER_EXPIRE", "PAYORDER_QUERY_AFTER",
	},
}
