package cdc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/checkpoint"
	"github.com/strangler/strangler/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.UseLocalAWSEnv()
	os.Exit(m.Run())
}

// streamEvents reads a stream and decodes every record as an event, keeping the
// partition key and the order within each shard.
type streamEvent struct {
	ev
	partitionKey string
	shard        string
}

func readStreamEvents(t *testing.T, endpoint, stream string, want int, timeout time.Duration) []streamEvent {
	t.Helper()
	recs := testenv.ReadStream(t, testenv.KinesisClient(t, endpoint), stream, want, timeout)
	out := make([]streamEvent, 0, len(recs))
	for _, r := range recs {
		out = append(out, streamEvent{ev: decodeEvent(t, r.Data), partitionKey: r.PartitionKey, shard: r.Shard})
	}
	return out
}

// requireRowHistories checks, per row, that the first arrival of each change (duplicates
// dropped by id, as consumers do) follows the row's versions 0, 1, 2, ... with none
// missing: no change lost, none reordered.
func requireRowHistories(t *testing.T, evs []streamEvent, rows, versions int) (duplicates int) {
	t.Helper()
	seen := map[string]bool{}
	next := map[string]int{}
	keyOfRow := map[string]string{}
	for _, e := range evs {
		if seen[e.ID] {
			duplicates++
			continue
		}
		seen[e.ID] = true
		id := e.val("after", "id")
		if e.Op == "d" {
			id = e.val("before", "id")
		}
		if k, ok := keyOfRow[id]; ok {
			require.Equal(t, k, e.partitionKey, "all changes of row %s share a partition key", id)
		}
		keyOfRow[id] = e.partitionKey
		var v int
		require.NoError(t, json.Unmarshal([]byte(e.val("after", "v")), &v), "event %s", e.raw)
		require.Equal(t, next[id], v, "row %s: version %d arrived when %d was expected (lost or reordered): %s", id, v, next[id], e.raw)
		next[id]++
	}
	require.Len(t, next, rows, "every row streamed")
	for id, n := range next {
		require.Equal(t, versions, n, "row %s: every version streamed", id)
	}
	return duplicates
}

// TestKinesisKeepsEachRowsOrderUnderThrottlingAndPartialFailures: with a proxy that
// throttles whole requests and fails a share of the entries inside PutRecords answers,
// every change arrives, and each row's changes arrive in commit order.
func TestKinesisKeepsEachRowsOrderUnderThrottlingAndPartialFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)")
	upstream := testenv.KinesisEndpoint(t)
	stream := testenv.NewStream(t, 4)
	proxy := testenv.NewKinesisFaultProxy(t, upstream)
	proxy.SetFaults(testenv.KinesisFaults{ThrottleShare: 0.2, FailEntryShare: 0.3})

	cfg := h.config()
	cfg.Sink = "kinesis"
	cfg.Stream = stream
	cfg.KinesisEndpoint = proxy.URL()
	cfg.Region = "us-east-1"
	cfg.MinRate = 2000 // keep the adaptive limit from crawling under constant faults
	d := startDaemon(t, cfg)

	const rows, versions = 30, 10
	var vals []string
	for i := 0; i < rows; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 0)", i))
	}
	h.db.Exec(t, "INSERT INTO t VALUES "+strings.Join(vals, ","))
	for v := 1; v < versions; v++ {
		// Several versions of every row in flight at once: one statement per version.
		h.db.Exec(t, fmt.Sprintf("UPDATE t SET v = %d", v))
	}
	evs := readStreamEvents(t, upstream, stream, rows*versions, 90*time.Second)
	require.NoError(t, d.stop(t))
	dups := requireRowHistories(t, evs, rows, versions)
	require.Zero(t, dups, "failed entries are retried, not duplicated")
	st := proxy.Stats()
	require.Positive(t, st.Throttled, "the proxy throttled requests")
	require.Positive(t, st.EntriesFailed, "the proxy failed entries")
	require.Zero(t, st.RequestsWithDuplicateKeys, "a request never holds two changes of one row")
	require.Zero(t, st.KeyOverlaps, "a row's next change waits for the previous one's acknowledgement")
}

