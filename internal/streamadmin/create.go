package streamadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// CreateOptions say how a stream is created. Exactly one of Shards (provisioned) and
// OnDemand is set; the caller turns a load estimate into Shards with Size.
type CreateOptions struct {
	Shards       int
	OnDemand     bool
	MaxRecordKiB int // 0 keeps the default of 1 MiB; up to 10240 on streams that need larger records
	// Wait until the stream is ACTIVE (creation takes seconds to a minute on AWS),
	// polling every PollInterval (default 1 s) for at most WaitTimeout (default 5 min).
	Wait         bool
	WaitTimeout  time.Duration
	PollInterval time.Duration
}

// Input builds the CreateStream request, checking the options first.
func (o CreateOptions) Input(stream string) (*kinesis.CreateStreamInput, error) {
	if err := ValidateName(stream); err != nil {
		return nil, err
	}
	in := &kinesis.CreateStreamInput{StreamName: aws.String(stream)}
	if strings.HasPrefix(stream, "arn:") {
		return nil, fmt.Errorf("create stream: give a name, not an ARN (%s): the ARN is made by AWS", stream)
	}
	switch {
	case o.OnDemand && o.Shards > 0:
		return nil, errors.New("create stream: --on-demand and a shard count both given: choose on-demand (Kinesis scales it) or provisioned shards")
	case o.OnDemand:
		in.StreamModeDetails = &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}
	case o.Shards > 0:
		in.ShardCount = aws.Int32(int32(o.Shards))
		in.StreamModeDetails = &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}
	case o.Shards < 0:
		return nil, fmt.Errorf("create stream: --shards %d: give a shard count of at least 1", o.Shards)
	default:
		return nil, errors.New("create stream: say how big: --shards N, --on-demand, or --records-per-sec R --avg-record-bytes B to compute the shards")
	}
	if o.MaxRecordKiB != 0 {
		if o.MaxRecordKiB < 1024 || o.MaxRecordKiB > 10240 {
			return nil, fmt.Errorf("create stream: --max-record-kib %d: Kinesis accepts 1024 to 10240 (1 to 10 MiB)", o.MaxRecordKiB)
		}
		in.MaxRecordSizeInKiB = aws.Int32(int32(o.MaxRecordKiB))
	}
	return in, nil
}

// Create creates stream and, with Wait, returns its description once it is ACTIVE.
// Without Wait it returns the description as it is right after the request (CREATING).
func Create(ctx context.Context, api API, stream string, o CreateOptions) (*Description, error) {
	in, err := o.Input(stream)
	if err != nil {
		return nil, err
	}
	if _, err := api.CreateStream(ctx, in); err != nil {
		switch errorCode(err) {
		case "ResourceInUseException":
			return nil, fmt.Errorf("create stream %s: %w: use it (strangler stream describe %s), or choose another name: %w", stream, ErrExists, stream, err)
		case "LimitExceededException":
			return nil, fmt.Errorf("create stream %s: the account's shard or stream limit is reached: ask AWS for a higher limit, use fewer shards, or --on-demand: %w", stream, err)
		}
		return nil, wrapErr("create stream", stream, err)
	}
	if !o.Wait {
		return Describe(ctx, api, stream)
	}
	return WaitActive(ctx, api, stream, o.WaitTimeout, o.PollInterval)
}

// WaitActive polls stream until it is ACTIVE, failing after timeout (default 5 min).
func WaitActive(ctx context.Context, api API, stream string, timeout, every time.Duration) (*Description, error) {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	if every <= 0 {
		every = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := min(50*time.Millisecond, every)
	for {
		d, err := Describe(ctx, api, stream)
		// A just-created stream may briefly be unknown to DescribeStreamSummary.
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err == nil && d.Status == string(types.StreamStatusActive) {
			return d, nil
		}
		select {
		case <-ctx.Done():
			status := "not found"
			if d != nil {
				status = d.Status
			}
			if ctx.Err() == context.DeadlineExceeded {
				return nil, fmt.Errorf("stream %s is still %s after %s: check it later with strangler stream describe %s", stream, status, timeout, stream)
			}
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, every)
	}
}
