package kinesis_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/sink"
	"github.com/strangler/strangler/cdc/sink/kinesis"
	"github.com/strangler/strangler/internal/kinesisclient"
	"github.com/strangler/strangler/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.UseLocalAWSEnv() // tests run in parallel, where t.Setenv is refused
	os.Exit(m.Run())
}

// ackRecorder is the checkpointer's stand-in: it records every acknowledgement in order.
type ackRecorder struct {
	mu    sync.Mutex
	order []uint64
	times map[uint64]int
}

func newAckRecorder() *ackRecorder { return &ackRecorder{times: map[uint64]int{}} }

func (a *ackRecorder) Ack(seq uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.order = append(a.order, seq)
	a.times[seq]++
}

func (a *ackRecorder) snapshot() ([]uint64, map[uint64]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	times := make(map[uint64]int, len(a.times))
	for k, v := range a.times {
		times[k] = v
	}
	return append([]uint64(nil), a.order...), times
}

// payload is what each test record carries, to check order and completeness on the way back.
type payload struct {
	K   int    `json:"k"`
	N   int    `json:"n"`
	Seq uint64 `json:"seq"`
	Pad string `json:"pad,omitempty"`
}

// makeRecords makes perKey records for each of keys keys, interleaved (n=0 of every key,
// then n=1...), so that every key has records in flight at the same time.
func makeRecords(keys, perKey, pad int) []*sink.Record {
	var recs []*sink.Record
	seq := uint64(0)
	for n := range perKey {
		for k := range keys {
			seq++
			data, _ := json.Marshal(payload{K: k, N: n, Seq: seq, Pad: strings.Repeat("x", pad)})
			recs = append(recs, &sink.Record{
				Seq: seq, PartitionKey: fmt.Sprintf("shop.orders:[%d]", k), Data: data,
				DB: "shop", Table: "orders", Op: "u", Key: fmt.Sprintf("[%d]", k), ID: fmt.Sprintf("ev-%d", seq),
			})
		}
	}
	return recs
}

// deliver runs s, puts recs, closes it and returns what Run returned.
func deliver(ctx context.Context, s *kinesis.Sink, recs []*sink.Record) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	for _, r := range recs {
		if err := s.Put(ctx, r); err != nil {
			break // Run says why
		}
	}
	s.Close()
	return <-errc
}

// readBack reads the stream and checks that every record of recs is there, each key's
// records in put order. Duplicates (a request that landed but whose answer was lost)
// are allowed only when exactlyOnce is false, and then never after a later record of the
// key. It returns the number of duplicates.
func readBack(t *testing.T, stream string, recs []*sink.Record, exactlyOnce bool) int {
	t.Helper()
	c := testenv.KinesisClient(t, testenv.KinesisEndpoint(t))
	got := testenv.ReadStream(t, c, stream, len(recs), 60*time.Second)
	want := map[uint64]*sink.Record{}
	perKey := map[string]int{}
	for _, r := range recs {
		want[r.Seq] = r
		perKey[r.PartitionKey]++
	}
	seen := map[uint64]int{}
	lastN := map[string]int{}
	shardOf := map[string]string{}
	for _, g := range got {
		var p payload
		require.NoError(t, json.Unmarshal(g.Data, &p))
		r := want[p.Seq]
		require.NotNil(t, r, "record %d was never put", p.Seq)
		require.Equal(t, r.PartitionKey, g.PartitionKey)
		require.Equal(t, r.Data, g.Data)
		if sh, ok := shardOf[g.PartitionKey]; ok {
			require.Equal(t, sh, g.Shard, "a key's records share a shard")
		}
		shardOf[g.PartitionKey] = g.Shard
		last, ok := lastN[g.PartitionKey]
		if !ok {
			last = -1
		}
		if exactlyOnce {
			require.Equal(t, last+1, p.N, "key %s: record n=%d follows n=%d", g.PartitionKey, p.N, last)
		} else {
			require.GreaterOrEqual(t, p.N, last, "key %s: record n=%d after n=%d", g.PartitionKey, p.N, last)
			require.LessOrEqual(t, p.N, last+1, "key %s: record n=%d skips ahead of n=%d", g.PartitionKey, p.N, last)
		}
		lastN[g.PartitionKey] = p.N
		seen[p.Seq]++
	}
	for seq := range want {
		require.NotZero(t, seen[seq], "record %d was not delivered", seq)
		if exactlyOnce {
			require.Equal(t, 1, seen[seq], "record %d delivered %d times", seq, seen[seq])
		}
	}
	for k, n := range perKey {
		require.Equal(t, n-1, lastN[k], "key %s", k)
	}
	return len(got) - len(want)
}

