// Package decoder turns binlog events into change events. It follows transactions
// (ids, order), applies DDL to the schema history so that every row is decoded with the
// columns of its time, filters tables, and says after each item where the stream could
// resume. Values are converted column by column by a Layout built once per table map.
package decoder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/event"
	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/schema"
)

// Item is what the decoder hands on, in binlog order: a change, or a marker that only
// moves the resume point (the end of a transaction, a DDL statement).
type Item struct {
	Change *event.Change // nil for a marker
	// Resume is where the stream picks up once this item and all before it are delivered.
	Resume binlog.Resume
	// Catalog is the schema history at Resume.
	Catalog *schema.Catalog
	// EventTime is the commit time of the binlog event.
	EventTime time.Time
}

// Filter decides which tables are streamed.
type Filter interface {
	Match(db, table string) bool
}

// Options configure a Decoder.
type Options struct {
	Connector string // "mysql" or "mariadb", in source.connector
	Filter    Filter
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	Now       func() time.Time // for the lag metric; time.Now by default
}

// Decoder is the decode stage. It is not safe for concurrent use: one goroutine feeds it
// events in binlog order.
type Decoder struct {
	opts    Options
	log     *slog.Logger
	m       *metrics.Metrics
	catalog *schema.Catalog
	// lostTrack is set when a DDL statement could not be read at all, not even which
	// tables it touched: from then on no table's history can be trusted. (Statements whose
	// tables are known mark those tables Unknown in the catalog, which the checkpoint keeps.)
	lostTrack error
	layouts   map[uint64]*layoutEntry

	// The transaction being decoded.
	tx          *binlog.Tx
	rowIndex    int64 // row changes of the transaction so far, streamed or not
	totalOrder  int64 // events emitted for the transaction
	tableOrder  map[string]int64
	skip        int64 // row changes at the start of the first transaction already delivered
	skipPending bool
}

type layoutEntry struct {
	tm      *replication.TableMapEvent
	catalog *schema.Catalog
	layout  *Layout
	match   bool
	events  [3]prometheus.Counter // c, u, d
}

// New returns a decoder starting at resume with the schema history catalog.
func New(catalog *schema.Catalog, resume binlog.Resume, opts Options) *Decoder {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.Discard()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if catalog == nil {
		catalog = schema.NewCatalog()
	}
	return &Decoder{
		opts:        opts,
		log:         opts.Logger.With("component", "decoder"),
		m:           opts.Metrics,
		catalog:     catalog,
		layouts:     map[uint64]*layoutEntry{},
		tableOrder:  map[string]int64{},
		skip:        resume.Skip,
		skipPending: resume.Skip > 0,
	}
}

// Catalog returns the current schema history.
func (d *Decoder) Catalog() *schema.Catalog { return d.catalog }

// Decode turns one binlog event into items, handed to emit in order.
func (d *Decoder) Decode(ev *binlog.Event, emit func(Item) error) error {
	h := ev.Header
	if ev.Heartbeat {
		d.m.SourceLagSeconds.Set(0)
		return nil
	}
	if h.Timestamp > 0 {
		lag := d.opts.Now().Sub(time.Unix(int64(h.Timestamp), 0)).Seconds()
		d.m.SourceLagSeconds.Set(max(lag, 0))
	}
	// Transactions are told apart by id: after a reconnection the reader hands out the
	// rest of the same transaction under a new Tx value.
	if ev.Tx != nil && (d.tx == nil || ev.Tx.ID != d.tx.ID) {
		d.beginTx(ev.Tx)
	}
	eventTime := time.Unix(int64(h.Timestamp), 0).UTC()

	switch e := ev.Event.(type) {
	case *replication.RowsEvent:
		if err := d.rows(ev, e, eventTime, emit); err != nil {
			return err
		}
	case *replication.QueryEvent:
		if err := d.query(ev, e); err != nil {
			return err
		}
	}

	if ev.End != nil {
		d.m.Transactions.Inc()
		item := Item{Resume: binlog.Resume{Position: *ev.End}, Catalog: d.catalog, EventTime: eventTime}
		d.tx = nil
		d.skipPending = false
		return emit(item)
	}
	return nil
}

