package kinesis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/strangler/strangler/cdc/sink"
	"github.com/strangler/strangler/cdc/sink/kinesis"
	"github.com/strangler/strangler/internal/testenv"
)

// BenchmarkSinkIntoKinesalite measures delivery of 1 KiB records into the local Kinesis
// server: with many keys (requests fill to 500 records) and with one hot key (one record
// per round trip, the price of per-key order).
//
//	go test -run '^$' -bench SinkIntoKinesalite ./cdc/sink/kinesis/
func BenchmarkSinkIntoKinesalite(b *testing.B) {
	for _, keys := range []int{10000, 1} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			stream := testenv.NewStream(b, 4)
			client := testenv.KinesisClient(b, testenv.KinesisEndpoint(b))
			pad := strings.Repeat("x", 1024-70)
			recs := make([]*sink.Record, b.N)
			for i := range recs {
				k := i % keys
				recs[i] = &sink.Record{
					Seq: uint64(i + 1), PartitionKey: fmt.Sprintf("shop.orders:[%d]", k), DB: "shop", Table: "orders", Op: "u",
					Data: []byte(fmt.Sprintf(`{"k":%d,"n":%d,"pad":"%s"}`, k, i, pad))[:1024-len(fmt.Sprintf("shop.orders:[%d]", k))],
				}
			}
			s, err := kinesis.New(client, kinesis.DefaultOptions(stream), newAckRecorder(), nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			b.SetBytes(1024)
			b.ResetTimer()
			start := time.Now()
			if err := deliver(ctx, s, recs); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
		})
	}
}

// BenchmarkPutRecordsBaseline is the ceiling the sink is compared with: bare PutRecords
// calls of 500 1 KiB records, 8 at a time, with no ordering, retries or acknowledgements.
func BenchmarkPutRecordsBaseline(b *testing.B) {
	stream := testenv.NewStream(b, 4)
	client := testenv.KinesisClient(b, testenv.KinesisEndpoint(b))
	pad := strings.Repeat("x", 1000)
	const batch, inFlight = 500, 8
	entries := make([]types.PutRecordsRequestEntry, batch)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("shop.orders:[%d]", i)), Data: []byte(pad)}
	}
	b.SetBytes(1024)
	b.ResetTimer()
	start := time.Now()
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for sent := 0; sent < b.N; sent += batch {
		n := min(batch, b.N-sent)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := client.PutRecords(context.Background(), &awskinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries[:n]}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

// instantAPI accepts every record at once: BenchmarkSinkOverhead measures the sink's own
// cost (batching, per-key order, acknowledgements), not Kinesis's.
type instantAPI struct{}

func (instantAPI) PutRecords(_ context.Context, in *awskinesis.PutRecordsInput, _ ...func(*awskinesis.Options)) (*awskinesis.PutRecordsOutput, error) {
	out := &awskinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(in.Records))}
	for i := range out.Records {
		out.Records[i] = types.PutRecordsResultEntry{SequenceNumber: aws.String("1"), ShardId: aws.String("shardId-000000000000")}
	}
	return out, nil
}

func BenchmarkSinkOverhead(b *testing.B) {
	for _, keys := range []int{10000, 1} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			recs := make([]*sink.Record, b.N)
			data := []byte(strings.Repeat("x", 1000))
			for i := range recs {
				recs[i] = &sink.Record{Seq: uint64(i + 1), PartitionKey: fmt.Sprintf("shop.orders:[%d]", i%keys), Data: data}
			}
			s, err := kinesis.New(instantAPI{}, kinesis.DefaultOptions("bench"), newAckRecorder(), nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			if err := deliver(context.Background(), s, recs); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
		})
	}
}
