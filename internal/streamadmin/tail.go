package streamadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Where tail starts reading each shard.
const (
	FromTrimHorizon = "trim-horizon" // the oldest record still retained
	FromLatest      = "latest"       // records written after tail starts
)

// TailOptions say what `stream tail` reads.
type TailOptions struct {
	From   string // FromTrimHorizon (default) or FromLatest
	Limit  int    // stop after this many records; 0 means no limit
	Follow bool   // keep waiting for new records instead of stopping once every shard is caught up
	// PollInterval is the wait between reads of a shard that had nothing new (default
	// 1 s). Kinesis allows 5 GetRecords calls per shard per second, shared by all readers.
	PollInterval time.Duration
	// RelistInterval is how often a following tail looks for shards made by a reshard (default 10 s).
	RelistInterval time.Duration
}

// TailRecord is one record read back, as `stream tail` prints it: Data holds the record
// when it is JSON (CDC events are), DataBase64 otherwise.
type TailRecord struct {
	Shard        string          `json:"shard"`
	Sequence     string          `json:"sequence"`
	PartitionKey string          `json:"partition_key"`
	Arrival      time.Time       `json:"arrival"`
	Data         json.RawMessage `json:"data,omitempty"`
	DataBase64   []byte          `json:"data_base64,omitempty"`
}

// Bytes returns the record's data, whichever way it is held.
func (r *TailRecord) Bytes() []byte {
	if r.Data != nil {
		return r.Data
	}
	return r.DataBase64
}

func (o TailOptions) validate() (types.ShardIteratorType, error) {
	if o.Limit < 0 {
		return "", fmt.Errorf("tail: --limit %d: give 0 (no limit) or a positive count", o.Limit)
	}
	switch o.From {
	case "", FromTrimHorizon:
		return types.ShardIteratorTypeTrimHorizon, nil
	case FromLatest:
		return types.ShardIteratorTypeLatest, nil
	}
	return "", fmt.Errorf("tail: --from %q: use %s (oldest retained record) or %s (new records only)", o.From, FromTrimHorizon, FromLatest)
}

// tailShard is the read state of one shard.
type tailShard struct {
	id      string
	parents []string // parents in the read set: read them to the end first, so a key's records stay in order across a reshard
	start   types.ShardIteratorType
	iter    *string
	lastSeq string
	started bool
	done    bool // closed and read to its end
}

