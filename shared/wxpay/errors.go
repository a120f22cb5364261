package wxpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
)

// Sentinel errors. Test with errors.Is; the wrapped error says more.
var (
	// ErrInvalidSignature: a notification or response is not authentic — missing or malformed
	// signature headers, a signature probe (WECHATPAY/SIGNTEST/), an unknown serial, a timestamp
	// outside the 5-minute window, or a signature that does not verify. Nothing in it may be
	// trusted; paynotify answers 401 and WeChat Pay redelivers genuine notifications.
	ErrInvalidSignature = errors.New("wxpay: invalid signature")
	// ErrSignatureProbe marks the deliberately wrong signatures WeChat Pay sends to check that
	// merchants verify (reference §2.4). It always comes together with ErrInvalidSignature.
	ErrSignatureProbe = errors.New("wxpay: signature probe")
	// ErrMalformedNotification: the notification is authentic (its signature verified) but its
	// content cannot be used — an envelope that is not JSON, an unknown algorithm, a resource
	// that does not decrypt with the APIv3 key (a misconfigured key, most likely) or a plaintext
	// that is not the expected JSON.
	ErrMalformedNotification = errors.New("wxpay: malformed notification")
	// ErrNotFound: WeChat Pay does not know the order or refund (ORDER_NOT_EXIST,
	// RESOURCE_NOT_EXISTS). Matched by *APIError values.
	ErrNotFound = errors.New("wxpay: not found")
	// ErrBillNotReady: the day's bill is still being generated (STATEMENT_CREATING); try again
	// later (WeChat generates day D's bill from 09:00 on D+1).
	ErrBillNotReady = errors.New("wxpay: bill not ready")
	// ErrNoBill: there is no bill for the day because nothing happened (NO_STATEMENT_EXIST).
	ErrNoBill = errors.New("wxpay: no bill for the day")
	// ErrBillHashMismatch: the downloaded bill's SHA-1 is not the one WeChat Pay announced; what
	// was written must be discarded.
	ErrBillHashMismatch = errors.New("wxpay: bill hash mismatch")
)

// APIError is an error answer of the WeChat Pay API (a non-2xx status with {code, message}).
type APIError struct {
	Status    int    // HTTP status
	Code      string // e.g. PARAM_ERROR, ORDER_NOT_EXIST, SYSTEM_ERROR
	Message   string // WeChat's text; may change for the same code
	RequestID string // the Request-ID header, for support tickets
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("wechat pay answered HTTP %d %s", e.Status, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID + ")"
	}
	return s
}

// Is matches ErrNotFound, ErrBillNotReady and ErrNoBill by code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == "ORDER_NOT_EXIST" || e.Code == "RESOURCE_NOT_EXISTS" || e.Code == "ORDERNOTEXIST"
	case ErrBillNotReady:
		return e.Code == "STATEMENT_CREATING"
	case ErrNoBill:
		return e.Code == "NO_STATEMENT_EXIST"
	}
	return false
}

// Code returns the WeChat Pay error code of err ("" when err is not an API answer).
func Code(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// transportError is a failure to get any answer: connection refused, timeout, reset.
type transportError struct{ err error }

func (e *transportError) Error() string { return "wechat pay unreachable: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// IsRetryable reports whether the same request may succeed later (reference §8.3): no answer at
// all, a 5xx, 429, SYSTEM_ERROR, BANK_ERROR, FREQUENCY_LIMITED, RULE_LIMIT, or a bill still
// being generated. Prepay and refunds must be retried with the same out_trade_no/out_refund_no.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case "SYSTEM_ERROR", "SYSTEMERROR", "BANK_ERROR", "BANKERROR", "FREQUENCY_LIMITED", "RULE_LIMIT", "RULELIMIT", "STATEMENT_CREATING":
			return true
		}
		return ae.Status >= 500 || ae.Status == 429
	}
	return false
}

// signatureError marks a response whose signature did not verify (see markValidator).
type signatureError struct{ err error }

func (e *signatureError) Error() string { return e.err.Error() }
func (e *signatureError) Unwrap() error { return e.err }

// classify turns what the SDK returned into our errors, prefixed with the operation. The SDK's
// *core.APIError text dumps every response header; ours keeps the code, message and request id.
// A network error's url.Error names the URL, which for a bill download holds a one-time token;
// only its cause is kept.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *core.APIError
	if errors.As(err, &ce) {
		return fmt.Errorf("wxpay %s: %w", op, &APIError{Status: ce.StatusCode, Code: ce.Code, Message: ce.Message, RequestID: ce.Header.Get("Request-Id")})
	}
	var se *signatureError
	if errors.As(err, &se) {
		return fmt.Errorf("wxpay %s: response: %w: %v", op, ErrInvalidSignature, se.err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("wxpay %s: %w", op, &transportError{err: ue.Err})
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) {
		return fmt.Errorf("wxpay %s: unusable answer: %w", op, err)
	}
	return fmt.Errorf("wxpay %s: %w", op, err)
}
