// Package kinesis is the CDC daemon's Kinesis Data Streams sink: it batches records into
// PutRecords requests and delivers them without loss, without reordering a partition
// key's records, and at a rate the stream accepts.
//
// # Order
//
// PutRecords may store some entries of a request and fail others. Retrying only the failed
// entries, as most producers do, lets a row's later change land before its earlier one if
// both were in flight. This sink keeps at most ONE unacknowledged record per partition key
// in flight: a request never holds two records of one key, a key's next record is sent
// only after the previous one is acknowledged, and a failed record is retried (after a
// backoff) before any later record of its key is sent. Records of other keys go on.
//
// Each key has a queue of its pending records; keys whose head may be sent sit in a heap
// ordered by the head's arrival, and a batch takes the oldest heads. This is the in-order
// scan of the pending records that skips busy keys, at O(log keys) per record instead of a
// scan over blocked records.
//
// The cost falls on hot keys: one key gets one record per request and one request in
// flight, so it moves at most one record per round trip (about 20 to 50 records/s against
// AWS; a table without a primary key shares one key). Many keys fill requests as usual.
// A request that times out on the client may still land later (every Kinesis producer has
// this): the record is sent again, so it is delivered at least once, and consumers drop
// duplicates by the event id.
//
// # Failures
//
// Throttling (ProvisionedThroughputExceededException, KMSThrottlingException,
// LimitExceededException), as a whole answer or per entry, and transient failures (5xx,
// InternalFailure, network errors, timeouts) are retried with exponential backoff and full
// jitter. On throttling the send rate adapts (AIMD): the records/s allowed are halved, at
// most once a second, and rise by a twentieth of the rate at the last cut per second of
// throttle-free sending. The SDK's own retries are switched off for PutRecords, so every
// retry is counted (metrics SinkRetries, SinkThrottles) and paced here.
//
// Nothing is dropped. A record still failing after MaxRetryTime, or an error that retrying
// cannot fix (a missing stream, refused credentials, an unusable KMS key, an invalid
// request), stops Run with a *DeliveryError that says what failed and what to do; records
// not acknowledged stay unacknowledged, so the checkpoint does not pass them.
//
// A record larger than MaxRecordBytes (data plus partition key) stops the sink with an
// *OversizeError, or with Oversize "skip" is appended to a dead-letter file (JSON lines,
// fsynced) and acknowledged in its key's order.
package kinesis