// Tail reads stream and calls emit for each record, shard by shard in sequence order.
// It returns nil when Limit records were read, or (without Follow) when every shard is
// caught up; with Follow it runs until ctx ends and then returns nil.
func Tail(ctx context.Context, api API, stream string, o TailOptions, emit func(TailRecord) error) error {
	start, err := o.validate()
	if err != nil {
		return err
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.RelistInterval <= 0 {
		o.RelistInterval = 10 * time.Second
	}
	if _, err := Describe(ctx, api, stream); err != nil {
		return err
	}
	shards := map[string]*tailShard{}
	var order []string
	addShards := func(initial bool) error {
		list, err := listShards(ctx, api, stream)
		if err != nil {
			return err
		}
		var added []types.Shard
		for _, s := range list {
			id := aws.ToString(s.ShardId)
			if shards[id] != nil {
				continue
			}
			closed := s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil
			st := start
			if !initial {
				st = types.ShardIteratorTypeTrimHorizon // born after tail began: all of it is new
			} else if start == types.ShardIteratorTypeLatest && closed {
				continue // nothing will be written to it
			}
			shards[id] = &tailShard{id: id, start: st}
			order = append(order, id)
			added = append(added, s)
		}
		for _, s := range added {
			ts := shards[aws.ToString(s.ShardId)]
			for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
				if p != nil && shards[*p] != nil {
					ts.parents = append(ts.parents, *p)
				}
			}
		}
		slices.Sort(order)
		return nil
	}
	if err := addShards(true); err != nil {
		return err
	}
	read := 0
	lastList := time.Now()
	for {
		progressed, caughtUp := false, true
		for _, id := range order {
			s := shards[id]
			if s.done {
				continue
			}
			if !s.started {
				if !parentsDone(s, shards) {
					caughtUp = false
					continue
				}
				if err := s.getIterator(ctx, api, stream); err != nil {
					return err
				}
				s.started = true
			}
			limit := int32(10000)
			if o.Limit > 0 {
				limit = int32(min(10000, o.Limit-read))
			}
			out, err := api.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: s.iter, Limit: aws.Int32(limit)})
			if err != nil {
				if ctx.Err() != nil {
					return tailEnd(ctx, o)
				}
				switch errorCode(err) {
				case "ExpiredIteratorException":
					if err := s.getIterator(ctx, api, stream); err != nil {
						return err
					}
					caughtUp = false
					continue
				case "ProvisionedThroughputExceededException", "KMSThrottlingException", "LimitExceededException":
					caughtUp = false // other readers share the shard's 5 reads/s: wait and read again
					continue
				}
				return wrapErr("read stream", stream, fmt.Errorf("shard %s: %w", s.id, err))
			}
			for _, r := range out.Records {
				if err := emit(tailRecord(s.id, r)); err != nil {
					return err
				}
				s.lastSeq = aws.ToString(r.SequenceNumber)
				read++
				progressed = true
				if o.Limit > 0 && read >= o.Limit {
					return nil
				}
			}
			s.iter = out.NextShardIterator
			if s.iter == nil {
				s.done = true // closed shard read to its end: its children may start
				progressed = true
			} else if len(out.Records) > 0 || aws.ToInt64(out.MillisBehindLatest) > 0 {
				caughtUp = false
			}
		}
		if caughtUp && !o.Follow {
			return nil
		}
		if o.Follow && time.Since(lastList) >= o.RelistInterval {
			if err := addShards(false); err != nil {
				if ctx.Err() != nil {
					return tailEnd(ctx, o)
				}
				return err
			}
			lastList = time.Now()
		}
		// Kinesis allows 5 reads per shard per second: never poll a shard faster.
		wait := o.PollInterval
		if progressed {
			wait = min(wait, 200*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return tailEnd(ctx, o)
		case <-time.After(wait):
		}
	}
}

// tailEnd is the result of a tail stopped by ctx: the normal end of --follow.
func tailEnd(ctx context.Context, o TailOptions) error {
	if o.Follow {
		return nil
	}
	return ctx.Err()
}

func parentsDone(s *tailShard, shards map[string]*tailShard) bool {
	for _, p := range s.parents {
		if ps := shards[p]; ps != nil && !ps.done {
			return false
		}
	}
	return true
}

// getIterator gets an iterator at the shard's start, or just after the last record read
// (after an iterator expired).
func (s *tailShard) getIterator(ctx context.Context, api API, stream string) error {
	name, arn := streamRef(stream)
	in := &kinesis.GetShardIteratorInput{StreamName: name, StreamARN: arn, ShardId: aws.String(s.id), ShardIteratorType: s.start}
	if s.lastSeq != "" {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(s.lastSeq)
	}
	out, err := api.GetShardIterator(ctx, in)
	if err != nil {
		return wrapErr("read stream", stream, fmt.Errorf("shard iterator for %s: %w", s.id, err))
	}
	s.iter = out.ShardIterator
	if s.iter == nil {
		s.done = true
	}
	return nil
}

func tailRecord(shard string, r types.Record) TailRecord {
	t := TailRecord{Shard: shard, Sequence: aws.ToString(r.SequenceNumber), PartitionKey: aws.ToString(r.PartitionKey)}
	if r.ApproximateArrivalTimestamp != nil {
		t.Arrival = r.ApproximateArrivalTimestamp.UTC()
	}
	if len(r.Data) > 0 && json.Valid(r.Data) {
		t.Data = json.RawMessage(r.Data)
	} else {
		t.DataBase64 = r.Data
	}
	return t
}
