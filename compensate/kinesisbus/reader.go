package kinesisbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/strangler/strangler/compensate/journal"
)

// API is the part of the Kinesis client the bus uses; *kinesis.Client has it.
type API interface {
	PutRecord(ctx context.Context, in *kinesis.PutRecordInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// reader reads every shard of a stream it holds the lease of, in order, handing each
// record to a handler and saving its place in the journal's cursor table once the
// handler returned nil. Instances sharing a consumer name split the shards between
// them; one that dies leaves its shards to the others when its leases expire.
type reader struct {
	api                 API
	store               *journal.Store
	consumer, stream    string
	owner               string
	poll, lease, relist time.Duration
	log                 *slog.Logger
}

type shardState struct {
	iter *string
	seq  string
}

// run reads until ctx ends (then it returns nil) or listing the stream fails.
func (r *reader) run(ctx context.Context, handle func(ctx context.Context, rec types.Record) error) error {
	shards := map[string]*shardState{}
	var ids []string
	var listed time.Time
	defer func() {
		for id := range shards {
			_ = r.store.ReleaseShard(context.WithoutCancel(ctx), r.consumer, r.stream, id, r.owner)
		}
	}()
	for {
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(listed) >= r.relist {
			var err error
			if ids, err = r.listShards(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			listed = time.Now()
		}
		busy := false
		for _, id := range ids {
			more, err := r.readShard(ctx, id, shards, handle)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("read shard; reading it again from its cursor", "stream", r.stream, "shard", id, "err", err)
			}
			busy = busy || more
		}
		if busy {
			continue // behind: read on without waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.poll):
		}
	}
}

// readShard reads one batch of a shard if this instance holds it; it reports whether
// the shard has more records waiting.
func (r *reader) readShard(ctx context.Context, id string, shards map[string]*shardState, handle func(context.Context, types.Record) error) (bool, error) {
	cur, ok, err := r.store.ClaimShard(ctx, r.consumer, r.stream, id, r.owner, r.lease)
	if err != nil {
		return false, err
	}
	if !ok {
		delete(shards, id)
		return false, nil
	}
	st := shards[id]
	if st == nil || st.iter == nil {
		in := &kinesis.GetShardIteratorInput{StreamName: aws.String(r.stream), ShardId: aws.String(id), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
		if cur.Sequence != "" {
			in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(cur.Sequence)
		}
		out, err := r.api.GetShardIterator(ctx, in)
		if err != nil {
			return false, fmt.Errorf("shard iterator for %s/%s: %w", r.stream, id, err)
		}
		st = &shardState{iter: out.ShardIterator, seq: cur.Sequence}
		shards[id] = st
	}
	out, err := r.api.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: st.iter, Limit: aws.Int32(1000)})
	if err != nil {
		st.iter = nil // an expired iterator, or anything else: start again from the cursor
		return false, fmt.Errorf("get records from %s/%s: %w", r.stream, id, err)
	}
	last := ""
	for _, rec := range out.Records {
		if err := handle(ctx, rec); err != nil {
			st.iter = nil // not handled: read again from the last record handled
			if last != "" {
				r.save(ctx, id, shards, last, false)
			}
			return false, err
		}
		last = aws.ToString(rec.SequenceNumber)
	}
	finished := out.NextShardIterator == nil // closed by a reshard and read to its end
	if last != "" || finished {
		r.save(ctx, id, shards, last, finished)
	}
	if st := shards[id]; st != nil {
		st.iter = out.NextShardIterator
		if finished {
			delete(shards, id)
		}
	}
	return len(out.Records) > 0 && aws.ToInt64(out.MillisBehindLatest) > 0, nil
}

func (r *reader) save(ctx context.Context, id string, shards map[string]*shardState, seq string, finished bool) {
	// Records handled are recorded even when the reader is being stopped, so that a clean
	// stop hands nothing over twice.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := r.store.SaveCursor(ctx, r.consumer, r.stream, id, r.owner, seq, finished, r.lease)
	switch {
	case errors.Is(err, journal.ErrLeaseLost):
		delete(shards, id) // another instance took the shard; it reads on from the cursor
	case err != nil:
		// The records are handled again from the old cursor: handlers are idempotent.
		r.log.Warn("save cursor", "stream", r.stream, "shard", id, "err", err)
		if st := shards[id]; st != nil {
			st.iter = nil
		}
	default:
		if st := shards[id]; st != nil && seq != "" {
			st.seq = seq
		}
	}
}

func (r *reader) listShards(ctx context.Context) ([]string, error) {
	var ids []string
	in := &kinesis.ListShardsInput{StreamName: aws.String(r.stream)}
	for {
		out, err := r.api.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", r.stream, err)
		}
		for _, s := range out.Shards {
			ids = append(ids, aws.ToString(s.ShardId))
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	sort.Strings(ids)
	return ids, nil
}