// value reads a counter or gauge.
func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	require.NoError(t, c.Write(&d))
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func histogramCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	var d dto.Metric
	require.NoError(t, h.Write(&d))
	return d.Histogram.GetSampleCount()
}

func requireAckedOnce(t *testing.T, acks *ackRecorder, recs []*sink.Record) {
	t.Helper()
	order, times := acks.snapshot()
	require.Len(t, order, len(recs), "one acknowledgement per record")
	for _, r := range recs {
		require.Equal(t, 1, times[r.Seq], "record %d acknowledged %d times", r.Seq, times[r.Seq])
	}
}

// proxied returns a stream with shards shards and a fault proxy in front of the Kinesis server.
func proxied(t *testing.T, shards int) (string, *testenv.KinesisFaultProxy, *awskinesis.Client) {
	t.Helper()
	stream := testenv.NewStream(t, shards)
	proxy := testenv.NewKinesisFaultProxy(t, testenv.KinesisEndpoint(t))
	return stream, proxy, testenv.KinesisClient(t, proxy.URL())
}

func fastRetries(o kinesis.Options) kinesis.Options {
	o.RetryBaseDelay, o.RetryMaxDelay = 5*time.Millisecond, 50*time.Millisecond
	o.MinRate = 2000 // keep constant injected throttling from slowing the test to a crawl
	return o
}

func TestStreamSinkDeliversEverythingInKeyOrderUnderFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		faults      testenv.KinesisFaults
		exactlyOnce bool
		retried     string // a SinkRetries reason that must have counted
		throttles   bool
	}{
		{
			name:        "throttled requests and 30% throttled entries",
			faults:      testenv.KinesisFaults{ThrottleShare: 0.15, FailEntryShare: 0.3},
			exactlyOnce: true, retried: "throttled", throttles: true,
		},
		{
			name:        "KMS throttling and internal failures",
			faults:      testenv.KinesisFaults{ThrottleShare: 0.1, ThrottleCode: "KMSThrottlingException", InternalErrorShare: 0.1, FailEntryShare: 0.3, FailEntryCode: "InternalFailure"},
			exactlyOnce: true, retried: "failed_entry", throttles: true,
		},
		{
			name:        "connections dropped after the records landed",
			faults:      testenv.KinesisFaults{DropShare: 0.15, DropAfterForward: true, FailEntryShare: 0.2},
			exactlyOnce: false, retried: "transient",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stream, proxy, client := proxied(t, 4)
			proxy.SetFaults(tc.faults)
			recs := makeRecords(150, 8, 40)
			// A hot key: many records of one key, each waiting for the one before.
			for n := range 25 {
				data, _ := json.Marshal(payload{K: 1000, N: n, Seq: uint64(len(recs) + 1)})
				recs = append(recs, &sink.Record{Seq: uint64(len(recs) + 1), PartitionKey: "shop.counters:[1]", Data: data, DB: "shop", Table: "counters", Op: "u", Key: "[1]"})
			}
			m := metrics.Discard()
			acks := newAckRecorder()
			s, err := kinesis.New(client, fastRetries(kinesis.Options{Stream: stream, MaxInFlight: 4, Linger: 5 * time.Millisecond}), acks, m, nil)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			require.NoError(t, deliver(ctx, s, recs))

			requireAckedOnce(t, acks, recs)
			dups := readBack(t, stream, recs, tc.exactlyOnce)
			if tc.faults.DropAfterForward {
				require.Positive(t, dups, "records whose answer was lost were sent again")
			}

			st := proxy.Stats()
			require.Positive(t, st.EntriesFailed+st.Throttled+st.InternalErrors+st.Dropped, "faults were injected")
			require.Zero(t, st.RequestsWithDuplicateKeys, "a request never holds two records of one key")
			require.Zero(t, st.KeyOverlaps, "a key never has two requests in flight")
			require.LessOrEqual(t, st.MaxEntriesPerRequest, 500)
			require.LessOrEqual(t, st.MaxRequestBytes, 5<<20)
			require.Positive(t, value(t, m.SinkRetries.WithLabelValues(tc.retried)))
			require.Equal(t, float64(len(recs)), value(t, m.SinkRecords))
			require.Zero(t, value(t, m.SinkInFlight))
			require.Positive(t, histogramCount(t, m.SinkLatency))
			if tc.throttles {
				require.Positive(t, value(t, m.SinkThrottles))
				require.Positive(t, value(t, m.SinkRateLimit), "throttling set a rate limit")
			}
		})
	}
}

func TestStreamSinkBatchesWithinRequestLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		keys, pad    int
		wantRecords  int // the largest request holds exactly this many (0: don't care)
		minBytesFull int // the largest request holds at least this many bytes
	}{
		{name: "500 records a request", keys: 1600, pad: 10, wantRecords: 500},
		{name: "5 MiB a request", keys: 30, pad: 200 << 10, minBytesFull: 4 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stream, proxy, client := proxied(t, 2)
			recs := makeRecords(tc.keys, 1, tc.pad)
			acks := newAckRecorder()
			// A long linger and one request at a time: requests fill up to a limit.
			s, err := kinesis.New(client, kinesis.Options{Stream: stream, MaxInFlight: 1, Linger: time.Second}, acks, nil, nil)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			require.NoError(t, deliver(ctx, s, recs))
			requireAckedOnce(t, acks, recs)
			st := proxy.Stats()
			require.LessOrEqual(t, st.MaxEntriesPerRequest, 500)
			require.LessOrEqual(t, st.MaxRequestBytes, 5<<20)
			if tc.wantRecords > 0 {
				require.Equal(t, tc.wantRecords, st.MaxEntriesPerRequest)
			}
			require.GreaterOrEqual(t, st.MaxRequestBytes, tc.minBytesFull)
			require.Equal(t, len(recs), st.EntriesForwarded, "no fault, no retry")
		})
	}
}

func TestStreamSinkOversizeFailNamesTheRecord(t *testing.T) {
	t.Parallel()
	stream, _, client := proxied(t, 1)
	recs := makeRecords(3, 2, 0)
	big := &sink.Record{Seq: 100, PartitionKey: "shop.docs:[7]", Data: []byte(`{"body":"` + strings.Repeat("y", 5000) + `"}`),
		DB: "shop", Table: "docs", Op: "c", Key: "[7]", ID: "ev-big"}
	recs = append(recs, big)
	acks := newAckRecorder()
	s, err := kinesis.New(client, kinesis.Options{Stream: stream, MaxRecordBytes: 4096}, acks, nil, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = deliver(ctx, s, recs)
	var oe *kinesis.OversizeError
	require.ErrorAs(t, err, &oe)
	for _, want := range []string{"shop.docs", "key [7]", fmt.Sprint(big.Size()), "4096", "--oversize skip --dead-letter-file", "--kinesis-max-record-bytes"} {
		require.Contains(t, err.Error(), want)
	}
	_, times := acks.snapshot()
	require.Zero(t, times[big.Seq], "the oversize record is not acknowledged")
	require.Error(t, s.Put(ctx, recs[0]), "a stopped sink refuses records")
}

func TestStreamSinkOversizeSkipWritesDeadLetterInKeyOrder(t *testing.T) {
	t.Parallel()
	stream, proxy, client := proxied(t, 2)
	// Fail most entries, so the record before the oversize one is retried a few times:
	// the oversize record must still be set aside only after it.
	proxy.SetFaults(testenv.KinesisFaults{FailEntryShare: 0.6})
	dl := filepath.Join(t.TempDir(), "dead.jsonl")
	mk := func(seq uint64, n int, pad int) *sink.Record {
		data, _ := json.Marshal(payload{K: 7, N: n, Seq: seq, Pad: strings.Repeat("z", pad)})
		return &sink.Record{Seq: seq, PartitionKey: "shop.docs:[7]", Data: data, DB: "shop", Table: "docs", Op: "u", Key: "[7]", ID: fmt.Sprintf("ev-%d", seq)}
	}
	before, big, after := mk(1, 0, 10), mk(2, 1, 3000), mk(3, 1, 10)
	others := makeRecords(20, 3, 10)
	for _, r := range others {
		r.Seq += 100
		var p payload
		_ = json.Unmarshal(r.Data, &p)
		p.Seq = r.Seq
		r.Data, _ = json.Marshal(p)
	}
	recs := append([]*sink.Record{before, big, after}, others...)
	m := metrics.Discard()
	acks := newAckRecorder()
	s, err := kinesis.New(client, fastRetries(kinesis.Options{Stream: stream, MaxRecordBytes: 2048, Oversize: kinesis.OversizeSkip, DeadLetterPath: dl}), acks, m, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, deliver(ctx, s, recs))

	requireAckedOnce(t, acks, recs)
	order, _ := acks.snapshot()
	pos := map[uint64]int{}
	for i, seq := range order {
		pos[seq] = i
	}
	require.Less(t, pos[1], pos[2], "the skipped record is acknowledged after its key's earlier record")
	require.Less(t, pos[2], pos[3], "and before its key's later record")
	require.Equal(t, 1.0, value(t, m.DeadLetters.WithLabelValues("shop", "docs")))

	f, err := os.Open(dl)
	require.NoError(t, err)
	defer f.Close()
	var lines []kinesis.DeadLetter
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d kinesis.DeadLetter
		require.NoError(t, json.Unmarshal(sc.Bytes(), &d))
		lines = append(lines, d)
	}
	require.Len(t, lines, 1)
	d := lines[0]
	require.Equal(t, "shop", d.DB)
	require.Equal(t, "docs", d.Table)
	require.Equal(t, "u", d.Op)
	require.JSONEq(t, "[7]", string(d.Key))
	require.Equal(t, "ev-2", d.ID)
	require.Equal(t, uint64(2), d.Seq)
	require.Equal(t, big.Size(), d.Size)
	require.Equal(t, 2048, d.Limit)
	require.Contains(t, d.Reason, "over the 2048-byte")
	require.JSONEq(t, string(big.Data), string(d.Event))
	require.WithinDuration(t, time.Now(), d.Time, time.Hour)

	// The stream holds everything but the skipped record, in order.
	var delivered []*sink.Record
	for _, r := range recs {
		if r != big {
			delivered = append(delivered, r)
		}
	}
	readBack(t, stream, delivered, true)
}

