// Package outbox is dualwrite's transactional outbox: the Inserter writes a unit's events
// into the outbox table inside the legacy transaction, and the Relay publishes them from
// there (for sources whose binlog the CDC daemon cannot read). With the CDC daemon, the
// rows are deleted in the same transaction and cdc/outbox routes them from the binlog.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/migrations"
)

// Delivery says who takes the events out of the outbox.
type Delivery string

const (
	// DeliveryRelay leaves the rows for `strangler outbox relay`, which publishes them in
	// order and deletes them. It needs nothing but SQL access. The default.
	DeliveryRelay Delivery = "relay"
	// DeliveryCDC deletes each row in the same transaction that inserts it: the table
	// stays empty and the CDC daemon (`strangler cdc run --outbox db.table`) emits the
	// insert it reads from the binlog as the event. One more statement per transaction.
	DeliveryCDC Delivery = "cdc"
)

// Columns of the outbox table, in insert order (migrations/mysql/00010_dualwrite_outbox.sql).
const insertColumns = "`id`, `aggregate_type`, `aggregate_id`, `type`, `payload`, `headers`, `sequence`, `occurred_at`"

const (
	rowPlaceholders = "(?, ?, ?, ?, ?, ?, ?, ?)"
	argsPerRow      = 8
	maxPrepared     = 4 // units of up to this many events use prepared statements
)

// Execer runs a statement: *sql.Tx, *sql.Conn and *sql.DB have it, and so do ORMs'
// connection pools.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Table returns the outbox table's name for a table prefix.
func Table(prefix string) string { return prefix + "outbox" }

// Inserter writes events into the outbox table. It is safe for concurrent use.
type Inserter struct {
	db          *sql.DB
	table       string
	delivery    Delivery
	consecutive bool // multi-row inserts get consecutive seqs (innodb_autoinc_lock_mode < 2)

	mu      sync.Mutex
	inserts [maxPrepared + 1]*sql.Stmt
	deletes [maxPrepared + 1]*sql.Stmt
}

// NewInserter checks that the outbox table exists in db (the legacy database: the events
// must be written in the legacy write's transaction) and prepares the inserter.
func NewInserter(ctx context.Context, db *sql.DB, prefix string, delivery Delivery) (*Inserter, error) {
	if err := migrations.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	switch delivery {
	case "":
		delivery = DeliveryRelay
	case DeliveryRelay, DeliveryCDC:
	default:
		return nil, fmt.Errorf("outbox delivery %q: use %q (strangler outbox relay) or %q (the CDC daemon with --outbox)", delivery, DeliveryRelay, DeliveryCDC)
	}
	in := &Inserter{db: db, table: Table(prefix), delivery: delivery, consecutive: true}
	if _, err := db.ExecContext(ctx, "SELECT 1 FROM `"+in.table+"` LIMIT 0"); err != nil {
		return nil, fmt.Errorf("outbox table %s: %w (create it in the legacy database with `strangler migrate up --db ... --table-prefix %s`)", in.table, err, prefix)
	}
	if delivery == DeliveryCDC {
		var mode sql.NullInt64
		if err := db.QueryRowContext(ctx, "SELECT @@innodb_autoinc_lock_mode").Scan(&mode); err == nil {
			in.consecutive = mode.Valid && mode.Int64 < 2
		} else {
			in.consecutive = false
		}
	}
	return in, nil
}

// TableName is the outbox table written to.
func (in *Inserter) TableName() string { return in.table }

// Delivery is how the rows leave the outbox.
func (in *Inserter) Delivery() Delivery { return in.delivery }

// Insert writes evs (normalized) into the outbox through tx, which must be the legacy
// write's transaction. With DeliveryCDC the rows are deleted again in tx.
func (in *Inserter) Insert(ctx context.Context, tx Execer, evs []event.Event) error {
	return in.insert(ctx, tx, nil, evs)
}

