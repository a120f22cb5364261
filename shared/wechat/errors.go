// Package wechat wraps silenceper/wechat for the functions: it points the SDK at WX_API_BASE,
// shares access tokens through wxtoken, retries once on a refused token, and turns the SDK's
// errors (typed or plain text) into APIError values with the numeric errcode — never carrying the
// request URL, which holds the app secret or the access token.
package wechat

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"

	"github.com/silenceper/wechat/v2/util"
)

// APIError is a business error WeChat answered (HTTP 200 with a non-zero errcode).
type APIError struct {
	Op   string
	Code int64
	Msg  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat %s: errcode=%d errmsg=%s", e.Op, e.Code, e.Msg)
}

// TransportError is a failure to get an answer at all: a network error or a non-200 status.
type TransportError struct {
	Op     string
	Status int // 0 when no HTTP answer arrived
	Err    error
}

func (e *TransportError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("wechat %s: HTTP status %d", e.Op, e.Status)
	}
	return fmt.Sprintf("wechat %s: %v", e.Op, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Error codes the functions act on (reference: wechat-platform.md §9).
const (
	CodeBusy          = -1
	CodeInvalidToken  = 40001
	CodeInvalidCode   = 40029
	CodeCodeUsed      = 40163
	CodeMalformedTok  = 40014
	CodeTokenExpired  = 42001
	CodeRateLimited   = 45011
	CodeQuotaExceeded = 45009
	CodeHighRiskUser  = 40226
)

var (
	textCode   = regexp.MustCompile(`errcode=(-?\d+)\s*,?\s*(?:errmsg|errormsg)=(.*)$`)
	textStatus = regexp.MustCompile(`statusCode=(\d+)`)
)

// classify turns whatever the SDK returned into an *APIError or a *TransportError.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return &APIError{Op: op, Code: ce.ErrCode, Msg: ce.ErrMsg}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// url.Error's text includes the URL, and with it the secret or token: keep only the cause.
		return &TransportError{Op: op, Err: ue.Err}
	}
	msg := err.Error()
	if m := textCode.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.ParseInt(m[1], 10, 64)
		return &APIError{Op: op, Code: code, Msg: m[2]}
	}
	if m := textStatus.FindStringSubmatch(msg); m != nil {
		status, _ := strconv.Atoi(m[1])
		return &TransportError{Op: op, Status: status}
	}
	// Unknown shapes (for example a JSON decoding failure) may still quote a URL; say only
	// that the answer was unusable.
	return &TransportError{Op: op, Err: errors.New("unusable answer from WeChat")}
}

// Code returns the errcode of a WeChat business error.
func Code(err error) (int64, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code, true
	}
	return 0, false
}

// IsTokenRefused reports whether WeChat refused the access token used.
func IsTokenRefused(err error) bool {
	c, ok := Code(err)
	return ok && (c == CodeInvalidToken || c == CodeMalformedTok || c == CodeTokenExpired)
}

// IsTemporary reports whether the same call may succeed later: WeChat busy, rate limited, or
// no usable answer.
func IsTemporary(err error) bool {
	var te *TransportError
	if errors.As(err, &te) {
		return te.Status == 0 || te.Status >= 500 || te.Status == 429
	}
	c, ok := Code(err)
	return ok && (c == CodeBusy || c == CodeRateLimited)
}
