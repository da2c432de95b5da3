package dualwrite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/sink"
	kinesissink "github.com/strangler/strangler/cdc/sink/kinesis"
	"github.com/strangler/strangler/dualwrite"
	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/dualwrite/outbox"
	"github.com/strangler/strangler/dualwrite/target"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/internal/kinesisclient"
	"github.com/strangler/strangler/internal/testenv"
	"github.com/strangler/strangler/migrations"
)

func TestMain(m *testing.M) {
	testenv.UseLocalAWSEnv() // tests run in parallel: no t.Setenv
	os.Exit(m.Run())
}

const prefix = "dw_"

// fixture is one test's legacy database (with the toolkit's tables and a legacy table
// items) and, on demand, a Kinesis stream.
type fixture struct {
	t        *testing.T
	db       *testenv.MySQLDatabase
	endpoint string
	stream   string
	kc       *kinesis.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := testenv.NewMySQLDatabase(t)
	m, err := migrations.New(db.DB, prefix)
	require.NoError(t, err)
	_, err = m.Up(context.Background())
	require.NoError(t, err)
	db.Exec(t,
		"CREATE TABLE items (id VARCHAR(64) PRIMARY KEY, aggregate VARCHAR(32) NOT NULL, n INT NOT NULL)",
		"CREATE TABLE counters (aggregate VARCHAR(32) PRIMARY KEY, n INT NOT NULL)",
	)
	return &fixture{t: t, db: db}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// withStream creates the fixture's stream (shards shards).
func (f *fixture) withStream(shards int) *fixture {
	f.endpoint = testenv.KinesisEndpoint(f.t)
	f.stream = testenv.NewStream(f.t, shards)
	f.kc = testenv.KinesisClient(f.t, f.endpoint)
	return f
}

func kinesisClient(t *testing.T, endpoint string) *kinesis.Client {
	c, err := kinesisclient.New(context.Background(), kinesisclient.Options{Endpoint: endpoint, Region: "us-east-1", MaxAttempts: 1, HTTPTimeout: 5 * time.Second})
	require.NoError(t, err)
	return c
}

// kinesisTarget is a Kinesis target on the fixture's stream, through endpoint (the
// stream's server, or a fault proxy in front of it).
func (f *fixture) kinesisTarget(endpoint string) *target.Kinesis {
	return f.kinesisTargetWith(target.KinesisOptions{Client: kinesisClient(f.t, endpoint)})
}

// kinesisTargetWith is a Kinesis target on the fixture's stream with opts (a Client
// given).
func (f *fixture) kinesisTargetWith(opts target.KinesisOptions) *target.Kinesis {
	opts.Stream, opts.MaxRetryTime, opts.Logger = f.stream, time.Minute, testLogger(f.t)
	k, err := target.NewKinesis(opts)
	require.NoError(f.t, err)
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = k.Close(ctx)
	})
	return k
}

func (f *fixture) writer(cfg dualwrite.Config) *dualwrite.Writer {
	cfg.TablePrefix = prefix
	// Timeouts a loaded machine does not reach, unless a test sets its own.
	if cfg.MirrorTimeout == 0 {
		cfg.MirrorTimeout = 30 * time.Second
	}
	if cfg.ShadowTimeout == 0 {
		cfg.ShadowTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(f.t)
	}
	w, err := dualwrite.New(context.Background(), f.db.DB, cfg)
	require.NoError(f.t, err)
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

// item is a committed legacy write.
type item struct {
	ID, Aggregate string
	N             int
}

func (f *fixture) committed() []item {
	rows, err := f.db.DB.Query("SELECT id, aggregate, n FROM items ORDER BY aggregate, n")
	require.NoError(f.t, err)
	defer rows.Close()
	var out []item
	for rows.Next() {
		var it item
		require.NoError(f.t, rows.Scan(&it.ID, &it.Aggregate, &it.N))
		out = append(out, it)
	}
	return out
}

func (f *fixture) count(q string, args ...any) int {
	var n int
	require.NoError(f.t, f.db.DB.QueryRow(q, args...).Scan(&n))
	return n
}

// writeItem is a legacy write: the item row, the aggregate's counter (which serialises
// an aggregate's writes, as a real aggregate row does), and its event. fail makes the
// write fail after its statements.
func writeItem(id, agg string, fail bool) dualwrite.TxFunc {
	return func(ctx context.Context, tx *sql.Tx) ([]dualwrite.Event, error) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO counters (aggregate, n) VALUES (?, 1) ON DUPLICATE KEY UPDATE n = n + 1", agg); err != nil {
			return nil, err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT n FROM counters WHERE aggregate = ?", agg).Scan(&n); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO items (id, aggregate, n) VALUES (?, ?, ?)", id, agg, n); err != nil {
			return nil, err
		}
		if fail {
			return nil, fmt.Errorf("the legacy write of %s failed", id)
		}
		payload, _ := json.Marshal(map[string]any{"n": n})
		return []dualwrite.Event{{ID: id, Type: "ItemAdded", AggregateType: "item", AggregateID: agg, Payload: payload,
			Headers: map[string]string{"trace-id": "t-" + id}}}, nil
	}
}

