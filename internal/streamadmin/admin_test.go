package streamadmin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/streamadmin"
	"github.com/strangler/strangler/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.UseLocalAWSEnv() // tests run in parallel, where t.Setenv is refused
	os.Exit(m.Run())
}

// newStreamName returns a fresh name, deleting the stream when the test ends.
func newStreamName(t *testing.T, c *kinesis.Client) string {
	name := testenv.UniqueName("adm")
	t.Cleanup(func() {
		_, _ = c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(name), EnforceConsumerDeletion: aws.Bool(true)})
	})
	return name
}

func TestStreamCreateAndDescribe(t *testing.T) {
	t.Parallel()
	c := testenv.KinesisClient(t, testenv.KinesisEndpoint(t))
	ctx := context.Background()
	name := newStreamName(t, c)

	d, err := streamadmin.Create(ctx, c, name, streamadmin.CreateOptions{Shards: 3, Wait: true, PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, name, d.Name)
	require.Equal(t, "ACTIVE", d.Status)
	require.Equal(t, "PROVISIONED", d.Mode)
	require.Equal(t, 3, d.OpenShardCount)
	require.Equal(t, 24, d.RetentionHours)
	require.Equal(t, "NONE", d.Encryption)
	require.Len(t, d.OpenShards, 3)

	// The open shards tile the 128-bit key space without gaps.
	next := big.NewInt(0)
	total := 0.0
	for _, s := range d.OpenShards {
		start, _ := new(big.Int).SetString(s.StartingHashKey, 10)
		end, _ := new(big.Int).SetString(s.EndingHashKey, 10)
		require.Zero(t, next.Cmp(start), "shard %s starts where the previous ends", s.ID)
		next = end.Add(end, big.NewInt(1))
		total += s.KeySpacePercent
	}
	require.Zero(t, next.Cmp(new(big.Int).Lsh(big.NewInt(1), 128)))
	require.InDelta(t, 100, total, 1e-6)

	again, err := streamadmin.Describe(ctx, c, name)
	require.NoError(t, err)
	require.Equal(t, d.OpenShards, again.OpenShards)

	_, err = streamadmin.Create(ctx, c, name, streamadmin.CreateOptions{Shards: 1, Wait: true})
	require.ErrorIs(t, err, streamadmin.ErrExists)
	require.ErrorContains(t, err, "strangler stream describe "+name)

	missing := testenv.UniqueName("missing")
	_, err = streamadmin.Describe(ctx, c, missing)
	require.ErrorIs(t, err, streamadmin.ErrNotFound)
	require.ErrorContains(t, err, "strangler stream create "+missing+" --shards N")
}

func put(t *testing.T, c *kinesis.Client, stream, key string, data ...string) {
	t.Helper()
	for _, d := range data {
		_, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(key), Data: []byte(d)})
		require.NoError(t, err)
	}
}

func tailAll(t *testing.T, c streamadmin.API, stream string, o streamadmin.TailOptions) []streamadmin.TailRecord {
	t.Helper()
	var got []streamadmin.TailRecord
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, streamadmin.Tail(ctx, c, stream, o, func(r streamadmin.TailRecord) error {
		got = append(got, r)
		return nil
	}))
	return got
}

func TestStreamTail(t *testing.T) {
	t.Parallel()
	c := testenv.KinesisClient(t, testenv.KinesisEndpoint(t))
	stream := testenv.NewStream(t, 2)
	for i := range 10 {
		put(t, c, stream, fmt.Sprintf("k%d", i%4), fmt.Sprintf(`{"i":%d}`, i))
	}
	put(t, c, stream, "bin", "\x00\x01not json")

	got := tailAll(t, c, stream, streamadmin.TailOptions{PollInterval: 20 * time.Millisecond})
	require.Len(t, got, 11)
	last := map[string]int{}
	for _, r := range got {
		require.NotEmpty(t, r.Shard)
		require.NotEmpty(t, r.Sequence)
		require.False(t, r.Arrival.IsZero())
		if r.PartitionKey == "bin" {
			require.Nil(t, r.Data)
			require.Equal(t, []byte("\x00\x01not json"), r.DataBase64)
			line, err := json.Marshal(r)
			require.NoError(t, err)
			require.Contains(t, string(line), `"data_base64":"AAFub3QganNvbg=="`)
			continue
		}
		var v struct{ I int }
		require.NoError(t, json.Unmarshal(r.Data, &v), "JSON records are embedded as JSON")
		if prev, ok := last[r.PartitionKey]; ok {
			require.Greater(t, v.I, prev, "a key's records come in order")
		}
		last[r.PartitionKey] = v.I
	}

	limited := tailAll(t, c, stream, streamadmin.TailOptions{Limit: 3, PollInterval: 20 * time.Millisecond})
	require.Len(t, limited, 3)

	none := tailAll(t, c, stream, streamadmin.TailOptions{From: streamadmin.FromLatest, PollInterval: 20 * time.Millisecond})
	require.Empty(t, none, "latest without --follow: nothing new")

	err := streamadmin.Tail(context.Background(), c, stream, streamadmin.TailOptions{From: "beginning"}, nil)
	require.ErrorContains(t, err, "use trim-horizon")
}