func (d *Decoder) beginTx(tx *binlog.Tx) {
	if d.tx != nil {
		// A transaction started before the previous one ended: the previous one was cut
		// short (a server crash mid-transaction leaves no COMMIT). Its rows stay as sent.
		d.log.Warn("transaction ended without a commit event", "txn", d.tx.ID)
		d.skipPending = false
	}
	d.tx = tx
	d.rowIndex, d.totalOrder = 0, 0
	clear(d.tableOrder)
}

// query applies DDL to the schema history.
func (d *Decoder) query(ev *binlog.Event, q *replication.QueryEvent) error {
	next, applied, err := d.catalog.Apply(string(q.Schema), string(q.Query))
	if err != nil {
		var de *schema.DDLError
		if !errors.As(err, &de) {
			return fmt.Errorf("binlog %s:%d: apply DDL to schema history: %w", ev.File, ev.Pos, err)
		}
		if len(de.Tables) > 0 && !d.anyTracked(de.Tables...) {
			return nil // only databases the daemon does not stream
		}
		// Not fatal now: tables whose rows come with column names in the binlog decode
		// fine. A table that then needs the history fails loudly in layout().
		if len(de.Tables) > 0 {
			d.catalog = d.catalog.MarkUnknown(de.Tables, fmt.Sprintf("at %s:%d: %v", ev.File, ev.Pos, de.Err))
			clear(d.layouts)
		} else {
			d.lostTrack = fmt.Errorf("at %s:%d: %w", ev.File, ev.Pos, err)
		}
		d.log.Warn("DDL not understood by the schema history", "file", ev.File, "pos", ev.Pos, "db", string(q.Schema), "statement", truncate(string(q.Query), 500), "error", err)
		return nil
	}
	if applied == nil {
		return nil
	}
	var names []schema.TableName
	for _, t := range applied.Tables {
		names = append(names, t.Table)
		if t.NewName != nil {
			names = append(names, *t.NewName)
		}
	}
	for _, db := range applied.Databases {
		names = append(names, schema.TableName{DB: db})
	}
	if len(names) > 0 && !d.anyTracked(names...) {
		// The daemon keeps the history of the databases it streams only: those are the
		// ones loaded at its start.
		return nil
	}
	d.catalog = next
	clear(d.layouts)
	for _, t := range applied.Tables {
		d.m.DDL.WithLabelValues(t.Table.DB).Inc()
	}
	d.log.Info("schema history updated", "file", ev.File, "pos", ev.Pos, "db", string(q.Schema), "statement", truncate(string(q.Query), 500))
	for _, c := range applied.Conflicts {
		// The statement succeeded on the source, so it is right and the history was not.
		d.log.Warn("schema history was out of step with the binlog; corrected", "file", ev.File, "pos", ev.Pos, "detail", c)
	}
	return nil
}

// anyTracked reports whether any of the tables is in a database the filter streams.
func (d *Decoder) anyTracked(names ...schema.TableName) bool {
	dbf, ok := d.opts.Filter.(interface{ MatchDB(string) bool })
	if !ok {
		return true
	}
	for _, n := range names {
		if dbf.MatchDB(n.DB) {
			return true
		}
	}
	return false
}

// layout returns how rows of the event's table decode, building it when the table map
// or the schema history changed.
func (d *Decoder) layout(ev *binlog.Event, tm *replication.TableMapEvent) (*layoutEntry, error) {
	le := d.layouts[tm.TableID]
	if le != nil && le.catalog == d.catalog && sameTableMap(le.tm, tm) {
		return le, nil
	}
	db, name := string(tm.Schema), string(tm.Table)
	le = &layoutEntry{tm: tm, catalog: d.catalog, match: d.opts.Filter == nil || d.opts.Filter.Match(db, name)}
	if le.match {
		t := d.catalog.Table(db, name)
		if t != nil && t.Unknown != "" {
			if tm.ColumnName == nil {
				return nil, fmt.Errorf("binlog %s:%d: rows of %s.%s carry no column names (binlog_row_metadata is not FULL) and the schema history lost track of the table (%s): set binlog_row_metadata=FULL on the source, or restart from a position after the table's last DDL with a fresh schema (--reset-checkpoint --start)", ev.File, ev.Pos, db, name, t.Unknown)
			}
			t = nil // the binlog's own names decode it; the lost definition gives no hints
		}
		if tm.ColumnName == nil && d.lostTrack != nil {
			return nil, fmt.Errorf("binlog %s:%d: rows of %s.%s carry no column names (binlog_row_metadata is not FULL) and an earlier DDL statement could not be applied to the schema history (%v): set binlog_row_metadata=FULL on the source", ev.File, ev.Pos, db, name, d.lostTrack)
		}
		l, err := NewLayout(tm, t)
		if err != nil {
			return nil, fmt.Errorf("binlog %s:%d: %w", ev.File, ev.Pos, err)
		}
		le.layout = l
		if l.SchemaMismatch != nil {
			d.log.Warn("schema history out of step with the binlog; using the binlog's column metadata", "file", ev.File, "pos", ev.Pos, "table", db+"."+name, "detail", l.SchemaMismatch)
		}
		for i, op := range []string{"c", "u", "d"} {
			le.events[i] = d.m.Events.WithLabelValues(db, name, op)
		}
	}
	d.layouts[tm.TableID] = le
	return le, nil
}