// TestSIGKILLLosesNothing kills the real binary with SIGKILL again and again while
// writes go on, including in the middle of a large transaction; after restarts, every
// change is in the stream (some twice: consumers drop duplicates by id), each row's
// changes in order.
func TestSIGKILLLosesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)", "CREATE TABLE big (id INT PRIMARY KEY, v INT NOT NULL, pad CHAR(100))")
	upstream := testenv.KinesisEndpoint(t)
	stream := testenv.NewStream(t, 2)
	// The endpoint comes from the SDK's own variable, as users of LocalStack set it.
	args := h.args("--sink", "kinesis", "--stream", stream, "--region", "us-east-1")
	start := func() *testenv.Process {
		return testenv.StartStrangler(t, []string{"AWS_ENDPOINT_URL_KINESIS=" + upstream}, args...)
	}

	const rows, versions, bigRows = 20, 40, 20000
	var wg sync.WaitGroup
	wg.Add(1)
	writeErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		var vals []string
		for i := 0; i < rows; i++ {
			vals = append(vals, fmt.Sprintf("(%d, 0)", i))
		}
		if _, err := h.db.DB.Exec("INSERT INTO t VALUES " + strings.Join(vals, ",")); err != nil {
			writeErr <- err
			return
		}
		for v := 1; v < versions; v++ {
			if _, err := h.db.DB.Exec(fmt.Sprintf("UPDATE t SET v = %d WHERE id %% 2 = %d", v, v%2)); err != nil {
				writeErr <- err
				return
			}
			if _, err := h.db.DB.Exec(fmt.Sprintf("UPDATE t SET v = %d WHERE id %% 2 = %d", v, 1-v%2)); err != nil {
				writeErr <- err
				return
			}
			time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		}
		close(writeErr)
	}()

	p := start()
	for i := 0; i < 3; i++ {
		time.Sleep(time.Duration(300+rand.IntN(500)) * time.Millisecond)
		p.Kill()
		p = start()
	}
	wg.Wait()
	require.NoError(t, <-writeErr)

	// A large transaction, killed once most of it is delivered: the checkpoint is then
	// inside it, and the restart must not send the delivered part again.
	h.db.Exec(t, fmt.Sprintf("INSERT INTO big SELECT seq, 0, 'x' FROM seq_1_to_%d", bigRows))
	st, err := checkpoint.NewFileStore(h.checkpoint)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		cp, err := st.Load(context.Background())
		return err == nil && cp != nil && cp.Resume.Skip >= bigRows*6/10
	}, 180*time.Second, 20*time.Millisecond, "a checkpoint inside the large transaction; daemon output:\n%s", p.Output())
	p.Kill()
	p = start()

	total := rows*versions + bigRows
	evs := readStreamEvents(t, upstream, stream, total, 180*time.Second)
	require.Equal(t, 0, p.Terminate(60*time.Second), p.Output())
	evs = readStreamEvents(t, upstream, stream, total, 5*time.Second)

	var small, large []streamEvent
	for _, e := range evs {
		if e.Source.Table == "t" {
			small = append(small, e)
		} else {
			large = append(large, e)
		}
	}
	dups := requireRowHistories(t, small, rows, versions)
	ids := map[string]bool{}
	for _, e := range large {
		if !ids[e.ID] {
			ids[e.ID] = true
		}
	}
	require.Len(t, ids, bigRows, "every row of the large transaction, once the duplicates are dropped")
	dupsLarge := len(large) - bigRows
	t.Logf("changes: %d; sent again after the kills: %d of the small rows, %d of the large transaction", total, dups, dupsLarge)
	// The kill came once 60% of the transaction was checkpointed: a restart from the
	// transaction's start would resend at least that; only what was in flight (8 requests of
	// 500) and what one checkpoint interval let through may come twice.
	require.Less(t, dupsLarge, bigRows*4/10, "a restart inside the large transaction resends only its unacknowledged part")
}

// TestOversizeRecords: by default a record over the limit stops the daemon with an
// error naming it; with --oversize skip it goes to the dead-letter file and the rest
// flows, in order.
func TestOversizeRecords(t *testing.T) {
	t.Parallel()
	upstream := testenv.KinesisEndpoint(t)
	for _, policy := range []string{"fail", "skip"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL, body TEXT)")
			stream := testenv.NewStream(t, 1)
			cfg := h.config()
			cfg.Sink, cfg.Stream, cfg.KinesisEndpoint, cfg.Region = "kinesis", stream, upstream, "us-east-1"
			cfg.MaxRecordBytes = 4096
			cfg.Oversize = policy
			cfg.DeadLetterPath = filepath.Join(h.dir, "dead.jsonl")
			d := startDaemon(t, cfg)
			h.db.Exec(t, "INSERT INTO t VALUES (1, 0, 'small')", "INSERT INTO t VALUES (2, 0, REPEAT('x', 10000))", "INSERT INTO t VALUES (3, 0, 'ok')")
			if policy == "fail" {
				err := d.wait(t, 60*time.Second)
				require.Error(t, err)
				for _, want := range []string{h.db.Name, "t", `{"id":2}`, "4096", "--oversize skip"} {
					require.Contains(t, err.Error(), want)
				}
				for _, e := range readStreamEvents(t, upstream, stream, 1, 3*time.Second) {
					require.Equal(t, "1", e.val("after", "id"), "nothing from the oversize record on")
				}
				return
			}
			evs := readStreamEvents(t, upstream, stream, 2, 60*time.Second)
			require.NoError(t, d.stop(t))
			require.Len(t, evs, 2)
			require.Equal(t, "1", evs[0].val("after", "id"))
			require.Equal(t, "3", evs[1].val("after", "id"))
			f, err := os.Open(cfg.DeadLetterPath)
			require.NoError(t, err)
			defer f.Close()
			var lines []map[string]any
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var m map[string]any
				require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
				lines = append(lines, m)
			}
			require.Len(t, lines, 1)
			require.Equal(t, "t", lines[0]["table"])
			require.Greater(t, lines[0]["size"].(float64), 4096.0)
			require.Equal(t, map[string]any{"id": 2.0}, lines[0]["key"])
			require.NotNil(t, lines[0]["event"], "the event itself is kept")
		})
	}
}