// streamed is an event read back from the stream.
type streamed struct {
	ev    event.Event
	src   *event.Source
	pk    string
	ehk   string // the explicit hash key of an aggregated event
	shard string // the shard it was read from
}

// readAll reads everything on the fixture's stream, shard by shard, taking aggregated
// records apart as consumers do.
func (f *fixture) readAll() []streamed {
	out, _ := f.readAllRecords()
	return out
}

// readAllRecords is readAll, with the Kinesis records it read.
func (f *fixture) readAllRecords() ([]streamed, []testenv.StreamRecord) {
	recs := testenv.ReadStream(f.t, f.kc, f.stream, math.MaxInt32, 300*time.Millisecond)
	out := make([]streamed, 0, len(recs))
	for _, r := range recs {
		users, err := target.Deaggregate(r.PartitionKey, r.Data)
		require.NoError(f.t, err)
		for _, u := range users {
			ev, src, err := event.Unmarshal(u.Data)
			require.NoError(f.t, err, "%s", u.Data)
			require.Equal(f.t, ev.PartitionKey(), u.PartitionKey)
			out = append(out, streamed{ev: ev, src: src, pk: u.PartitionKey, ehk: u.ExplicitHashKey, shard: r.Shard})
		}
	}
	return out, recs
}

// verdict is what checkStream found.
type verdict struct {
	delivered   map[string]bool // committed writes found on the stream
	compensated map[string]bool // event ids with a compensation on the stream
	duplicates  int
}

// checkStream checks the invariant: the stream's events, deduplicated by id, are exactly
// the committed writes (apart from events compensated on the stream), each aggregate's in
// commit order (n), and every event on the stream whose write did not commit is
// compensated. Compensations undo by id wherever they are, as consumers must treat them.
func checkStream(t *testing.T, committed []item, evs []streamed) verdict {
	t.Helper()
	v := verdict{delivered: map[string]bool{}, compensated: map[string]bool{}}
	seen := map[string]bool{}
	var firsts []event.Event
	for _, s := range evs {
		if s.ev.Compensates != "" {
			require.Equal(t, event.CompensationType, s.ev.Type)
			require.Equal(t, event.CompensationID(s.ev.Compensates), s.ev.ID, "compensation ids derive from the event's")
			v.compensated[s.ev.Compensates] = true
			continue
		}
		if seen[s.ev.ID] {
			v.duplicates++
			continue
		}
		seen[s.ev.ID] = true
		firsts = append(firsts, s.ev)
	}
	byID := map[string]item{}
	for _, it := range committed {
		byID[it.ID] = it
		require.True(t, seen[it.ID], "committed write %s (%s #%d) is not on the stream", it.ID, it.Aggregate, it.N)
		require.False(t, v.compensated[it.ID], "committed write %s was compensated", it.ID)
		v.delivered[it.ID] = true
	}
	lastN := map[string]int{}
	for _, e := range firsts {
		it, ok := byID[e.ID]
		if !ok {
			require.True(t, v.compensated[e.ID], "event %s is on the stream, its write did not commit, and it has no compensation", e.ID)
			continue
		}
		require.Equal(t, it.Aggregate, e.AggregateID, "event %s", e.ID)
		var p struct{ N int }
		require.NoError(t, json.Unmarshal(e.Payload, &p))
		require.Equal(t, it.N, p.N, "event %s carries its write's n", e.ID)
		if prev, ok := lastN[it.Aggregate]; ok {
			require.Greater(t, it.N, prev, "aggregate %s: event %s (#%d) came after #%d", it.Aggregate, e.ID, it.N, prev)
		}
		lastN[it.Aggregate] = it.N
	}
	return v
}

// relaySink is the relay's Kinesis sink on the fixture's stream.
func (f *fixture) relaySink(endpoint string) func(sink.Acker) (sink.Sink, error) {
	c := kinesisClient(f.t, endpoint)
	return func(a sink.Acker) (sink.Sink, error) {
		return kinesissink.New(c, kinesissink.Options{Stream: f.stream, Linger: 5 * time.Millisecond, MaxRetryTime: time.Minute}, a, metrics.Discard(), testLogger(f.t))
	}
}