// sameTableMap reports whether two table maps describe the same columns, so that a
// layout built for one decodes the other: every field a Layout is built from is compared.
func sameTableMap(a, b *replication.TableMapEvent) bool {
	if a == b {
		return true
	}
	return a.ColumnCount == b.ColumnCount && bytes.Equal(a.Schema, b.Schema) && bytes.Equal(a.Table, b.Table) &&
		bytes.Equal(a.ColumnType, b.ColumnType) && slices.Equal(a.ColumnMeta, b.ColumnMeta) &&
		bytes.Equal(a.NullBitmap, b.NullBitmap) && bytes.Equal(a.SignednessBitmap, b.SignednessBitmap) &&
		slices.Equal(a.DefaultCharset, b.DefaultCharset) && slices.Equal(a.ColumnCharset, b.ColumnCharset) &&
		slices.Equal(a.EnumSetDefaultCharset, b.EnumSetDefaultCharset) && slices.Equal(a.EnumSetColumnCharset, b.EnumSetColumnCharset) &&
		slices.Equal(a.PrimaryKey, b.PrimaryKey) && slices.Equal(a.PrimaryKeyPrefix, b.PrimaryKeyPrefix) &&
		slices.Equal(a.GeometryType, b.GeometryType) &&
		slices.EqualFunc(a.ColumnName, b.ColumnName, bytes.Equal) &&
		slices.EqualFunc(a.EnumStrValue, b.EnumStrValue, equalLabels) &&
		slices.EqualFunc(a.SetStrValue, b.SetStrValue, equalLabels)
}

func equalLabels(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }

// rows turns one rows event into changes.
func (d *Decoder) rows(ev *binlog.Event, re *replication.RowsEvent, eventTime time.Time, emit func(Item) error) error {
	var op event.Op
	switch ev.Header.EventType {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2, replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:
		op = event.OpCreate
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2, replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1:
		op = event.OpUpdate
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2, replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		op = event.OpDelete
	case replication.PARTIAL_UPDATE_ROWS_EVENT:
		return fmt.Errorf("binlog %s:%d: partial JSON update of %s.%s: the source logs JSON diffs (binlog_row_value_options=PARTIAL_JSON); set binlog_row_value_options='' so that updates carry whole rows", ev.File, ev.Pos, re.Table.Schema, re.Table.Table)
	default:
		return nil
	}
	if d.tx == nil {
		return fmt.Errorf("binlog %s:%d: row event outside a transaction", ev.File, ev.Pos)
	}
	le, err := d.layout(ev, re.Table)
	if err != nil {
		return err
	}
	step := 1
	if op == event.OpUpdate {
		step = 2 // before and after images alternate
	}
	if len(re.Rows)%step != 0 {
		return fmt.Errorf("binlog %s:%d: update event of %s.%s with an odd number of row images", ev.File, ev.Pos, re.Table.Schema, re.Table.Table)
	}
	if len(re.SkippedColumns) > 0 && le.match {
		for _, sk := range re.SkippedColumns {
			if len(sk) > 0 {
				return fmt.Errorf("binlog %s:%d: rows of %s.%s leave columns out (binlog_row_image is not FULL): set binlog_row_image=FULL on the source", ev.File, ev.Pos, re.Table.Schema, re.Table.Table)
			}
		}
	}
	if !le.match {
		return nil
	}
	for i, row := 0, 0; i < len(re.Rows); i, row = i+step, row+1 {
		// Only streamed rows count: ids and Resume.Skip number the streamed changes.
		d.rowIndex++
		if d.skipPending && d.rowIndex <= d.skip {
			// Delivered before the restart; still counted, so ids and order stay the same.
			d.countOrder(le.layout.Table, op, re, i, le.layout)
			continue
		}
		if err := d.emitRow(ev, re, le, op, i, row, eventTime, emit); err != nil {
			return err
		}
	}
	return nil
}

