package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/strangler/strangler/internal/kinesisclient"
)

// SetAWSTestEnv gives the AWS chain static credentials and a region, which the local
// Kinesis servers accept whatever their value.
func SetAWSTestEnv(t testing.TB) {
	t.Helper()
	for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"} {
		if envOr(k, "") == "" {
			t.Setenv(k, v)
		}
	}
}

// KinesisEndpoint returns the endpoint of the test Kinesis server, after checking it answers.
func KinesisEndpoint(t testing.TB) string {
	t.Helper()
	ep := envOr("STRANGLER_TEST_KINESIS_ENDPOINT", DefaultKinesis)
	SetAWSTestEnv(t)
	c, err := kinesisclient.New(context.Background(), kinesisclient.Options{Endpoint: ep, Region: "us-east-1", MaxAttempts: 1, HTTPTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListStreams(context.Background(), &kinesis.ListStreamsInput{Limit: aws.Int32(1)}); err != nil {
		Unavailable(t, "Kinesis at "+ep, err)
	}
	return ep
}

// KinesisClient returns a client for endpoint (the test server, or a proxy in front of it).
func KinesisClient(t testing.TB, endpoint string) *kinesis.Client {
	t.Helper()
	SetAWSTestEnv(t)
	c, err := kinesisclient.New(context.Background(), kinesisclient.Options{Endpoint: endpoint, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NewStream creates a uniquely named stream with shards shards on the test server, waits
// until it is active, and deletes it when the test ends.
func NewStream(t testing.TB, shards int) string {
	t.Helper()
	ep := KinesisEndpoint(t)
	c := KinesisClient(t, ep)
	name := UniqueName("s")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(int32(shards))}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	if err := kinesis.NewStreamExistsWaiter(c, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 500*time.Millisecond
	}).Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("wait for stream %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(name), EnforceConsumerDeletion: aws.Bool(true)})
	})
	return name
}

// StreamRecord is a record read back from a stream, with the shard it came from.
type StreamRecord struct {
	Shard          string
	Sequence       string
	PartitionKey   string
	Data           []byte
	ArrivalTimeUTC time.Time
}

// ReadStream reads every record of every shard of a stream, in shard order, until it has
// at least want records or timeout passes; it returns what it read.
func ReadStream(t testing.TB, c *kinesis.Client, stream string, want int, timeout time.Duration) []StreamRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("list shards of %s: %v", stream, err)
	}
	iters := map[string]*string{}
	var order []string
	for _, s := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatalf("shard iterator %s: %v", *s.ShardId, err)
		}
		iters[*s.ShardId] = it.ShardIterator
		order = append(order, *s.ShardId)
	}
	byShard := map[string][]StreamRecord{}
	total := 0
	deadline := time.Now().Add(timeout)
	for {
		progressed := false
		for _, sh := range order {
			it := iters[sh]
			if it == nil {
				continue
			}
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(10000)})
			if err != nil {
				t.Fatalf("get records from %s/%s: %v", stream, sh, err)
			}
			for _, r := range out.Records {
				rec := StreamRecord{Shard: sh, Sequence: aws.ToString(r.SequenceNumber), PartitionKey: aws.ToString(r.PartitionKey), Data: r.Data}
				if r.ApproximateArrivalTimestamp != nil {
					rec.ArrivalTimeUTC = r.ApproximateArrivalTimestamp.UTC()
				}
				byShard[sh] = append(byShard[sh], rec)
				total++
				progressed = true
			}
			iters[sh] = out.NextShardIterator
		}
		if total >= want || time.Now().After(deadline) {
			break
		}
		if !progressed {
			time.Sleep(100 * time.Millisecond)
		}
	}
	var all []StreamRecord
	for _, sh := range order {
		all = append(all, byShard[sh]...)
	}
	return all
}

// ShardCount describes stream and returns its open shard count.
func ShardCount(t testing.TB, c *kinesis.Client, stream string) int {
	out, err := c.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(fmt.Errorf("describe %s: %w", stream, err))
	}
	return int(aws.ToInt32(out.StreamDescriptionSummary.OpenShardCount))
}