// InsertTx is Insert for a transaction of the inserter's own *sql.DB: it uses prepared
// statements, one round trip per statement instead of two.
func (in *Inserter) InsertTx(ctx context.Context, tx *sql.Tx, evs []event.Event) error {
	return in.insert(ctx, tx, tx, evs)
}

func (in *Inserter) insert(ctx context.Context, ex Execer, tx *sql.Tx, evs []event.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if in.delivery == DeliveryCDC && !in.consecutive && len(evs) > 1 {
		// Interleaved auto-increment: a multi-row insert's seqs may not be consecutive,
		// so insert one by one to know each row's seq.
		for i := range evs {
			if err := in.insert(ctx, ex, tx, evs[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	args := make([]any, 0, argsPerRow*len(evs))
	for i := range evs {
		e := &evs[i]
		headers, err := event.HeadersJSON(e.Headers)
		if err != nil {
			return fmt.Errorf("outbox: event %s: %w", e.ID, err)
		}
		var seq any
		if e.Sequence > 0 {
			seq = e.Sequence
		}
		payload := "null"
		if len(e.Payload) > 0 {
			payload = string(e.Payload)
		}
		args = append(args, e.ID, e.AggregateType, e.AggregateID, e.Type, payload, headers, seq,
			e.OccurredAt.UTC().Format("2006-01-02 15:04:05.999999"))
	}
	res, err := in.exec(ctx, ex, tx, false, len(evs), args)
	if err != nil {
		return fmt.Errorf("outbox: insert %d event(s) into %s: %w", len(evs), in.table, err)
	}
	if in.delivery != DeliveryCDC {
		return nil
	}
	first, err := res.LastInsertId()
	if err != nil || first <= 0 {
		return fmt.Errorf("outbox: insert into %s returned no seq (%v): is seq AUTO_INCREMENT?", in.table, err)
	}
	ids := make([]any, len(evs))
	for i := range ids {
		ids[i] = first + int64(i)
	}
	res, err = in.exec(ctx, ex, tx, true, len(evs), ids)
	if err != nil {
		return fmt.Errorf("outbox: delete the %d row(s) just inserted into %s (CDC delivery): %w", len(evs), in.table, err)
	}
	if n, err := res.RowsAffected(); err == nil && n != int64(len(evs)) {
		return fmt.Errorf("outbox: deleted %d of the %d rows just inserted into %s: their seqs were not consecutive", n, len(evs), in.table)
	}
	return nil
}

// exec runs the insert (or the CDC delete) of n rows, prepared when it can.
func (in *Inserter) exec(ctx context.Context, ex Execer, tx *sql.Tx, del bool, n int, args []any) (sql.Result, error) {
	query := in.query(del, n)
	if tx == nil || n > maxPrepared {
		return ex.ExecContext(ctx, query, args...)
	}
	st, err := in.stmt(ctx, del, n, query)
	if err != nil {
		return ex.ExecContext(ctx, query, args...)
	}
	res, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	if err != nil && strings.Contains(err.Error(), "statement from different database") {
		return ex.ExecContext(ctx, query, args...)
	}
	return res, err
}

func (in *Inserter) query(del bool, n int) string {
	var b strings.Builder
	if del {
		b.WriteString("DELETE FROM `" + in.table + "` WHERE `seq` IN (")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
		return b.String()
	}
	b.WriteString("INSERT INTO `" + in.table + "` (" + insertColumns + ") VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(rowPlaceholders)
	}
	return b.String()
}

func (in *Inserter) stmt(ctx context.Context, del bool, n int, query string) (*sql.Stmt, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	slot := &in.inserts[n]
	if del {
		slot = &in.deletes[n]
	}
	if *slot != nil {
		return *slot, nil
	}
	st, err := in.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	*slot = st
	return st, nil
}

// Close releases the prepared statements.
func (in *Inserter) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	var errs []error
	for _, set := range [][]*sql.Stmt{in.inserts[:], in.deletes[:]} {
		for i, st := range set {
			if st != nil {
				errs = append(errs, st.Close())
				set[i] = nil
			}
		}
	}
	return errors.Join(errs...)
}
