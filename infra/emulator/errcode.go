package emulator

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// WeChat errcodes the emulator answers with on api.weixin.qq.com. Tests of the functions can
// compare against these instead of repeating magic numbers.
const (
	ErrcodeBusy              = -1    // system error
	ErrcodeInvalidCredential = 40001 // access_token is invalid or not latest
	ErrcodeInvalidGrantType  = 40002
	ErrcodeInvalidOpenID     = 40003
	ErrcodeInvalidAppID      = 40013
	ErrcodeInvalidCode       = 40029 // login or phone code unknown, expired, used or for another app
	ErrcodeInvalidAppSecret  = 40125
	ErrcodeCodeUsed          = 40163 // not answered by the emulator (it says 40029); for fault injection
	ErrcodeMissingToken      = 41001
	ErrcodeMissingAppID      = 41002
	ErrcodeMissingSecret     = 41004
	ErrcodeMissingCode       = 41008
	ErrcodeTokenExpired      = 42001
	ErrcodeEmptyPostData     = 44002
	ErrcodeDailyQuota        = 45009
	ErrcodeRateLimit         = 45011
	ErrcodeBadJSON           = 47001
	ErrcodeInvalidSignature  = 87009

	// Shipping-information management (/wxa/sec/order/upload_shipping_info).
	ErrcodeShipOrderNotFound     = 10060001 // no such payment (also right after payment, until indexed)
	ErrcodeShipReshipUsed        = 10060003 // the one re-upload was already used
	ErrcodeShipNotShippable      = 10060004 // the payment is in a state that cannot ship (fully refunded)
	ErrcodeShipLogisticsType     = 10060005
	ErrcodeShipSplitNotExpress   = 10060006
	ErrcodeShipSplitNeedsAll     = 10060007
	ErrcodeShipNoItemDesc        = 10060008
	ErrcodeShipItemDescTooLong   = 10060009
	ErrcodeShipInvalidParam      = 10060014
	ErrcodeShipTooManyParcels    = 10060024
	ErrcodeShipCompanyTooLong    = 10060025
	ErrcodeShipTrackingTooLong   = 10060026
	ErrcodeShipInvalidUploadTime = 268485216
	ErrcodeShipInvalidMode       = 268485224
)

// errmsgs are the messages WeChat sends with each errcode (before the " rid: …" suffix).
var errmsgs = map[int]string{
	ErrcodeBusy:                  "system error",
	ErrcodeInvalidCredential:     "invalid credential, access_token is invalid or not latest",
	ErrcodeInvalidGrantType:      "invalid grant_type",
	ErrcodeInvalidOpenID:         "invalid openid",
	ErrcodeInvalidAppID:          "invalid appid",
	ErrcodeInvalidCode:           "invalid code",
	ErrcodeInvalidAppSecret:      "invalid appsecret",
	ErrcodeCodeUsed:              "code been used",
	ErrcodeMissingToken:          "access_token missing",
	ErrcodeMissingAppID:          "appid missing",
	ErrcodeMissingSecret:         "appsecret missing",
	ErrcodeMissingCode:           "missing code",
	ErrcodeTokenExpired:          "access_token expired",
	ErrcodeEmptyPostData:         "empty post data",
	ErrcodeDailyQuota:            "reach max api daily quota limit",
	ErrcodeRateLimit:             "api minute-quota reach-limit mustslower retry next minute",
	ErrcodeBadJSON:               "data format error",
	ErrcodeInvalidSignature:      "invalid signature",
	48001:                        "api unauthorized",
	40164:                        "invalid ip, not in whitelist",
	40226:                        "invalid code, high risk user",
	ErrcodeShipOrderNotFound:     "支付单不存在",
	ErrcodeShipReshipUsed:        "支付单已使用重新发货机会",
	ErrcodeShipNotShippable:      "支付单处于不可发货的状态",
	ErrcodeShipLogisticsType:     "物流类型有误",
	ErrcodeShipSplitNotExpress:   "非快递发货时不允许分拆发货",
	ErrcodeShipSplitNeedsAll:     "分拆发货模式下必须填写is_all_delivered字段",
	ErrcodeShipNoItemDesc:        "商品描述字段不能为空",
	ErrcodeShipItemDescTooLong:   "商品描述字段长度过长",
	ErrcodeShipInvalidParam:      "参数错误",
	ErrcodeShipTooManyParcels:    "物流信息列表过长",
	ErrcodeShipCompanyTooLong:    "物流公司编码过长",
	ErrcodeShipTrackingTooLong:   "物流单号过长",
	ErrcodeShipInvalidUploadTime: "上传时间非法，请按照RFC 3339格式填写",
	ErrcodeShipInvalidMode:       "发货模式非法",
}

// Errmsg returns WeChat's message for errcode, without the rid suffix.
func Errmsg(errcode int) string {
	if m, ok := errmsgs[errcode]; ok {
		return m
	}
	return "emulated error"
}

// wxError is a business error of api.weixin.qq.com, answered as HTTP 200 with an errcode body.
type wxError struct {
	code int
	msg  string // empty means Errmsg(code)
}

func wxErr(code int) *wxError { return &wxError{code: code} }

// rid builds a request id like WeChat's: the hex unix time and two random groups. Support traces
// a call by it, so every error carries one.
func rid(now time.Time) string {
	b := randomBytes(8)
	return fmt.Sprintf("%08x-%08x-%08x", uint32(now.Unix()), binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:]))
}

// writeWXError answers err as WeChat does: the given HTTP status (200 for business errors) and
// {"errcode","errmsg"} with the " rid: …" suffix.
func writeWXError(w http.ResponseWriter, status int, err *wxError, now time.Time) {
	msg := err.msg
	if msg == "" {
		msg = Errmsg(err.code)
	}
	writeWX(w, status, errorResponse{Errcode: err.code, Errmsg: msg + " rid: " + rid(now)})
}

// writeWX answers v as JSON with the content type api.weixin.qq.com sends.
func writeWX(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is a plain struct of the emulator's own; failing to encode one
		// is a bug worth a loud 500.
		http.Error(w, "emulator: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
