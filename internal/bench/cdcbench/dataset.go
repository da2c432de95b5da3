package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/internal/dburl"
)

const benchDB = "bench_cdc"

// The tables of the benchmark: one shape, eight columns of the usual kinds.
const (
	tableBatched = "orders_batched" // filled in transactions of txRows rows
	tableOneTx   = "orders_one_tx"  // filled in one transaction
	tableLatency = "orders_latency" // single-row transactions at a fixed rate
	tableFence   = "fence"          // tiny transactions that end a range (see markEnd)
)

const tableShape = `(
  id        BIGINT NOT NULL PRIMARY KEY,
  qty       INT NOT NULL,
  customer  VARCHAR(64) NOT NULL,
  amount    DECIMAL(10,2) NOT NULL,
  placed_at DATETIME(3) NOT NULL,
  note      TEXT,
  flag      TINYINT NOT NULL,
  status    ENUM('new','paid','shipped','cancelled') NOT NULL
) ENGINE=InnoDB`

// rowValues are the column values of row `seq`, for INSERT ... SELECT from the sequence
// engine; the note is 100 bytes.
const rowValues = `seq, seq MOD 1000, CONCAT('customer-', seq), (seq MOD 100000) / 100,
  TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq MOD 1000) * 1000 MICROSECOND,
  RPAD(CONCAT('note ', seq, ': '), 100, 'lorem ipsum dolor sit amet '), seq MOD 2,
  ELT(1 + seq MOD 4, 'new', 'paid', 'shipped', 'cancelled')`

// dataset is what was written and where it lies in the binlog.
type dataset struct {
	Rows, TxRows int
	// Batched: rows 1..Rows in transactions of TxRows, from BatchedStart to BatchedEnd;
	// TxEnds[i] is the head after transaction i (a boundary).
	BatchedStart, BatchedEnd binlog.Position
	TxEnds                   []binlog.Position
	BatchedBytes             int64
	BatchedLoad              time.Duration
	// OneTx: Rows rows in one transaction.
	OneTxStart, OneTxEnd binlog.Position
	OneTxBytes           int64
	OneTxLoad            time.Duration
	// Rows events of other users of the stack inside each range, and their bytes.
	BatchedForeign, OneTxForeign           int64
	BatchedForeignBytes, OneTxForeignBytes int64
	Loads                                  int // load attempts, contaminated ones included
}

// openDB opens the source address (mysql://...) with database db ("" for none).
func openDB(addr, db string) (*sql.DB, error) {
	c, err := dburl.ParseMySQL(addr)
	if err != nil {
		return nil, err
	}
	c.DBName = db
	c.MultiStatements = false
	conn, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dburl.Redact(addr), err)
	}
	conn.SetMaxOpenConns(4)
	return conn, nil
}

// head is the source's current binlog position (SHOW MASTER STATUS): always a boundary
// between transactions.
func head(ctx context.Context, db *sql.DB) (binlog.Position, error) {
	rows, err := db.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		return binlog.Position{}, fmt.Errorf("SHOW MASTER STATUS: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return binlog.Position{}, err
	}
	if !rows.Next() {
		return binlog.Position{}, fmt.Errorf("SHOW MASTER STATUS returned nothing: the source's binlog is off (start it with scripts/devstack.sh up)")
	}
	var p binlog.Position
	dest := make([]any, len(cols))
	dest[0], dest[1] = &p.File, &p.Pos
	for i := 2; i < len(cols); i++ {
		dest[i] = new(sql.RawBytes)
	}
	if err := rows.Scan(dest...); err != nil {
		return binlog.Position{}, fmt.Errorf("SHOW MASTER STATUS: %w", err)
	}
	return p, rows.Err()
}

func execAll(ctx context.Context, db *sql.DB, stmts ...string) error {
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%.80s: %w", s, err)
		}
	}
	return nil
}

// createSchema makes the benchmark's database afresh.
func createSchema(ctx context.Context, root *sql.DB) error {
	stmts := []string{
		"DROP DATABASE IF EXISTS " + benchDB,
		"CREATE DATABASE " + benchDB + " CHARACTER SET utf8mb4",
	}
	for _, t := range []string{tableBatched, tableOneTx, tableLatency} {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s.%s %s", benchDB, t, tableShape))
	}
	stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s.%s (id BIGINT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL)", benchDB, tableFence))
	return execAll(ctx, root, stmts...)
}

