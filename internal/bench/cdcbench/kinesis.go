package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/strangler/strangler/internal/kinesisclient"
	"github.com/strangler/strangler/internal/streamadmin"
)

const benchRegion = "us-east-1"

func newKinesisClient(ctx context.Context, endpoint string) (*kinesis.Client, error) {
	return kinesisclient.New(ctx, kinesisclient.Options{Region: benchRegion, Endpoint: endpoint})
}

// createStream makes a fresh stream of shards shards and waits until it is active.
func createStream(ctx context.Context, c *kinesis.Client, prefix string, shards int) (string, error) {
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	if _, err := streamadmin.Create(ctx, c, name, streamadmin.CreateOptions{Shards: shards, Wait: true, WaitTimeout: time.Minute, PollInterval: 50 * time.Millisecond}); err != nil {
		return "", err
	}
	return name, nil
}

func deleteStream(ctx context.Context, c *kinesis.Client, name string) error {
	_, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name), EnforceConsumerDeletion: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("delete stream %s: %w", name, err)
	}
	return nil
}

// countStream reads the whole stream back and counts its records.
func countStream(ctx context.Context, c *kinesis.Client, stream string, want int, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n := 0
	err := streamadmin.Tail(ctx, c, stream, streamadmin.TailOptions{Limit: want + 1, PollInterval: 200 * time.Millisecond}, func(streamadmin.TailRecord) error {
		n++
		return nil
	})
	return n, err
}

// latencyResult is commit-to-acknowledge latency at a fixed write rate.
type latencyResult struct {
	Rate     float64       // writes/s asked
	Achieved float64       // writes/s done
	Duration time.Duration // of the writing
	Writes   int
	Received int
	P50, P99 time.Duration // commit (client, after COMMIT returned) to arrival in Kinesis
	Max, Min time.Duration
	// From when the client sent the INSERT (an upper bound: the commit happened in between).
	SentP50, SentP99 time.Duration
	// The client's round trip of the autocommitted INSERT.
	RTTP50, RTTP99 time.Duration
	ProdP50        time.Duration // commit to the event's ts_ms (the daemon encoded it)
	ProdP99        time.Duration
	SinkHist       histogram // the daemon's strangler_cdc_sink_request_seconds
	HasHist        bool
	Shards         int
	DaemonNote     string
}

// commitTime brackets a row's commit on the client's clock.
type commitTime struct {
	sent time.Time // the INSERT was sent
	done time.Time // its autocommit returned
}

// writeAtRate inserts single-row transactions into the latency table at rate per second
// for d, and returns the commit time of each row by id.
func writeAtRate(ctx context.Context, db *sql.DB, rate float64, d time.Duration) (map[int64]commitTime, time.Duration, error) {
	n := int(math.Round(rate * d.Seconds()))
	stmt, err := db.PrepareContext(ctx, "INSERT INTO "+tableLatency+" VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return nil, 0, fmt.Errorf("prepare the latency insert: %w", err)
	}
	defer stmt.Close()
	note := strings.Repeat("x", 100)
	commits := make(map[int64]commitTime, n)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		id := int64(i + 1)
		sent := time.Now()
		if _, err := stmt.ExecContext(ctx, id, i%1000, "customer-"+strconv.Itoa(i), "12.34", "2024-01-01 00:00:00.123", note, i%2, "new"); err != nil {
			return nil, 0, fmt.Errorf("latency insert %d: %w", id, err)
		}
		commits[id] = commitTime{sent: sent, done: time.Now()}
	}
	return commits, time.Since(start), nil
}

// readLatencies reads the latency stream back and measures each record against its
// row's commit time.
func readLatencies(ctx context.Context, c *kinesis.Client, stream string, commits map[int64]commitTime, timeout time.Duration) (arrive, fromSent, produce []time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	prefix := benchDB + "." + tableLatency + ":["
	err = streamadmin.Tail(ctx, c, stream, streamadmin.TailOptions{Limit: len(commits), Follow: true, PollInterval: 200 * time.Millisecond}, func(r streamadmin.TailRecord) error {
		k, ok := strings.CutPrefix(r.PartitionKey, prefix)
		if !ok {
			return fmt.Errorf("record with partition key %q: not a row of %s.%s", r.PartitionKey, benchDB, tableLatency)
		}
		id, perr := strconv.ParseInt(strings.TrimSuffix(k, "]"), 10, 64)
		if perr != nil {
			return fmt.Errorf("record with partition key %q: %w", r.PartitionKey, perr)
		}
		committed, ok := commits[id]
		if !ok {
			return fmt.Errorf("record for row %d, which the writer did not write", id)
		}
		arrive = append(arrive, r.Arrival.Sub(committed.done))
		fromSent = append(fromSent, r.Arrival.Sub(committed.sent))
		var ev struct {
			TsMs int64 `json:"ts_ms"`
		}
		if json.Unmarshal(r.Bytes(), &ev) == nil && ev.TsMs > 0 {
			produce = append(produce, time.UnixMilli(ev.TsMs).Sub(committed.done))
		}
		return nil
	})
	return arrive, fromSent, produce, err
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func sortedCopy(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}