func TestStreamTailFollowsNewRecords(t *testing.T) {
	t.Parallel()
	c := testenv.KinesisClient(t, testenv.KinesisEndpoint(t))
	stream := testenv.NewStream(t, 2)
	put(t, c, stream, "old", `{"old":true}`)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var got []streamadmin.TailRecord
	done := make(chan error, 1)
	go func() {
		done <- streamadmin.Tail(ctx, c, stream, streamadmin.TailOptions{From: streamadmin.FromLatest, Follow: true, PollInterval: 20 * time.Millisecond},
			func(r streamadmin.TailRecord) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, r)
				return nil
			})
	}()
	// LATEST iterators see only records put after they are taken: keep putting until
	// the tail shows one, then check every later record arrives.
	i := 0
	require.Eventually(t, func() bool {
		put(t, c, stream, "new", fmt.Sprintf(`{"i":%d}`, i))
		i++
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	}, 30*time.Second, 50*time.Millisecond)
	put(t, c, stream, "new", `{"i":"final"}`)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return string(got[len(got)-1].Data) == `{"i":"final"}`
	}, 30*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done, "a following tail ends cleanly when interrupted")
	mu.Lock()
	defer mu.Unlock()
	for _, r := range got {
		require.NotContains(t, string(r.Data), "old", "latest skips what was there before")
	}
}

// After a shard split, a key's records are in the parent and then in a child: tail reads
// the parent to its end before the children, so the key's order holds. The parent holds
// more than one GetRecords call returns (10,000), so a tail that did not wait for it
// would print child records in between.
func TestStreamTailReadsParentsBeforeChildren(t *testing.T) {
	t.Parallel()
	c := testenv.KinesisClient(t, testenv.KinesisEndpoint(t))
	stream := testenv.NewStream(t, 1)
	const before, after = 10200, 20
	ctx := context.Background()
	for start := 0; start < before; start += 500 {
		var entries []types.PutRecordsRequestEntry
		for i := start; i < min(start+500, before); i++ {
			entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		require.NoError(t, err)
		require.Zero(t, aws.ToInt32(out.FailedRecordCount))
	}
	_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{
		StreamName: aws.String(stream), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String(new(big.Int).Lsh(big.NewInt(1), 127).String()),
	})
	require.NoError(t, err)
	_, err = streamadmin.WaitActive(ctx, c, stream, time.Minute, 20*time.Millisecond)
	require.NoError(t, err)
	for i := before; i < before+after; i++ {
		put(t, c, stream, "k", fmt.Sprintf(`{"i":%d}`, i))
	}
	d, err := streamadmin.Describe(ctx, c, stream)
	require.NoError(t, err)
	require.Len(t, d.OpenShards, 2)
	require.Equal(t, "shardId-000000000000", d.OpenShards[0].Parent)

	got := tailAll(t, c, stream, streamadmin.TailOptions{PollInterval: 20 * time.Millisecond})
	require.Len(t, got, before+after)
	for i, r := range got {
		var v struct{ I int }
		require.NoError(t, json.Unmarshal(r.Data, &v))
		require.Equal(t, i, v.I, "record %d of key k comes in order (shard %s)", i, r.Shard)
	}
	require.Equal(t, "shardId-000000000000", got[0].Shard)
	require.NotEqual(t, "shardId-000000000000", got[len(got)-1].Shard)
}