// commitAndMark runs write (one transaction) and returns a position just after it where
// a transaction ends, fit for --stop-at: the daemon stops when a transaction ending at or
// after the position is delivered. SHOW MASTER STATUS right after a commit is such a
// position, unless the commit rotated the binlog (the file passed max_binlog_size): the
// head is then at the start of a new file, and a daemon told to stop there would wait for
// the next transaction anyone writes. A fence transaction (a row of another table, which
// the bench's filters leave out) then ends the range in the new file.
func commitAndMark(ctx context.Context, root *sql.DB, write func() error) (binlog.Position, error) {
	before, err := head(ctx, root)
	if err != nil {
		return binlog.Position{}, err
	}
	if err := write(); err != nil {
		return binlog.Position{}, err
	}
	after, err := head(ctx, root)
	if err != nil {
		return binlog.Position{}, err
	}
	for tries := 0; after.File != before.File; tries++ {
		if tries == 5 {
			return binlog.Position{}, fmt.Errorf("the binlog rotated under each of 5 fence transactions (%s): is something flushing the logs in a loop?", after)
		}
		before = after
		if _, err := root.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s.%s (at) VALUES (NOW(6))", benchDB, tableFence)); err != nil {
			return binlog.Position{}, fmt.Errorf("fence transaction: %w", err)
		}
		if after, err = head(ctx, root); err != nil {
			return binlog.Position{}, err
		}
	}
	return after, nil
}

// rowMetadataLock is the named lock the test helpers hold while they switch the
// server-wide binlog_row_metadata to MINIMAL (internal/testenv/binlogmeta.go): holding it
// keeps the bench's table maps FULL, as the raw decode (a') needs.
const rowMetadataLock = "strangler_binlog_metadata"

// withFullRowMetadata runs write under the lock, once binlog_row_metadata is FULL.
func withFullRowMetadata(ctx context.Context, root *sql.DB, write func() error) error {
	conn, err := root.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", rowMetadataLock).Scan(&got); err != nil {
		return fmt.Errorf("GET_LOCK(%s): %w", rowMetadataLock, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("GET_LOCK(%s) timed out after 60 s: a test holds it; run the bench again", rowMetadataLock)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", rowMetadataLock) //nolint:errcheck // closing the session releases it too
	var md string
	if err := conn.QueryRowContext(ctx, "SELECT @@GLOBAL.binlog_row_metadata").Scan(&md); err != nil {
		return fmt.Errorf("read binlog_row_metadata: %w", err)
	}
	if md != "FULL" {
		return fmt.Errorf("binlog_row_metadata is %s on the source, not FULL (the stack starts it with FULL; something left it changed): SET GLOBAL binlog_row_metadata='FULL'", md)
	}
	return write()
}

// loadBatched writes rows 1..Rows into the batched table in transactions of TxRows rows
// and records the range. The binlog is rotated first so that the daemon, which replays a
// GTID source's file from its head to learn the GTID set at --start, has only a few
// header events to skip.
func loadBatched(ctx context.Context, root, db *sql.DB, ds *dataset, progress func(string, ...any)) error {
	if err := execAll(ctx, root, "TRUNCATE TABLE "+benchDB+"."+tableBatched, "FLUSH BINARY LOGS"); err != nil {
		return err
	}
	var err error
	if ds.BatchedStart, err = head(ctx, root); err != nil {
		return err
	}
	ds.TxEnds = ds.TxEnds[:0]
	started := time.Now()
	for first := 1; first <= ds.Rows; first += ds.TxRows {
		last := min(first+ds.TxRows-1, ds.Rows)
		p, err := commitAndMark(ctx, root, func() error {
			return withFullRowMetadata(ctx, root, func() error {
				q := fmt.Sprintf("INSERT INTO %s SELECT %s FROM seq_%d_to_%d", tableBatched, rowValues, first, last)
				if _, err := db.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("load rows %d-%d into %s.%s: %w", first, last, benchDB, tableBatched, err)
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		ds.TxEnds = append(ds.TxEnds, p)
		if len(ds.TxEnds)%20 == 0 {
			progress("loaded %d rows in %d transactions", last, len(ds.TxEnds))
		}
	}
	ds.BatchedLoad = time.Since(started)
	ds.BatchedEnd = ds.TxEnds[len(ds.TxEnds)-1]
	logs, err := binlog.BinaryLogs(ctx, root)
	if err != nil {
		return err
	}
	ds.BatchedBytes = binlog.BytesBetween(logs, ds.BatchedStart, ds.BatchedEnd)
	return nil
}

// loadOneTx writes rows 1..Rows into the one-transaction table in a single transaction.
func loadOneTx(ctx context.Context, root, db *sql.DB, ds *dataset) error {
	if err := execAll(ctx, root, "TRUNCATE TABLE "+benchDB+"."+tableOneTx, "FLUSH BINARY LOGS"); err != nil {
		return err
	}
	var err error
	if ds.OneTxStart, err = head(ctx, root); err != nil {
		return err
	}
	started := time.Now()
	ds.OneTxEnd, err = commitAndMark(ctx, root, func() error {
		return withFullRowMetadata(ctx, root, func() error {
			q := fmt.Sprintf("INSERT INTO %s SELECT %s FROM seq_1_to_%d", tableOneTx, rowValues, ds.Rows)
			if _, err := db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("load %d rows in one transaction into %s.%s: %w", ds.Rows, benchDB, tableOneTx, err)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	ds.OneTxLoad = time.Since(started)
	logs, err := binlog.BinaryLogs(ctx, root)
	if err != nil {
		return err
	}
	ds.OneTxBytes = binlog.BytesBetween(logs, ds.OneTxStart, ds.OneTxEnd)
	return nil
}
