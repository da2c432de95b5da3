package streamadmin

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// Per-shard write limits of a provisioned stream. A record counts as its data plus its
// partition key against both the byte limit and the maximum record size.
const (
	ShardRecordsPerSecond = 1000
	ShardBytesPerSecond   = 1 << 20
	// MaxRecordBytesLimit is the largest record a stream can be raised to accept (10 MiB).
	MaxRecordBytesLimit = 10 << 20
	// DefaultHeadroom is the spare capacity `stream size` plans for unless told otherwise.
	DefaultHeadroom = 0.25
)

// SizeInput is the expected write load of a stream.
type SizeInput struct {
	RecordsPerSecond float64 // average records written per second
	AvgRecordBytes   float64 // average record size: data plus partition key
	Headroom         float64 // spare share on top of the load (0.25 plans for 125%)
}

// Validate says which input is wrong and how to fix it.
func (in SizeInput) Validate() error {
	var errs []error
	if !(in.RecordsPerSecond > 0) || math.IsInf(in.RecordsPerSecond, 0) {
		errs = append(errs, fmt.Errorf("--records-per-sec %v: give the expected average write rate, a number above 0", in.RecordsPerSecond))
	}
	if !(in.AvgRecordBytes > 0) || math.IsInf(in.AvgRecordBytes, 0) {
		errs = append(errs, fmt.Errorf("--avg-record-bytes %v: give the average record size in bytes (data plus partition key), a number above 0", in.AvgRecordBytes))
	} else if in.AvgRecordBytes > MaxRecordBytesLimit {
		errs = append(errs, fmt.Errorf("--avg-record-bytes %v: Kinesis records are at most %d bytes (10 MiB)", in.AvgRecordBytes, MaxRecordBytesLimit))
	}
	if !(in.Headroom >= 0) || in.Headroom > 10 || math.IsNaN(in.Headroom) {
		errs = append(errs, fmt.Errorf("--headroom %v: give the spare share as a fraction between 0 and 10 (0.25 plans for 25%% more than the load)", in.Headroom))
	}
	return errors.Join(errs...)
}

// Binding names the limit that decides the shard count.
type Binding string

const (
	BindRecords Binding = "records" // 1,000 records/s per shard
	BindBytes   Binding = "bytes"   // 1 MiB/s per shard
)

// SizeResult is the shard count a load needs and how it was reached.
type SizeResult struct {
	Input            SizeInput `json:"input"`
	RecordsPerSecond float64   `json:"planned_records_per_sec"` // load plus headroom
	BytesPerSecond   float64   `json:"planned_bytes_per_sec"`
	ShardsForRecords int       `json:"shards_for_records"`
	ShardsForBytes   int       `json:"shards_for_bytes"`
	Shards           int       `json:"shards"`
	Binding          Binding   `json:"binding_limit"`
}

// CrossoverBytes is the record size at which both limits bind at once: larger records
// exhaust a shard's 1 MiB/s before its 1,000 records/s.
const CrossoverBytes = float64(ShardBytesPerSecond) / ShardRecordsPerSecond

// Size computes the provisioned shards a load needs (at least 1).
func Size(in SizeInput) (SizeResult, error) {
	if err := in.Validate(); err != nil {
		return SizeResult{}, err
	}
	r := SizeResult{Input: in}
	r.RecordsPerSecond = in.RecordsPerSecond * (1 + in.Headroom)
	r.BytesPerSecond = r.RecordsPerSecond * in.AvgRecordBytes
	recordDemand := r.RecordsPerSecond / ShardRecordsPerSecond
	byteDemand := r.BytesPerSecond / ShardBytesPerSecond
	r.ShardsForRecords = shardsFor(recordDemand)
	r.ShardsForBytes = shardsFor(byteDemand)
	r.Shards = max(r.ShardsForRecords, r.ShardsForBytes)
	r.Binding = BindRecords
	if byteDemand > recordDemand {
		r.Binding = BindBytes
	}
	return r, nil
}

// shardsFor rounds a demand in shards up, forgiving float noise such as 1000*1.1 = 1100.0000000000002.
func shardsFor(demand float64) int {
	n := int(math.Ceil(demand - 1e-9))
	return max(n, 1)
}

// WriteText explains the result for people.
func (r SizeResult) WriteText(w io.Writer) error {
	h := r.Input.Headroom * 100
	_, err := fmt.Fprintf(w, `Shards needed: %d (provisioned)

Load: %s records/s of %s bytes on average, plus %s%% headroom = %s records/s, %s/s
Each shard takes up to 1,000 records/s and 1 MiB/s, whichever is reached first:
  records limit: %s records/s / 1000 records/s per shard = %d shard(s)
  bytes limit:   %s/s / 1 MiB/s per shard = %d shard(s)
Binding limit: %s: %s
A record counts as its data plus its partition key; a single partition key always lands
on one shard, so one hot key cannot use more than one shard's limits.
`,
		r.Shards,
		num(r.Input.RecordsPerSecond), num(r.Input.AvgRecordBytes), num(h), num(r.RecordsPerSecond), bytesPerSec(r.BytesPerSecond),
		num(r.RecordsPerSecond), r.ShardsForRecords,
		bytesPerSec(r.BytesPerSecond), r.ShardsForBytes,
		r.Binding, r.bindingReason())
	return err
}

func (r SizeResult) bindingReason() string {
	if r.Binding == BindBytes {
		return fmt.Sprintf("the records average %s bytes, above %.1f bytes (1 MiB / 1,000), so a shard's 1 MiB/s runs out before its 1,000 records/s.",
			num(r.Input.AvgRecordBytes), CrossoverBytes)
	}
	return fmt.Sprintf("the records average %s bytes, at most %.1f bytes (1 MiB / 1,000), so a shard's 1,000 records/s runs out before its 1 MiB/s.",
		num(r.Input.AvgRecordBytes), CrossoverBytes)
}

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func bytesPerSec(v float64) string {
	switch {
	case v >= 1<<20:
		return fmt.Sprintf("%.3f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.3f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}
