package kinesis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// DeliveryError is why Run stopped without delivering everything: an error retrying
// cannot fix, or a record that kept failing for MaxRetryTime.
type DeliveryError struct {
	Stream      string
	Code        string // the Kinesis error code, if there was one
	GaveUp      bool   // retries ran out (MaxRetryTime)
	Undelivered int    // records held and not acknowledged when the sink stopped
	What        string // what failed
	Fix         string // what to do
	Err         error  // the last error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("kinesis sink: stream %q: %s: %d record(s) undelivered and not acknowledged (they are sent again from the checkpoint after a restart); %s",
		e.Stream, e.What, e.Undelivered, e.Fix)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// OversizeError is a record over MaxRecordBytes under OversizeFail.
type OversizeError struct {
	DB, Table, Key, ID string
	Size, Limit        int
}

func (e *OversizeError) Error() string {
	return fmt.Sprintf("kinesis sink: record of %s.%s key %s (event %s) is %d bytes (data plus partition key), over the %d-byte record limit: "+
		"run with --oversize skip --dead-letter-file FILE to set such records aside and go on, or raise --kinesis-max-record-bytes "+
		"(up to 10 MiB) if the stream's maximum record size was raised",
		e.DB, e.Table, e.Key, e.ID, e.Size, e.Limit)
}

// errClass is what to do about a failed request or entry.
type errClass int

const (
	classTransient errClass = iota // retry with backoff
	classThrottled                 // retry with backoff and slow down
	classFatal                     // stop: retrying cannot help
)

var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true, "KMSThrottlingException": true, "LimitExceededException": true,
	"ThrottlingException": true, "Throttling": true, "TooManyRequestsException": true, "RequestLimitExceeded": true,
	"RequestThrottled": true, "RequestThrottledException": true, "SlowDown": true,
}

var transientCodes = map[string]bool{
	"InternalFailure": true, "InternalFailureException": true, "InternalServerError": true, "InternalError": true,
	"ServiceUnavailable": true, "ServiceUnavailableException": true, "RequestTimeout": true, "RequestTimeoutException": true,
}

// fatalEntryCodes are per-entry codes retrying cannot fix. Other unknown entry codes are
// retried (and give up after MaxRetryTime), because losing a record is worse than waiting.
var fatalEntryCodes = map[string]bool{
	"KMSDisabledException": true, "KMSNotFoundException": true, "KMSAccessDeniedException": true,
	"KMSInvalidStateException": true, "KMSOptInRequired": true, "AccessDeniedException": true,
	"ResourceNotFoundException": true, "ValidationException": true, "InvalidArgumentException": true,
}

// classifyRequest sorts the error of a whole PutRecords call.
func classifyRequest(err error) (errClass, string) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		// Network errors, timeouts, unreadable answers, credential fetches: the request may
		// work next time.
		return classTransient, ""
	}
	code := ae.ErrorCode()
	switch {
	case throttleCodes[code]:
		return classThrottled, code
	case transientCodes[code]:
		return classTransient, code
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		switch s := re.HTTPStatusCode(); {
		case s == 429:
			return classThrottled, code
		case s >= 500, s == 0:
			return classTransient, code
		}
	}
	return classFatal, code
}

func classifyEntry(code string) errClass {
	switch {
	case throttleCodes[code]:
		return classThrottled
	case fatalEntryCodes[code]:
		return classFatal
	}
	return classTransient
}

// fatalError explains an error retrying cannot fix.
func fatalError(stream, code string, err error, undelivered int) *DeliveryError {
	e := &DeliveryError{Stream: stream, Code: code, Undelivered: undelivered, Err: err,
		What: fmt.Sprintf("Kinesis refused PutRecords: %v", err)}
	switch {
	case code == "ResourceNotFoundException":
		e.What = fmt.Sprintf("the stream does not exist (%s)", code)
		e.Fix = fmt.Sprintf("create it (strangler stream create %s --shards N) or fix the stream name, --region or --kinesis-endpoint", streamName(stream))
	case code == "AccessDeniedException" || code == "UnrecognizedClientException" || code == "InvalidSignatureException" ||
		code == "ExpiredTokenException" || code == "MissingAuthenticationToken":
		e.What = fmt.Sprintf("the AWS credentials are refused (%s: %s)", code, apiMessage(err))
		e.Fix = "allow kinesis:PutRecords on the stream to the daemon's identity (and kms:GenerateDataKey on the stream's key when it is encrypted), or fix the credentials"
	case strings.HasPrefix(code, "KMS"):
		e.What = fmt.Sprintf("the stream's KMS key cannot be used (%s: %s)", code, apiMessage(err))
		e.Fix = fmt.Sprintf("enable or restore the key, or grant kms:GenerateDataKey on it to the daemon's identity (strangler stream describe %s shows the key)", streamName(stream))
	case code == "ValidationException" || code == "InvalidArgumentException":
		e.What = fmt.Sprintf("Kinesis rejected the request as invalid (%s: %s)", code, apiMessage(err))
		e.Fix = fmt.Sprintf("if records exceed the stream's maximum record size, set --kinesis-max-record-bytes to the stream's limit (strangler stream describe %s shows it) and choose --oversize; otherwise report a bug", streamName(stream))
	default:
		e.Fix = "fix the cause and restart the daemon"
	}
	return e
}

// giveUpError explains a record that kept failing for MaxRetryTime.
func giveUpError(stream string, e *entry, maxRetry time.Duration, undelivered int) *DeliveryError {
	r := e.rec
	return &DeliveryError{
		Stream: stream, Code: e.lastCode, GaveUp: true, Undelivered: undelivered, Err: e.lastErr,
		What: fmt.Sprintf("gave up after %s (--sink-retry-timeout) on the record of %s.%s key %s, which failed %d times (last error: %v)",
			maxRetry, r.DB, r.Table, r.Key, e.attempts, e.lastErr),
		Fix: fmt.Sprintf("check the stream (strangler stream describe %s), its capacity and the network, then restart; --sink-retry-timeout 0 retries forever",
			streamName(stream)),
	}
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return err.Error()
}

// isCanceled reports an error caused by ctx ending rather than by Kinesis.
func isCanceled(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ctx.Err()))
}
