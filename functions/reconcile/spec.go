package reconcile

import (
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

// Spec describes the reconcile function for deployment.
var Spec = fn.Spec{
	Name:        "reconcile",
	Description: "Daily WeChat Pay reconciliation: trade bill to object storage, diff against orders and refunds, repair missed notifications, report",
	URL:         true,
	// 10:30 Beijing time, for the previous day: WeChat Pay generates day D's bill from 09:00 on
	// D+1 and advises fetching it after 10:00.
	Schedules:    []fn.ScheduleSpec{{Name: "daily", Daily: "10:30"}},
	MemoryMB:     256,
	Timeout:      5 * time.Minute,
	MaxBodyBytes: 4 << 10,
	Settings: []string{
		"MONGODB_URI", "MONGODB_DATABASE", "BLOB_URL", "ADMIN_KEYS",
		"WX_APPID", "WX_SECRET", "WX_API_BASE", "WXPAY_MCHID", "WXPAY_APPID", "WXPAY_CERT_SERIAL", "WXPAY_PRIVATE_KEY", "WXPAY_APIV3_KEY",
		"WXPAY_PUBLIC_KEY_ID", "WXPAY_PUBLIC_KEY", "WXPAY_PLATFORM_CERTS", "WXPAY_NOTIFY_URL", "WXPAY_API_BASE",
		"RECONCILE_MAX_REPAIRS",
	},
}
