package outbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strangler/strangler/cdc/sink"
	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/migrations"
)

// RelayConfig configures a Relay.
type RelayConfig struct {
	// DB is the legacy database holding the outbox table.
	DB *sql.DB
	// TablePrefix names the outbox table (<prefix>outbox); default "strangler_".
	TablePrefix string
	// NewSink makes the sink events go to, acknowledging to acker (the relay). A sink
	// keeps the order of records of one partition key (cdc/sink/kinesis does, with
	// retries), so one aggregate's events stay in order. Called at each leadership term.
	NewSink func(acker sink.Acker) (sink.Sink, error)
	// PollInterval is the pause between reads when the outbox is drained; default 200 ms.
	PollInterval time.Duration
	// Batch is the number of rows read at a time; default 500.
	Batch int
	// MaxInFlight bounds rows handed to the sink and not yet deleted; default 4 x Batch.
	MaxInFlight int
	// LeaseCheck is how often the relay checks it still holds the lease; default 1 s.
	LeaseCheck time.Duration
	// ShutdownTimeout bounds the wait for the sink to deliver what it holds when the
	// relay stops or loses the lease; default 30 s.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	Metrics         *RelayMetrics
}

// Relay publishes the outbox: it reads rows from the head of the table in seq order,
// hands them to the sink, and deletes the rows the sink acknowledged.
//
// Commit-order gaps: seqs are assigned at insert, before commit, so a row with a lower
// seq can become visible after a higher one. A relay that remembers "last seq seen"
// skips it forever (watermill #311). This one remembers nothing: every read starts at
// the head of the table, so a late row is read as soon as it is committed, and rows
// leave the table only once published.
//
// Order per aggregate: the events of one aggregate are written by transactions the
// legacy database serialised (they lock the aggregate's row, or Config.LockAggregates
// locks one for them), so their seqs follow their commit order and a later one is never
// visible before an earlier one. The relay reads in seq order and the sink keeps a
// partition key's records in order.
//
// Several relays: they compete for a named lock (GET_LOCK) per outbox table; one
// publishes, the others wait and take over when its session ends. Even two relays
// publishing at once (the lock lost to a network cut, not yet noticed) would only
// duplicate events: each publishes an aggregate's rows in order, and rows are deleted
// only once delivered, so the first copy of each event still comes in order.
//
// Delivery is at least once: a relay killed between the sink's acknowledgement and the
// delete publishes those rows again. Consumers deduplicate on the event id.
type Relay struct {
	cfg   RelayConfig
	log   *slog.Logger
	m     *RelayMetrics
	table string
	lock  string
	db    string // database name, for the events' source

	mu     sync.Mutex
	sent   map[uint64]sentRow // by sink seq
	acked  []uint64           // outbox seqs delivered, not yet deleted
	nextID uint64
}

type sentRow struct {
	seq uint64
	at  time.Time
}

// NewRelay checks the configuration.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.DB == nil || cfg.NewSink == nil {
		return nil, errors.New("outbox relay: a database and a sink are required")
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = migrations.DefaultPrefix
	}
	if err := migrations.ValidatePrefix(cfg.TablePrefix); err != nil {
		return nil, fmt.Errorf("outbox relay: %w", err)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.PollInterval, 200*time.Millisecond)
	def(&cfg.LeaseCheck, time.Second)
	def(&cfg.ShutdownTimeout, 30*time.Second)
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4 * cfg.Batch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = DiscardRelayMetrics()
	}
	r := &Relay{cfg: cfg, m: cfg.Metrics, table: Table(cfg.TablePrefix), sent: map[uint64]sentRow{}}
	r.log = cfg.Logger.With("component", "outbox-relay", "table", r.table)
	return r, nil
}

// lockName is the GET_LOCK name of an outbox table: at most 64 characters.
func lockName(db, table string) string {
	n := "strangler-outbox-relay:" + db + "." + table
	if len(n) > 64 {
		sum := sha256.Sum256([]byte(n))
		n = "strangler-outbox-relay:" + hex.EncodeToString(sum[:16])
	}
	return n
}