// startRelay runs an outbox relay until the returned stop is called.
func (f *fixture) startRelay(cfg outbox.RelayConfig) (stop func() error) {
	cfg.DB, cfg.TablePrefix = f.db.DB, prefix
	if cfg.NewSink == nil {
		cfg.NewSink = f.relaySink(f.endpoint)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(f.t)
	}
	r, err := outbox.NewRelay(cfg)
	require.NoError(f.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var err2 error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err2 = <-done:
			case <-time.After(30 * time.Second):
				err2 = fmt.Errorf("relay did not stop")
			}
		})
		return err2
	}
	f.t.Cleanup(func() { _ = stop() })
	return stop
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outboxRows counts rows left in the outbox.
func (f *fixture) outboxRows() int { return f.count("SELECT COUNT(*) FROM " + prefix + "outbox") }

// addrThrough returns the database's address with its host:port replaced by hostport
// (a proxy in front of the server).
func (f *fixture) addrThrough(hostport string) string {
	cfg, err := dburl.ParseMySQL(f.db.Addr)
	require.NoError(f.t, err)
	cfg.Addr = hostport
	return "mysql://" + cfg.FormatDSN()
}

func (f *fixture) serverAddr() string {
	cfg, err := dburl.ParseMySQL(f.db.Addr)
	require.NoError(f.t, err)
	return cfg.Addr
}

func openDB(t *testing.T, addr string) *sql.DB {
	return testenv.OpenMySQL(t, addr)
}

func ids(evs []streamed) []string {
	var out []string
	for _, s := range evs {
		out = append(out, s.ev.ID)
	}
	sort.Strings(out)
	return out
}

// gauge reads a gauge's value.
func gauge(t *testing.T, g prometheus.Gauge) float64 {
	var m dto.Metric
	require.NoError(t, g.Write(&m))
	return m.GetGauge().GetValue()
}

// errInvalidConn is the driver's error for a connection lost mid-command.
func errInvalidConn() error { return mysql.ErrInvalidConn }

// runDeadlock runs two writes that lock p and q in opposite orders and returns how many
// ended as deadlock victims.
func runDeadlock(t *testing.T, w *dualwrite.Writer) int {
	locked := make(chan struct{}, 2)
	proceed := make(chan struct{})
	write := func(first, second, id string) dualwrite.TxFunc {
		attempt := 0
		return func(ctx context.Context, tx *sql.Tx) ([]dualwrite.Event, error) {
			attempt++
			if _, err := tx.ExecContext(ctx, "UPDATE counters SET n = n + 1 WHERE aggregate = ?", first); err != nil {
				return nil, err
			}
			if attempt == 1 {
				locked <- struct{}{}
				<-proceed
			}
			if _, err := tx.ExecContext(ctx, "UPDATE counters SET n = n + 1 WHERE aggregate = ?", second); err != nil {
				return nil, err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO items VALUES (?, ?, 1)", id, id); err != nil {
				return nil, err
			}
			payload, _ := json.Marshal(map[string]int{"n": 1})
			return []dualwrite.Event{{ID: id, Type: "ItemAdded", AggregateType: "item", AggregateID: id, Payload: payload}}, nil
		}
	}
	results := make(chan error, 2)
	go func() { results <- w.Do(context.Background(), write("p", "q", "pq")) }()
	go func() { results <- w.Do(context.Background(), write("q", "p", "qp")) }()
	<-locked
	<-locked
	close(proceed)
	victims := 0
	for i := 0; i < 2; i++ {
		if err := <-results; err != nil {
			var me *mysql.MySQLError
			require.True(t, errors.As(err, &me) && me.Number == 1213, "want a deadlock, got %v", err)
			victims++
		}
	}
	return victims
}

// writeConcurrently runs writers goroutines of n writes each, item "g<writer>-<i>" on
// aggregate "a<(writer+i) % aggregates>"; the writes where fails(i) is true fail in the
// legacy write. It fails the test when a write's outcome is not the one planned.
func writeConcurrently(t *testing.T, w *dualwrite.Writer, writers, n, aggregates int, fails func(i int) bool) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers*n)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				err := w.Do(context.Background(), writeItem(id, fmt.Sprintf("a%d", (g+i)%aggregates), fails(i)))
				switch {
				case fails(i) && err == nil:
					errs <- fmt.Errorf("%s: the failing write returned no error", id)
				case !fails(i) && err != nil:
					errs <- fmt.Errorf("%s: %w", id, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