func TestStreamSinkOversizeSkipOnlyDrains(t *testing.T) {
	t.Parallel()
	stream, proxy, client := proxied(t, 1)
	dl := filepath.Join(t.TempDir(), "dead.jsonl")
	recs := makeRecords(3, 2, 3000)
	acks := newAckRecorder()
	// A long linger keeps the records waiting until Close, so that the dead letters are
	// written by the drain that Close starts.
	s, err := kinesis.New(client, kinesis.Options{Stream: stream, MaxRecordBytes: 1024, Oversize: kinesis.OversizeSkip, DeadLetterPath: dl, Linger: time.Hour}, acks, nil, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	for _, r := range recs {
		require.NoError(t, s.Put(ctx, r))
	}
	time.Sleep(20 * time.Millisecond) // let Run go idle first (the test holds either way)
	s.Close()
	require.NoError(t, <-errc, "a sink whose last records were set aside still drains")
	requireAckedOnce(t, acks, recs)
	data, err := os.ReadFile(dl)
	require.NoError(t, err)
	require.Equal(t, len(recs), strings.Count(string(data), "\n"))
	require.Zero(t, proxy.Stats().PutRecordsRequests)
}

func TestStreamSinkMissingStreamStopsWithoutAcking(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewKinesisFaultProxy(t, testenv.KinesisEndpoint(t))
	client := testenv.KinesisClient(t, proxy.URL())
	stream := testenv.UniqueName("missing")
	acks := newAckRecorder()
	recs := makeRecords(10, 2, 0)
	s, err := kinesis.New(client, kinesis.Options{Stream: stream}, acks, nil, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = deliver(ctx, s, recs)
	var de *kinesis.DeliveryError
	require.ErrorAs(t, err, &de)
	require.Equal(t, "ResourceNotFoundException", de.Code)
	require.False(t, de.GaveUp)
	require.Equal(t, len(recs), de.Undelivered)
	for _, want := range []string{stream, "does not exist", "20 record(s) undelivered", "strangler stream create " + stream} {
		require.Contains(t, err.Error(), want)
	}
	order, _ := acks.snapshot()
	require.Empty(t, order)
	require.Equal(t, 1, proxy.Stats().PutRecordsRequests, "no retry of an error retrying cannot fix")
}

func TestStreamSinkGivesUpAfterMaxRetryTime(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"InternalFailure", "ProvisionedThroughputExceededException"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			stream, proxy, client := proxied(t, 1)
			// Some records land first; then everything fails.
			first := makeRecords(5, 1, 0)
			proxy.SetFaults(testenv.KinesisFaults{})
			acks := newAckRecorder()
			m := metrics.Discard()
			s, err := kinesis.New(client, fastRetries(kinesis.Options{Stream: stream, MaxRetryTime: 300 * time.Millisecond, Linger: -1}), acks, m, nil)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- s.Run(ctx) }()
			for _, r := range first {
				require.NoError(t, s.Put(ctx, r))
			}
			require.Eventually(t, func() bool { o, _ := acks.snapshot(); return len(o) == len(first) }, 30*time.Second, 5*time.Millisecond)

			proxy.SetFaults(testenv.KinesisFaults{FailAllCode: code})
			rest := makeRecords(5, 2, 0)
			for _, r := range rest {
				r.Seq += 1000
				if err := s.Put(ctx, r); err != nil {
					break
				}
			}
			s.Close()
			err = <-errc
			var de *kinesis.DeliveryError
			require.ErrorAs(t, err, &de)
			require.True(t, de.GaveUp)
			require.Equal(t, len(rest), de.Undelivered)
			for _, want := range []string{stream, "gave up after 300ms", "--sink-retry-timeout", "10 record(s) undelivered", code} {
				require.Contains(t, err.Error(), want)
			}
			order, _ := acks.snapshot()
			require.Len(t, order, len(first), "records that were never delivered are never acknowledged")
			for _, seq := range order {
				require.Less(t, seq, uint64(1000))
			}
			require.Positive(t, value(t, m.SinkRetries.WithLabelValues("throttled"))+value(t, m.SinkRetries.WithLabelValues("transient")))
		})
	}
}

