package target

import (
	"context"
	"crypto/md5"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// shardMap places events on the stream's shards for aggregation. It is read once, at
// the first send: every event of an aggregate then goes, inside an aggregated record, to
// the same fixed hash (the start of the shard its partition key fell in), so one
// aggregate's events stay on one shard in order even after a reshard makes the map stale
// (a stale map costs balance, never order).
type shardMap struct {
	api    ShardLister
	stream string

	mu     sync.Mutex
	loaded bool
	shards []shardRange // open shards, by starting hash
}

// ShardLister lists a stream's shards: *kinesis.Client is one.
type ShardLister interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
}

type shardRange struct {
	start, end *big.Int
	startKey   string // start, in decimal: the explicit hash key of the shard's records
}

func (m *shardMap) load(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loaded {
		return nil
	}
	in := &kinesis.ListShardsInput{StreamName: aws.String(m.stream)}
	if strings.HasPrefix(m.stream, "arn:") {
		in = &kinesis.ListShardsInput{StreamARN: aws.String(m.stream)}
	}
	var shards []shardRange
	for {
		out, err := m.api.ListShards(ctx, in)
		if err != nil {
			return fmt.Errorf("list the shards of %s (to aggregate records): %w", m.stream, err)
		}
		for _, s := range out.Shards {
			if s.HashKeyRange == nil || (s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil) {
				continue // closed: a parent of a reshard
			}
			start, ok1 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
			end, ok2 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
			if !ok1 || !ok2 {
				return fmt.Errorf("shard %s of %s: hash key range %q-%q is not decimal", aws.ToString(s.ShardId), m.stream,
					aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
			}
			shards = append(shards, shardRange{start: start, end: end, startKey: start.String()})
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken} // the token stands for the stream
	}
	if len(shards) == 0 {
		return fmt.Errorf("stream %s has no open shard", m.stream)
	}
	slices.SortFunc(shards, func(a, b shardRange) int { return a.start.Cmp(b.start) })
	m.shards, m.loaded = shards, true
	return nil
}

// hashKeyOf returns the explicit hash key for a partition key's records: the start of
// the open shard that the key's MD5 falls in; false when no shard holds it (a gap in a
// map read mid-reshard: such records go unaggregated, by their own key).
func (m *shardMap) hashKeyOf(partitionKey string) (string, bool) {
	sum := md5.Sum([]byte(partitionKey))
	h := new(big.Int).SetBytes(sum[:])
	i, _ := slices.BinarySearchFunc(m.shards, h, func(s shardRange, h *big.Int) int { return s.start.Cmp(h) })
	// i is the first shard starting after h (or at it): h belongs to shard i if it starts
	// at h, else to the one before.
	if i < len(m.shards) && m.shards[i].start.Cmp(h) == 0 {
		return m.shards[i].startKey, true
	}
	if i > 0 && m.shards[i-1].end.Cmp(h) >= 0 {
		return m.shards[i-1].startKey, true
	}
	return "", false
}