// errLeaseLost ends a leadership term; the relay goes back to waiting for the lease.
var errLeaseLost = errors.New("lost the outbox lease")

// Run publishes until ctx ends (nil) or the sink fails for good (its error). Database
// failures are retried: the relay loses the lease, waits, and takes it again.
func (r *Relay) Run(ctx context.Context) error {
	var dbName sql.NullString
	if err := r.cfg.DB.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil {
		return fmt.Errorf("outbox relay: connect: %w", err)
	}
	if !dbName.Valid || dbName.String == "" {
		return errors.New("outbox relay: the database address names no database: add the legacy database, e.g. mysql://user:pass@tcp(host:3306)/shop")
	}
	r.db = dbName.String
	r.lock = lockName(r.db, r.table)
	if _, err := r.cfg.DB.ExecContext(ctx, "SELECT 1 FROM `"+r.table+"` LIMIT 0"); err != nil {
		return fmt.Errorf("outbox relay: table %s.%s: %w (create it with `strangler migrate up`)", r.db, r.table, err)
	}
	backoff := r.cfg.PollInterval
	for {
		conn, err := r.acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.m.Errors.WithLabelValues("lease").Inc()
			r.log.Warn("cannot take the outbox lease; retrying", "error", err, "in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = r.cfg.PollInterval
		r.m.Leader.Set(1)
		r.log.Info("publishing the outbox (lease taken)", "lock", r.lock)
		err = r.lead(ctx, conn)
		r.m.Leader.Set(0)
		r.release(conn)
		switch {
		case ctx.Err() != nil:
			r.log.Info("stopped")
			return nil
		case errors.Is(err, errLeaseLost):
			r.log.Warn("lost the outbox lease; waiting to take it again", "error", err)
		default:
			return err
		}
	}
}

// acquire blocks until this relay holds the table's lock, on a connection of its own
// (the lock lives as long as its session).
func (r *Relay) acquire(ctx context.Context) (*sql.Conn, error) {
	waiting := false
	for {
		conn, err := r.cfg.DB.Conn(ctx)
		if err != nil {
			return nil, err
		}
		var got sql.NullInt64
		err = conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 1)", r.lock).Scan(&got)
		if err == nil && got.Valid && got.Int64 == 1 {
			return conn, nil
		}
		conn.Close()
		if err != nil {
			return nil, fmt.Errorf("GET_LOCK(%s): %w", r.lock, err)
		}
		if !waiting {
			r.log.Info("another relay holds the outbox lease; standing by", "lock", r.lock)
			waiting = true
		}
		if !sleep(ctx, r.cfg.PollInterval) {
			return nil, ctx.Err()
		}
	}
}

func (r *Relay) release(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", r.lock)
	_ = conn.Close()
}

// holds reports whether the lock connection still holds the lock.
func (r *Relay) holds(ctx context.Context, conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var mine sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", r.lock).Scan(&mine); err != nil {
		return fmt.Errorf("%w: %v", errLeaseLost, err)
	}
	if !mine.Valid || mine.Int64 != 1 {
		return fmt.Errorf("%w: lock %s is no longer this session's", errLeaseLost, r.lock)
	}
	return nil
}

// Ack is called by the sink for each delivered record.
func (r *Relay) Ack(seq uint64) {
	r.mu.Lock()
	s, ok := r.sent[seq]
	if ok {
		delete(r.sent, seq)
		r.acked = append(r.acked, s.seq)
	}
	r.mu.Unlock()
	if ok {
		r.m.Published.Inc()
		r.m.PublishSeconds.Observe(time.Since(s.at).Seconds())
	}
}