// The SDK's standard retryer must not retry behind the sink's back, even with a client
// built with SDK retries on: each attempt the sink counts is one request on the wire.
func TestStreamSinkOwnsEveryRetry(t *testing.T) {
	t.Parallel()
	stream, proxy, _ := proxied(t, 1)
	client, err := kinesisclient.New(context.Background(), kinesisclient.Options{Endpoint: proxy.URL(), Region: "us-east-1", MaxAttempts: 5})
	require.NoError(t, err)
	proxy.SetFaults(testenv.KinesisFaults{ThrottleShare: 1})
	m := metrics.Discard()
	s, err := kinesis.New(client, fastRetries(kinesis.Options{Stream: stream, MaxRetryTime: 400 * time.Millisecond, Linger: -1}), newAckRecorder(), m, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = deliver(ctx, s, makeRecords(1, 1, 0))
	var de *kinesis.DeliveryError
	require.ErrorAs(t, err, &de)
	retries := value(t, m.SinkRetries.WithLabelValues("throttled"))
	require.Greater(t, retries, 1.0)
	st := proxy.Stats()
	require.Equal(t, int(retries)+1, st.PutRecordsRequests, "requests on the wire = first attempt + the sink's retries")
	require.Equal(t, float64(st.PutRecordsRequests), value(t, m.SinkThrottles))
}

func TestStreamSinkCancelReturnsPromptly(t *testing.T) {
	t.Parallel()
	stream, proxy, client := proxied(t, 1)
	proxy.SetFaults(testenv.KinesisFaults{Latency: 2 * time.Minute})
	acks := newAckRecorder()
	s, err := kinesis.New(client, kinesis.Options{Stream: stream, Linger: -1}, acks, nil, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	for _, r := range makeRecords(20, 1, 0) {
		require.NoError(t, s.Put(ctx, r))
	}
	require.Eventually(t, func() bool { return proxy.Stats().PutRecordsRequests > 0 }, 30*time.Second, 5*time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(time.Minute): // far below the proxy's 2 minutes of latency
		t.Fatal("Run did not return after its context ended")
	}
	order, _ := acks.snapshot()
	require.Empty(t, order)
	err = s.Put(context.Background(), makeRecords(1, 1, 0)[0])
	require.ErrorIs(t, err, context.Canceled, "Put reports why the sink stopped")
}

func TestStreamSinkPutBlocksWhenBufferFull(t *testing.T) {
	t.Parallel()
	stream, _, client := proxied(t, 1)
	s, err := kinesis.New(client, kinesis.Options{Stream: stream, BufferRecords: 10}, newAckRecorder(), nil, nil)
	require.NoError(t, err)
	recs := makeRecords(11, 1, 0)
	ctx := context.Background()
	for _, r := range recs[:10] {
		require.NoError(t, s.Put(ctx, r))
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.Put(short, recs[10]), context.DeadlineExceeded, "the 11th record waits for space (Run is not running)")

	// Once Run delivers, the blocked Put goes through.
	runCtx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(runCtx) }()
	require.NoError(t, s.Put(runCtx, recs[10]))
	s.Close()
	require.NoError(t, <-errc)
}

func TestStreamSinkRejectsBadOptions(t *testing.T) {
	t.Parallel()
	_, err := kinesis.New(nil, kinesis.Options{Stream: "s"}, newAckRecorder(), nil, nil)
	require.Error(t, err)
	_, err = kinesis.New(testenv.KinesisClient(t, "http://127.0.0.1:1"), kinesis.Options{Stream: "s", Oversize: kinesis.OversizeSkip}, newAckRecorder(), nil, nil)
	require.ErrorContains(t, err, "dead-letter")
}