// countOrder advances the transaction's counters for a row that is not sent again.
func (d *Decoder) countOrder(table string, op event.Op, re *replication.RowsEvent, i int, l *Layout) {
	n := int64(1)
	if op == event.OpUpdate && keyChanged(l, re.Rows[i], re.Rows[i+1]) {
		n = 2
	}
	d.totalOrder += n
	d.tableOrder[table] += n
}

func (d *Decoder) emitRow(ev *binlog.Event, re *replication.RowsEvent, le *layoutEntry, op event.Op, i, row int, eventTime time.Time, emit func(Item) error) error {
	l := le.layout
	var before, after []any
	var err error
	switch op {
	case event.OpCreate:
		after, err = l.Row(re.Rows[i])
	case event.OpDelete:
		before, err = l.Row(re.Rows[i])
	case event.OpUpdate:
		if before, err = l.Row(re.Rows[i]); err == nil {
			after, err = l.Row(re.Rows[i+1])
		}
	}
	if err != nil {
		return fmt.Errorf("binlog %s:%d: %s.%s row %d: %w", ev.File, ev.Pos, l.DB, l.Table, row, err)
	}
	base := d.tx.ID + "/" + strconv.FormatInt(d.rowIndex, 10)
	mk := func(op event.Op, id string, before, after []any) *event.Change {
		d.totalOrder++
		d.tableOrder[l.Table]++
		return &event.Change{
			ID: id, Op: op, DB: l.DB, Table: l.Table, Columns: l.Columns, Before: before, After: after, KeyColumns: l.KeyColumns,
			Source: event.Source{
				Connector: d.opts.Connector, ServerID: ev.Header.ServerID, GTID: d.tx.GTID,
				File: ev.File, Pos: ev.Pos, Row: row, TsMs: int64(ev.Header.Timestamp) * 1000,
			},
			Txn: event.Txn{ID: d.tx.ID, TotalOrder: d.totalOrder, DataCollectionOrder: d.tableOrder[l.Table]},
		}
	}
	after1 := binlog.Resume{Position: d.tx.Start, Skip: d.rowIndex}
	if op == event.OpUpdate && len(l.KeyColumns) > 0 && !sameKey(l.KeyColumns, before, after) {
		// The row's identity changed: a delete under the old key and a create under the
		// new one, each on its own key's partition, so that both keys' histories stay in
		// order (Debezium does the same).
		del := mk(event.OpDelete, base+"/d", before, nil)
		le.events[2].Inc()
		if err := emit(Item{Change: del, Resume: binlog.Resume{Position: d.tx.Start, Skip: d.rowIndex - 1}, Catalog: d.catalog, EventTime: eventTime}); err != nil {
			return err
		}
		cre := mk(event.OpCreate, base+"/c", nil, after)
		le.events[0].Inc()
		return emit(Item{Change: cre, Resume: after1, Catalog: d.catalog, EventTime: eventTime})
	}
	ch := mk(op, base, before, after)
	switch op {
	case event.OpCreate:
		le.events[0].Inc()
	case event.OpUpdate:
		le.events[1].Inc()
	case event.OpDelete:
		le.events[2].Inc()
	}
	return emit(Item{Change: ch, Resume: after1, Catalog: d.catalog, EventTime: eventTime})
}

// keyChanged compares the key columns of two raw row images.
func keyChanged(l *Layout, before, after []any) bool {
	for _, k := range l.KeyColumns {
		if !equalValue(before[k], after[k]) {
			return true
		}
	}
	return false
}

func sameKey(keys []int, before, after []any) bool {
	for _, k := range keys {
		if !equalValue(before[k], after[k]) {
			return false
		}
	}
	return true
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case json.RawMessage:
		y, ok := b.(json.RawMessage)
		return ok && bytes.Equal(x, y)
	case nil, int64, uint64, string, float32, float64, int, int8, int16, int32, uint8, uint16, uint32, bool:
		return a == b
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