// lead is one leadership term: publish until ctx ends, the lease is lost or the sink fails.
func (r *Relay) lead(ctx context.Context, lockConn *sql.Conn) error {
	snk, err := r.cfg.NewSink(r)
	if err != nil {
		return fmt.Errorf("outbox relay: sink: %w", err)
	}
	r.mu.Lock()
	r.sent = map[uint64]sentRow{}
	r.acked = nil
	r.mu.Unlock()
	inflight := map[uint64]bool{} // outbox seqs handed to the sink and not yet deleted

	// The sink outlives ctx so that what was handed over is delivered on a clean stop.
	sinkCtx, stopSink := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSink()
	sinkDone := make(chan error, 1)
	go func() { sinkDone <- snk.Run(sinkCtx) }()

	drain := func(cause error) error {
		snk.Close()
		var sinkErr error
		select {
		case sinkErr = <-sinkDone:
		case <-time.After(r.cfg.ShutdownTimeout):
			sinkErr = fmt.Errorf("the sink did not deliver %d held events within %s; they stay in the outbox and are sent again", len(inflight), r.cfg.ShutdownTimeout)
		}
		stopSink()
		r.deleteAcked(context.WithoutCancel(ctx), inflight)
		if cause == nil && sinkErr != nil && !errors.Is(sinkErr, context.Canceled) {
			return fmt.Errorf("outbox relay: sink: %w", sinkErr)
		}
		return cause
	}

	lastCheck := time.Now()
	for {
		if ctx.Err() != nil {
			return drain(nil)
		}
		select {
		case err := <-sinkDone:
			stopSink()
			r.deleteAcked(context.WithoutCancel(ctx), inflight)
			if err == nil {
				err = errors.New("the sink stopped")
			}
			r.m.Errors.WithLabelValues("sink").Inc()
			return fmt.Errorf("outbox relay: sink: %w", err)
		default:
		}
		r.deleteAcked(ctx, inflight)
		if time.Since(lastCheck) >= r.cfg.LeaseCheck {
			if err := r.holds(ctx, lockConn); err != nil {
				r.m.Errors.WithLabelValues("lease").Inc()
				return drain(err)
			}
			lastCheck = time.Now()
		}
		wait := r.cfg.PollInterval
		if len(inflight) < r.cfg.MaxInFlight {
			n, err := r.poll(ctx, snk, inflight)
			switch {
			case err != nil && ctx.Err() != nil:
				return drain(nil)
			case err != nil:
				r.m.Errors.WithLabelValues("poll").Inc()
				r.log.Warn("reading the outbox failed; retrying", "error", err)
			case n >= r.cfg.Batch:
				wait = 0 // more to read
			}
		} else {
			wait = 10 * time.Millisecond // wait for acknowledgements
		}
		r.m.InFlight.Set(float64(len(inflight)))
		if wait > 0 && !sleep(ctx, wait) {
			return drain(nil)
		}
	}
}

