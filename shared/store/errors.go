package store

import (
	"context"
	"errors"
	"net"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// IsDuplicateKey reports whether err is a unique-index violation (code 11000 and its relatives),
// as MongoDB and FerretDB both report it, for single writes and bulk writes alike.
func IsDuplicateKey(err error) bool {
	return mongo.IsDuplicateKeyError(err)
}

// transientCodes are server error codes that mean "not now" rather than "not this": the
// server is shutting down, stepping down, or cannot reach its peers. They are the retryable
// codes of MongoDB's retryable-writes specification, plus MaxTimeMSExpired.
var transientCodes = [...]int{
	6,     // HostUnreachable
	7,     // HostNotFound
	50,    // MaxTimeMSExpired
	89,    // NetworkTimeout
	91,    // ShutdownInProgress
	189,   // PrimarySteppedDown
	262,   // ExceededTimeLimit
	9001,  // SocketException
	10107, // NotWritablePrimary
	11600, // InterruptedAtShutdown
	11602, // InterruptedDueToReplStateChange
	13435, // NotPrimaryNoSecondaryOk
	13436, // NotPrimaryOrSecondary
}

// IsUnavailable reports whether err means the database could not be reached or did not answer
// in time — a failure worth retrying, which a handler answers with 503 (and which makes WeChat
// Pay redeliver a notification) — as opposed to a rejected operation.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mongo.ErrClientDisconnected) {
		return true
	}
	var sel topology.ServerSelectionError
	if errors.As(err, &sel) {
		return true
	}
	var conn topology.ConnectionError
	if errors.As(err, &conn) {
		return true
	}
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) {
		return true
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		for _, code := range transientCodes {
			if se.HasErrorCode(code) {
				return true
			}
		}
		if se.HasErrorLabel("RetryableWriteError") {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne)
}
