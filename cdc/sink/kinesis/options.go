package kinesis

import (
	"errors"
	"fmt"
	"time"
)

// OversizePolicy says what happens to a record larger than MaxRecordBytes.
type OversizePolicy = string

const (
	OversizeFail OversizePolicy = "fail" // stop with an error naming the record (the default)
	OversizeSkip OversizePolicy = "skip" // append it to the dead-letter file, acknowledge it, go on
)

// Defaults and Kinesis limits.
const (
	DefaultMaxRecordBytes  = 1 << 20  // Kinesis's default maximum record size, data plus partition key
	MaxRecordBytesLimit    = 10 << 20 // streams can be raised to 10 MiB records
	DefaultMaxRequestBytes = 5 << 20  // the PutRecords request limit long documented and safe everywhere
	// MaxRequestBytesLimit is the request limit the current API documents (10 MiB).
	MaxRequestBytesLimit  = 10 << 20
	MaxRequestRecords     = 500 // per PutRecords request
	DefaultLinger         = 50 * time.Millisecond
	DefaultMaxInFlight    = 8
	DefaultBufferRecords  = 20000
	DefaultBufferBytes    = 64 << 20
	DefaultRetryBaseDelay = 100 * time.Millisecond
	DefaultRetryMaxDelay  = 5 * time.Second
	DefaultMaxRetryTime   = 10 * time.Minute
	DefaultRequestTimeout = 30 * time.Second
	DefaultMinRate        = 50 // records/s the adaptive limit never goes below
	maxPartitionKeyChars  = 256
)

// Options configure a Sink. Zero fields take the defaults above, except MaxRetryTime,
// where 0 means retry forever (DefaultOptions sets DefaultMaxRetryTime).
type Options struct {
	// Stream is the stream's name or ARN.
	Stream string
	// MaxRecordBytes is the largest record (data plus partition key) sent; default 1 MiB.
	// Raise it (up to 10 MiB) only for streams whose maximum record size was raised.
	MaxRecordBytes int
	// MaxRequestBytes bounds one PutRecords request (data plus partition keys); default
	// 5 MiB, at most 10 MiB, and never below MaxRecordBytes (raised to it if needed).
	MaxRequestBytes int
	// MaxRequestRecords bounds the records of one request; default and maximum 500.
	MaxRequestRecords int
	// Linger is how long a record may wait for others to fill a request; default 50 ms,
	// negative for none. A full request goes at once.
	Linger time.Duration
	// MaxInFlight is the number of concurrent PutRecords requests; default 8.
	MaxInFlight int
	// BufferRecords and BufferBytes bound the records held and not yet acknowledged
	// (in requests or waiting); Put blocks beyond them. Defaults 20,000 and 64 MiB.
	BufferRecords int
	BufferBytes   int64
	// RetryBaseDelay and RetryMaxDelay bound the exponential backoff with full jitter of a
	// failed record: its n-th retry waits a random time up to min(max, base*2^(n-1)).
	// Defaults 100 ms and 5 s.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// MaxRetryTime is how long a record may keep failing before Run gives up with an
	// error; 0 retries forever.
	MaxRetryTime time.Duration
	// RequestTimeout bounds one PutRecords call; default 30 s. A timed-out request is retried.
	RequestTimeout time.Duration
	// MinRate is the floor of the adaptive rate limit, in records/s; default 50.
	MinRate float64
	// Oversize is the policy for records over MaxRecordBytes; default OversizeFail.
	Oversize OversizePolicy
	// DeadLetterPath is the file OversizeSkip appends to (JSON lines); required with it.
	DeadLetterPath string
}

// DefaultOptions returns the defaults for stream, with MaxRetryTime of DefaultMaxRetryTime.
func DefaultOptions(stream string) Options {
	o, _ := Options{Stream: stream, MaxRetryTime: DefaultMaxRetryTime}.withDefaults()
	return o
}

func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Stream == "" {
		errs = append(errs, errors.New("no stream: give the Kinesis stream's name or ARN (--stream)"))
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxRecordBytes, DefaultMaxRecordBytes)
	def(&o.MaxRequestRecords, MaxRequestRecords)
	def(&o.MaxInFlight, DefaultMaxInFlight)
	def(&o.BufferRecords, DefaultBufferRecords)
	if o.BufferBytes == 0 {
		o.BufferBytes = DefaultBufferBytes
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = max(DefaultMaxRequestBytes, o.MaxRecordBytes)
	}
	if o.Linger == 0 {
		o.Linger = DefaultLinger
	} else if o.Linger < 0 {
		o.Linger = 0
	}
	if o.RetryBaseDelay == 0 {
		o.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if o.RetryMaxDelay == 0 {
		o.RetryMaxDelay = max(DefaultRetryMaxDelay, o.RetryBaseDelay)
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MinRate == 0 {
		o.MinRate = DefaultMinRate
	}
	if o.Oversize == "" {
		o.Oversize = OversizeFail
	}
	switch {
	case o.MaxRecordBytes < 0 || o.MaxRecordBytes > MaxRecordBytesLimit:
		errs = append(errs, fmt.Errorf("max record bytes %d: give 1 to %d (10 MiB, for streams raised to it; 1 MiB by default)", o.MaxRecordBytes, MaxRecordBytesLimit))
	case o.MaxRequestBytes < o.MaxRecordBytes || o.MaxRequestBytes > MaxRequestBytesLimit:
		errs = append(errs, fmt.Errorf("max request bytes %d: give %d (the max record bytes) to %d", o.MaxRequestBytes, o.MaxRecordBytes, MaxRequestBytesLimit))
	}
	if o.MaxRequestRecords < 0 || o.MaxRequestRecords > MaxRequestRecords {
		errs = append(errs, fmt.Errorf("max request records %d: PutRecords takes 1 to %d", o.MaxRequestRecords, MaxRequestRecords))
	}
	if o.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("max in-flight requests %d: give at least 1", o.MaxInFlight))
	}
	if o.BufferRecords < 0 || o.BufferBytes < 0 {
		errs = append(errs, fmt.Errorf("buffer limits %d records, %d bytes: give positive limits", o.BufferRecords, o.BufferBytes))
	}
	if o.RetryBaseDelay < 0 || o.RetryMaxDelay < o.RetryBaseDelay {
		errs = append(errs, fmt.Errorf("retry delays base %s, max %s: give 0 < base <= max", o.RetryBaseDelay, o.RetryMaxDelay))
	}
	if o.MaxRetryTime < 0 {
		errs = append(errs, fmt.Errorf("max retry time %s: give a duration, or 0 to retry forever", o.MaxRetryTime))
	}
	if o.RequestTimeout < 0 || o.MinRate < 0 {
		errs = append(errs, fmt.Errorf("request timeout %s, min rate %v: give positive values", o.RequestTimeout, o.MinRate))
	}
	switch o.Oversize {
	case OversizeFail:
	case OversizeSkip:
		if o.DeadLetterPath == "" {
			errs = append(errs, errors.New("--oversize skip needs --dead-letter-file, the file skipped records are written to"))
		}
	default:
		errs = append(errs, fmt.Errorf("--oversize %q: use fail (stop on a record over the limit) or skip (write it to the dead-letter file and go on)", o.Oversize))
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("kinesis sink options: %w", errors.Join(errs...))
	}
	return o, nil
}