// poll reads rows from the head of the outbox and hands the ones not in flight to the
// sink, in seq order. It returns how many it handed over.
func (r *Relay) poll(ctx context.Context, snk sink.Sink, inflight map[uint64]bool) (int, error) {
	r.m.Polls.Inc()
	limit := len(inflight) + r.cfg.Batch
	rows, err := r.cfg.DB.QueryContext(ctx, "SELECT `seq`, `id`, `aggregate_type`, `aggregate_id`, `type`, `payload`, `headers`, `sequence`, `occurred_at` FROM `"+
		r.table+"` ORDER BY `seq` LIMIT "+strconv.Itoa(limit))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", r.table, err)
	}
	defer rows.Close()
	type row struct {
		seq uint64
		ev  event.Event
	}
	var batch []row
	var oldest time.Time
	for rows.Next() {
		var (
			rw       row
			headers  sql.NullString
			sequence sql.NullInt64
			occurred flexTime
			payload  string
		)
		if err := rows.Scan(&rw.seq, &rw.ev.ID, &rw.ev.AggregateType, &rw.ev.AggregateID, &rw.ev.Type, &payload, &headers, &sequence, &occurred); err != nil {
			return 0, fmt.Errorf("read %s: %w", r.table, err)
		}
		if oldest.IsZero() || occurred.t.Before(oldest) {
			oldest = occurred.t
		}
		if inflight[rw.seq] {
			continue
		}
		rw.ev.Payload = []byte(payload)
		rw.ev.OccurredAt = occurred.t
		if sequence.Valid {
			rw.ev.Sequence = uint64(sequence.Int64)
		}
		if rw.ev.Headers, err = event.ParseHeaders(headers.String); err != nil {
			return 0, fmt.Errorf("outbox row %d (event %s): %w", rw.seq, rw.ev.ID, err)
		}
		batch = append(batch, rw)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", r.table, err)
	}
	if oldest.IsZero() {
		r.m.LagSeconds.Set(0)
	} else {
		r.m.LagSeconds.Set(max(0, time.Since(oldest).Seconds()))
	}
	for i := range batch {
		rw := &batch[i]
		data, err := event.Marshal(&rw.ev, &event.Source{Via: event.ViaRelay, DB: r.db, Table: r.table, OutboxSeq: rw.seq})
		if err != nil {
			return i, fmt.Errorf("outbox row %d: %w", rw.seq, err)
		}
		r.mu.Lock()
		r.nextID++
		id := r.nextID
		r.sent[id] = sentRow{seq: rw.seq, at: time.Now()}
		r.mu.Unlock()
		rec := &sink.Record{
			Seq: id, PartitionKey: rw.ev.PartitionKey(), Data: data,
			DB: r.db, Table: r.table, Op: "c", Key: strconv.FormatUint(rw.seq, 10), ID: rw.ev.ID,
		}
		if err := snk.Put(ctx, rec); err != nil {
			r.mu.Lock()
			delete(r.sent, id)
			r.mu.Unlock()
			return i, fmt.Errorf("hand event %s to the sink: %w", rw.ev.ID, err)
		}
		inflight[rw.seq] = true
	}
	return len(batch), nil
}

// deleteAcked deletes the rows the sink delivered. A failed delete is retried at the next
// turn; the rows stay in flight meanwhile so they are not sent again.
func (r *Relay) deleteAcked(ctx context.Context, inflight map[uint64]bool) {
	r.mu.Lock()
	acked := r.acked
	r.acked = nil
	r.mu.Unlock()
	for len(acked) > 0 {
		n := min(len(acked), 1000)
		chunk := acked[:n]
		args := make([]any, n)
		for i, s := range chunk {
			args[i] = s
		}
		q := "DELETE FROM `" + r.table + "` WHERE `seq` IN (?" + strings.Repeat(", ?", n-1) + ")"
		// Not cut short by the relay's stop: a delete that ran but reports cancellation
		// would only be retried.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_, err := r.cfg.DB.ExecContext(dctx, q, args...)
		cancel()
		if err != nil {
			r.m.Errors.WithLabelValues("delete").Inc()
			r.log.Warn("deleting published rows failed; retrying", "rows", n, "error", err)
			r.mu.Lock()
			r.acked = append(acked, r.acked...)
			r.mu.Unlock()
			return
		}
		for _, s := range chunk {
			delete(inflight, s)
		}
		r.m.Deleted.Add(float64(n))
		acked = acked[n:]
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// flexTime scans a DATETIME whether the connection parses times (parseTime=true) or not.
type flexTime struct{ t time.Time }

func (f *flexTime) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		f.t = x.UTC()
		return nil
	case []byte:
		return f.parse(string(x))
	case string:
		return f.parse(x)
	case nil:
		f.t = time.Time{}
		return nil
	}
	return fmt.Errorf("occurred_at: cannot scan %T", v)
}

func (f *flexTime) parse(s string) error {
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
	if err != nil {
		return fmt.Errorf("occurred_at %q: %w", s, err)
	}
	f.t = t
	return nil
}