// TestMetricsAndHealth: the daemon serves Prometheus metrics, /healthz and /readyz.
func TestMetricsAndHealth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cfg := h.config()
	cfg.MetricsAddr = addr
	d := startDaemon(t, cfg)
	h.db.Exec(t, "INSERT INTO t VALUES (1), (2), (3)", "DELETE FROM t WHERE id = 2")
	waitFileEvents(t, h.out, 4, 30*time.Second)

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, _ := get("/healthz")
	require.Equal(t, 200, code)
	code, _ = get("/readyz")
	require.Equal(t, 200, code)
	require.Eventually(t, func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, fmt.Sprintf(`strangler_cdc_events_total{db="%s",op="c",table="t"} 3`, h.db.Name)) &&
			strings.Contains(body, fmt.Sprintf(`strangler_cdc_events_total{db="%s",op="d",table="t"} 1`, h.db.Name))
	}, 10*time.Second, 100*time.Millisecond)
	_, body := get("/metrics")
	for _, m := range []string{"strangler_cdc_sink_records_total 4", "strangler_cdc_sink_request_seconds_bucket", "strangler_cdc_source_lag_seconds",
		"strangler_cdc_source_lag_bytes", "strangler_cdc_checkpoint_timestamp_seconds", "strangler_cdc_checkpoint_age_seconds", `strangler_cdc_sink_retries_total{reason="throttled"} 0`,
		"strangler_cdc_sink_throttles_total", "strangler_cdc_info", "strangler_cdc_transactions_total"} {
		require.Contains(t, body, m)
	}
	require.NoError(t, d.stop(t))
}

// TestSinkFailuresStopTheDaemonAndKeepTheCheckpoint: when Kinesis keeps refusing
// (retries run out) or refuses for good (no such stream), the daemon stops with an error
// that says so, and the checkpoint does not move past what was delivered.
func TestSinkFailuresStopTheDaemonAndKeepTheCheckpoint(t *testing.T) {
	t.Parallel()
	upstream := testenv.KinesisEndpoint(t)
	tests := []struct {
		name   string
		faults testenv.KinesisFaults
		stream func(t *testing.T) string
		want   []string
	}{
		{"retries run out", testenv.KinesisFaults{FailAllCode: "ProvisionedThroughputExceededException"},
			func(t *testing.T) string { return testenv.NewStream(t, 1) }, []string{"ProvisionedThroughputExceeded", "--sink-retry-timeout"}},
		{"stream missing", testenv.KinesisFaults{},
			func(t *testing.T) string { return "no-such-stream-" + testenv.UniqueName("x") }, []string{"ResourceNotFound", "no-such-stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
			proxy := testenv.NewKinesisFaultProxy(t, upstream)
			proxy.SetFaults(tt.faults)
			cfg := h.config()
			cfg.Sink, cfg.Stream, cfg.KinesisEndpoint, cfg.Region = "kinesis", tt.stream(t), proxy.URL(), "us-east-1"
			cfg.SinkRetryTime = 3 * time.Second
			d := startDaemon(t, cfg)
			h.db.Exec(t, "INSERT INTO t VALUES (1), (2)")
			file, pos := testenv.MasterPosition(t, h.db.DB)
			err := d.wait(t, 60*time.Second)
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			// The checkpoint may pass other transactions (other tests' tables, DDL), never
			// the undelivered insert, which ends before the position read after it.
			st, serr := checkpoint.NewFileStore(h.checkpoint)
			require.NoError(t, serr)
			cp, lerr := st.Load(context.Background())
			require.NoError(t, lerr)
			require.NotNil(t, cp)
			require.Zero(t, cp.Resume.Skip, "the checkpoint did not move into the undelivered transaction")
			require.Negative(t, binlog.Compare(cp.Resume.Position, binlog.Position{File: file, Pos: pos}), "the checkpoint stays before the undelivered insert")
		})
	}
}
